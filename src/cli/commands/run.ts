import { isPythonToolAgent, migrateHint } from '../../agents/migrate.js';
import { AuError } from '../../errors.js';
import { loadConfig } from '../../config/store.js';
import type { Config } from '../../config/schema.js';
import { configuredSecrets, findProfile } from '../../profiles/resolve.js';
import type { Profile } from '../../profiles/builtin.js';
import { programDidNotStart, resumeHint } from '../../profiles/resume.js';
import { readSecret } from '../../secrets/sources.js';
import { lookupGroup } from '../../system/accounts.js';
import { holdsGroup, rerunUnderGroup } from '../../run/driver-group.js';
import { parseEnvPair } from '../../run/environment.js';
import { startRun } from '../../run/start-run.js';
import { finishDeadRuns } from '../../mounts/run-shares.js';
import type { RunShareRequest } from '../../launch/plan.js';
import { terminalFds } from '../../system/native.js';
import type { Context } from '../context.js';
import { requireAgent } from './lookup.js';
import { UsageError } from '../errors.js';

export interface RunCommandOptions {
  env: string[];
  directory?: string;
  pty: boolean;
  profile?: string;
  /** An untrusted repository: throw-away home, only the current directory, no network, no secrets. */
  lockdown?: boolean;
  rwCwd?: boolean;
  net?: boolean;
  allowClipboard?: boolean;
  /** `--share DIR[:rw]` (repeatable): folders shared for this run only. */
  share?: string[];
}

/** `DIR` or `DIR:rw` (`DIR:ro` too); a folder whose name ends in `:rw` is named `DIR:rw:ro`. */
export function parseRunShare(item: string): RunShareRequest {
  const m = /^(.*):(rw|ro)$/.exec(item);
  const path = m ? m[1]! : item;
  if (path === '') throw new UsageError(`invalid --share ${JSON.stringify(item)}: expected DIR or DIR:rw`);
  return { path, readWrite: m?.[2] === 'rw' };
}

type Pair = readonly [string, string];

/** `-e NAME` without a value: a configured secret source, else the human's environment. */
function envLookup(config: Config): (key: string) => string | undefined {
  return (key) => {
    const source = configuredSecrets(config)[key];
    return source ? readSecret(key, source) : process.env[key];
  };
}

/** The profile's variables: API keys from the human's environment when set, then its secrets. */
function profilePairs(profile: Profile): Pair[] {
  const pairs: Pair[] = [];
  for (const key of profile.env) {
    const value = process.env[key];
    if (value !== undefined) pairs.push([key, value]);
  }
  for (const [key, source] of Object.entries(profile.secrets)) pairs.push([key, readSecret(key, source)]);
  return pairs;
}

export async function runCommand(ctx: Context, name: string, command: string[], options: RunCommandOptions): Promise<number> {
  const config = loadConfig(ctx.configPath, { reuseParsed: true });
  if (!options.lockdown && (options.rwCwd || options.net)) throw new UsageError('--rw-cwd and --net only go with --lockdown');
  // In lockdown no secret is looked up: only values typed on the command line pass.
  const lookup = options.lockdown ? () => undefined : envLookup(config);
  const env = options.env.map((item) => parseEnvPair(item, lookup));
  const runShares = (options.share ?? []).map(parseRunShare);
  if (options.lockdown && runShares.length > 0)
    throw new UsageError('--share and --lockdown do not go together: a lockdown run shares the current directory only');
  const agent = requireAgent(config, name);
  if (isPythonToolAgent(agent)) throw new AuError(migrateHint(agent));
  const profile = options.profile === undefined ? undefined : findProfile(config, options.profile);
  const groupGid = agent.groupGid ?? lookupGroup(ctx.runner, agent.group)?.gid;
  if (groupGid !== undefined && !holdsGroup(groupGid)) {
    const rerun = rerunUnderGroup(agent.group);
    if (rerun) return rerun;
  }
  // A run killed before it could revoke its per-run shares left a record: finish it first.
  if (!ctx.dryRun) finishDeadRuns(ctx.runner, config.agents, ctx.human);
  const code = await startRun(agent, {
    // Explicit -e pairs come last: they override the profile's.
    env: profile && !options.lockdown ? [...profilePairs(profile), ...env] : env,
    directory: options.directory,
    usePty: options.pty,
    terminalFds: await terminalFds(),
    command: profile ? [...profile.command, ...command] : command,
    missingHint: profile?.installHint.replaceAll('AGENT', name),
    dryRun: ctx.dryRun,
    configPath: ctx.configPath,
    lockdown: options.lockdown
      ? { rwCwd: Boolean(options.rwCwd), network: Boolean(options.net), seeds: profile?.settingsFiles ?? [] }
      : undefined,
    allowClipboard: options.allowClipboard,
    runShares: (options.share ?? []).map(parseRunShare),
    human: ctx.human,
    runner: ctx.runner,
  });
  // Only after an interactive run (a human at the terminal), as a line of au's own.
  const hint =
    profile && !ctx.dryRun && !programDidNotStart(code) && process.stdin.isTTY && process.stderr.isTTY
      ? resumeHint(profile, name, command)
      : undefined;
  if (hint) process.stderr.write(`${hint}\n`);
  return code;
}
