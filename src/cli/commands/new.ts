import { AgentSetupError, createAgent, homeExposure, installAgentEntrypoint, newRecord, planCreate } from '../../agents/create.js';
import { checkAgent } from '../../agents/health-facts.js';
import { reinstallReasons } from '../../agents/health.js';
import { DEFAULT_AGENT, agentHomeOf } from '../../agents/names.js';
import { findAgent } from '../../config/schema.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { warn } from '../output.js';

export function newCommand(ctx: Context, name: string, yes: boolean): void {
  // Set-up commands are run again (the README's install line, provisioning scripts): an agent
  // that is fully set up is left as it is.
  const existing = findAgent(loadConfig(ctx.configPath), name);
  if (existing?.bootstrapped) {
    // ... except an entrypoint from an older au (or one altered or gone): rebuilt and reinstalled.
    const reasons = reinstallReasons(existing, checkAgent(ctx.runner, existing, ctx.human));
    if (reasons.length === 0) {
      process.stderr.write(`Agent ${name} already exists: nothing to do (\`au info -a ${name}\` shows its health)\n`);
      return;
    }
    updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
      const record = findAgent(config, name);
      if (!record?.bootstrapped) throw new AgentSetupError(`agent ${name} changed while au new ran: run it again`);
      if (!confirm(`Rebuild and reinstall the entrypoint of agent ${name} (${reasons.join('; ')})?`, yes || ctx.dryRun))
        throw new AgentSetupError('cancelled');
      installAgentEntrypoint(ctx.runner, record);
      save();
    });
    process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `Rebuilt and reinstalled the entrypoint of agent ${name}\n`);
    return;
  }
  const retaken = updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const plan = planCreate(ctx.runner, config, name);
    const exposure = homeExposure(ctx.human);
    if (exposure && !config.disableHomeAccessCheck) warn(exposure);
    const kept = plan.retaking;
    const question = kept
      ? `Take back the account ${name} (uid ${kept.uid}) that au delete kept, with its home ${agentHomeOf(name)} and group '${kept.group}'?`
      : `${plan.resuming ? 'Resume creating' : 'Create'} agent ${name} in ${agentHomeOf(name)} and configure group 'su-as-${name}'?`;
    if (!confirm(question, yes || ctx.dryRun)) throw new AgentSetupError('cancelled');
    let record = findAgent(config, name);
    if (!record) {
      record = newRecord(name, kept);
      config.agents.push(record);
      // One write moves the kept account's record into the agent's: it is never without one.
      if (kept) config.kept = config.kept.filter((k) => k !== kept);
    }
    save();
    for (const w of createAgent(ctx.runner, record, ctx.human, save)) warn(w);
    return kept;
  });
  const done = retaken ? `Took back agent ${name} (uid ${retaken.uid}) with its home` : `Created agent ${name}`;
  process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `${done}\n`);
  if (!ctx.dryRun && !retaken) {
    const flag = name === DEFAULT_AGENT ? '' : ` -a ${name}`;
    process.stderr.write(
      `Next: \`au install${flag} claude\` installs Claude Code for it; \`au keys${flag}\` gives it git keys of its own (never yours)\n`,
    );
  }
}
