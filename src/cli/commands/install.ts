import { loadConfig } from '../../config/store.js';
import { allProfiles, findProfile } from '../../profiles/resolve.js';
import { agentInstallCommand, describeInstall } from '../../profiles/install.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { runCommand } from './run.js';

export interface InstallOptions {
  update: boolean;
  all?: boolean;
  force?: boolean;
}

/** `au install PROFILE...` / `au update [PROFILE...|--all]`: npm as the agent, in its own prefix. */
export async function installCommand(ctx: Context, agentName: string, names: string[], options: InstallOptions): Promise<number> {
  const config = loadConfig(ctx.configPath);
  if (options.all && names.length > 0) throw new UsageError('--all updates every profile with a package: name no profile with it');
  const profiles = options.all ? allProfiles(config).filter((p) => p.package) : names.map((name) => findProfile(config, name));
  if (profiles.length === 0) throw new UsageError(`name a profile to ${options.update ? 'update' : 'install'} (see \`au profiles\`)`);
  const request = { profiles, update: options.update, force: Boolean(options.force) };
  const command = agentInstallCommand(request);
  process.stderr.write(`$ ${describeInstall(request, agentName)}\n`);
  return runCommand(ctx, agentName, command, { env: [], pty: false });
}
