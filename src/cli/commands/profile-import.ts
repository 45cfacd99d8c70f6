import { spawn } from 'node:child_process';
import { agentHomeOf } from '../../agents/names.js';
import { loadConfig } from '../../config/store.js';
import { runHelper, visibleText } from '../../launch/helper-run.js';
import { ensurePlanProxy, prepareLaunch } from '../../launch/prepare.js';
import { planImport } from '../../profiles/import.js';
import { findProfile } from '../../profiles/resolve.js';
import { shellQuote } from '../../system/shell-quote.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { warn } from '../output.js';
import { requireAgent } from './lookup.js';

export async function profileImportCommand(ctx: Context, agentName: string, profileName: string, withCredentials: boolean): Promise<void> {
  const config = loadConfig(ctx.configPath);
  const agent = requireAgent(config, agentName);
  const profile = findProfile(config, profileName);
  const plan = planImport(profile, ctx.human.home, withCredentials);
  for (const rel of plan.missing) warn(`~/${rel} does not exist: skipped`);
  if (plan.present.length === 0) {
    process.stderr.write(`Nothing to import for ${profile.name}\n`);
    return;
  }
  const home = agentHomeOf(agentName);
  const pack = ['tar', '--create', '--file', '-', '--directory', ctx.human.home, '--', ...plan.present];
  const unpack = ['tar', '--extract', '--file', '-', '--no-same-owner', '--no-overwrite-dir', '--directory', home];
  // The agent side is a helper run: tar itself (not a login shell, so none of the agent's login
  // files run), no share, with the agent's limits and network policy like every launch.
  const launch = prepareLaunch(
    { agent, command: unpack, via: 'program', interactive: false, cwd: process.cwd(), shares: 'none', env: [] },
    ctx.human,
  );
  process.stderr.write(`$ ${shellQuote(pack)} | au run -a ${agentName} -- ${shellQuote(unpack)}\n`);
  if (ctx.dryRun) return;
  await ensurePlanProxy(launch, agent, ctx.configPath);
  const tar = spawn(pack[0]!, pack.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const agentSide = await runHelper(launch, tar.stdout);
  const packed = await new Promise<number | null>((resolve) => (tar.exitCode !== null ? resolve(tar.exitCode) : tar.once('exit', resolve)));
  if (packed !== 0 || agentSide.status !== 0) {
    const said = visibleText(agentSide.output).trim();
    if (said)
      process.stderr.write(
        `${said
          .split('\n')
          .map((line) => `  agent: ${line}`)
          .join('\n')}\n`,
      );
    process.stderr.write(`au: error: import failed (tar exited ${packed}, agent side ${agentSide.status})\n`);
    throw new ExitCode(1);
  }
  process.stderr.write(`Imported ${plan.present.join(', ')} into ${home}\n`);
}
