import { spawn } from 'node:child_process';
import { agentHomeOf } from '../../agents/names.js';
import { loadConfig } from '../../config/store.js';
import { entrypointProblems } from '../../entrypoint/verify.js';
import { planImport } from '../../profiles/import.js';
import { findProfile } from '../../profiles/resolve.js';
import { entrypointArguments } from '../../run/launch.js';
import { entrypointEnvironment } from '../../run/environment.js';
import { runFeeding } from '../../run/pipe-run.js';
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
  const problems = entrypointProblems({ path: agent.entrypoint, sha256: agent.entrypointSha256, groupGid: agent.groupGid });
  if (problems.length > 0) throw new Error(`refusing to run: ${problems.join('; ')}`);
  const home = agentHomeOf(agentName);
  const pack = ['tar', '--create', '--file', '-', '--directory', ctx.human.home, '--', ...plan.present];
  const unpack = ['tar', '--extract', '--file', '-', '--no-same-owner', '--no-overwrite-dir', '--directory', home];
  process.stderr.write(`$ ${shellQuote(pack)} | au run -a ${agentName} -- ${shellQuote(unpack)}\n`);
  if (ctx.dryRun) return;
  const tar = spawn(pack[0]!, pack.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const args = entrypointArguments({ mounts: [], workdir: home, command: unpack, interactive: false });
  const status = await runFeeding(agent.entrypoint, args, entrypointEnvironment([]), tar.stdout);
  const packed = await new Promise<number | null>((resolve) => (tar.exitCode !== null ? resolve(tar.exitCode) : tar.once('exit', resolve)));
  if (packed !== 0 || status !== 0) {
    process.stderr.write(`au: error: import failed (tar exited ${packed}, agent side ${status})\n`);
    throw new ExitCode(1);
  }
  process.stderr.write(`Imported ${plan.present.join(', ')} into ${home}\n`);
}
