// `au migrate -a NAME`: an agent of the Python `au` moved to our layout (agents/migrate.ts).
import { isPythonToolAgent, migrateAgent } from '../../agents/migrate.js';
import { updateConfig } from '../../config/store.js';
import { AuError } from '../../errors.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { requireAgent } from './lookup.js';

export function migrateCommand(ctx: Context, name: string, options: { keepGroupAcls: boolean; yes: boolean }): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    if (!isPythonToolAgent(agent)) throw new AuError(`agent ${name} already has au's layout: nothing to migrate`);
    const what = `move the entrypoint of ${name} out of its home, give ${name} its own group, convert its ${agent.mounts.length} share(s)`;
    if (!confirm(`Migrate agent ${name} (${what})?`, options.yes || ctx.dryRun)) throw new AuError('cancelled');
    migrateAgent(ctx.runner, agent, save, { human: ctx.human, keepGroupAcls: options.keepGroupAcls });
  });
  process.stderr.write(ctx.dryRun ? 'Dry run: nothing was changed\n' : `Migrated agent ${name}: au run -a ${name} works now\n`);
}
