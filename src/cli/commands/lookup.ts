// Finding the agent a command is about, with the same message everywhere.
import { AuError } from '../../errors.js';
import type { AgentConfig, Config } from '../../config/schema.js';
import { findAgent, findKept } from '../../config/schema.js';

export class UnknownAgentError extends AuError {}

export function requireAgent(config: Config, name: string): AgentConfig {
  const agent = findAgent(config, name);
  const kept = agent ? undefined : findKept(config, name);
  if (kept) {
    throw new UnknownAgentError(
      `agent ${JSON.stringify(name)} was deleted; its account (uid ${kept.uid}) and home are kept: \`au new -a ${name}\` takes them back`,
    );
  }
  if (!agent) throw new UnknownAgentError(`unknown agent ${JSON.stringify(name)} (see \`au list\`; create it with \`au new -a ${name}\`)`);
  return agent;
}
