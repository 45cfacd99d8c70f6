import { AgentSetupError, createAgent, homeExposure, newRecord, planCreate } from '../../agents/create.js';
import { agentHomeOf } from '../../agents/names.js';
import { findAgent } from '../../config/schema.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { warn } from '../output.js';

export function newCommand(ctx: Context, name: string, yes: boolean): void {
  // Set-up commands are run again (the README's install line, provisioning scripts): an agent
  // that is fully set up is left as it is.
  if (findAgent(loadConfig(ctx.configPath), name)?.bootstrapped) {
    process.stderr.write(`Agent ${name} already exists: nothing to do (\`au info -a ${name}\` shows its health)\n`);
    return;
  }
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const plan = planCreate(ctx.runner, config, name);
    const exposure = homeExposure(ctx.human);
    if (exposure && !config.disableHomeAccessCheck) warn(exposure);
    const verb = plan.resuming ? 'Resume creating' : 'Create';
    if (!confirm(`${verb} agent ${name} in ${agentHomeOf(name)} and configure group 'su-as-${name}'?`, yes || ctx.dryRun)) {
      throw new AgentSetupError('cancelled');
    }
    let record = findAgent(config, name);
    if (!record) {
      record = newRecord(name);
      config.agents.push(record);
    }
    save();
    createAgent(ctx.runner, record, ctx.human, save);
  });
  process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `Created agent ${name}\n`);
}
