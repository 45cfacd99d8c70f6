// Finding the agent a command is about, with the same message everywhere.
import { AuError } from '../../errors.js';
import type { AgentConfig, Config } from '../../config/schema.js';
import { findAgent } from '../../config/schema.js';

export class UnknownAgentError extends AuError {}

export function requireAgent(config: Config, name: string): AgentConfig {
  const agent = findAgent(config, name);
  if (!agent) throw new UnknownAgentError(`unknown agent ${JSON.stringify(name)} (see \`au list\`; create it with \`au new -a ${name}\`)`);
  return agent;
}
