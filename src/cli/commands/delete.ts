import { AgentSetupError } from '../../agents/create.js';
import { checkDeletable, deleteAgent } from '../../agents/delete.js';
import { updateConfig } from '../../config/store.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { requireAgent } from './lookup.js';

export function deleteCommand(ctx: Context, name: string, options: { deleteHome: boolean; yes: boolean }): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    checkDeletable(ctx.runner, agent);
    const what = options.deleteHome ? `user, groups, entrypoint and home /home/${name}` : 'user, groups and entrypoint (the home is kept)';
    if (!confirm(`Delete agent ${name} (${what})?`, options.yes || ctx.dryRun)) throw new AgentSetupError('cancelled');
    deleteAgent(ctx.runner, agent, { deleteHome: options.deleteHome, humanUid: ctx.human.uid });
    config.agents = config.agents.filter((a) => a !== agent);
    save();
  });
  process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `Deleted agent ${name}\n`);
}
