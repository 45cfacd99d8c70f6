// What may be the name of an agent, checked before anything is changed.
import { AuUsageError } from '../errors.js';

/** Linux group names are limited to 32 characters and the driver group is `su-as-NAME`. */
export const GROUP_PREFIX = 'su-as-';
export const MAX_AGENT_NAME = 32 - GROUP_PREFIX.length;
export const DEFAULT_AGENT = 'agent';
/** Written in the GECOS field by `au new`: `au delete` refuses users without it. */
export const AGENT_MARKER = 'agent-as-unix-user agent';

const NAME_PATTERN = /^[a-z_][a-z0-9_-]*$/;

export class InvalidNameError extends AuUsageError {}

export function validateAgentName(name: string): void {
  if (name === '') throw new InvalidNameError('agent name must not be empty');
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidNameError(`invalid agent name ${JSON.stringify(name)}: use a lowercase POSIX user name ([a-z_][a-z0-9_-]*)`);
  }
  if (name.length > MAX_AGENT_NAME) {
    throw new InvalidNameError(`invalid agent name ${JSON.stringify(name)}: at most ${MAX_AGENT_NAME} characters`);
  }
  if (name === 'root') throw new InvalidNameError('invalid agent name "root"');
}

export const driverGroupOf = (name: string): string => `${GROUP_PREFIX}${name}`;
export const agentHomeOf = (name: string): string => `/home/${name}`;
