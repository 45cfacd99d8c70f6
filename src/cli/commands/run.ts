import { loadConfig } from '../../config/store.js';
import { lookupGroup } from '../../system/accounts.js';
import { holdsGroup, rerunUnderGroup } from '../../run/driver-group.js';
import { parseEnvPair } from '../../run/environment.js';
import { startRun } from '../../run/start-run.js';
import { stdinIsTerminal } from '../../run/native.js';
import type { Context } from '../context.js';
import { requireAgent } from './lookup.js';

export interface RunCommandOptions {
  env: string[];
  directory?: string;
  pty: boolean;
}

export async function runCommand(ctx: Context, name: string, command: string[], options: RunCommandOptions): Promise<number> {
  const env = options.env.map(parseEnvPair);
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const groupGid = agent.groupGid ?? lookupGroup(ctx.runner, agent.group)?.gid;
  if (groupGid !== undefined && !holdsGroup(groupGid)) {
    const rerun = rerunUnderGroup(agent.group);
    if (rerun) return rerun;
  }
  return startRun(agent, {
    env,
    directory: options.directory,
    usePty: options.pty && (await stdinIsTerminal()),
    command,
    dryRun: ctx.dryRun,
    configPath: ctx.configPath,
  });
}
