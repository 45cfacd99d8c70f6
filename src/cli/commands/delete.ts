import { finishDeadRuns } from '../../mounts/run-shares.js';
import { loadConfig } from '../../config/store.js';
import { AgentSetupError } from '../../agents/create.js';
import { type DeleteOutcome, checkDeletable, deleteAgent, removeKept } from '../../agents/delete.js';
import { JOB_SERVICES, jobAccess } from '../../agents/job-denials.js';
import { nologinShell, sudoQuery } from '../../agents/login.js';
import { isPythonToolAgent, migrateAgent } from '../../agents/migrate.js';
import { agentHomeOf } from '../../agents/names.js';
import type { KeptAccount } from '../../config/schema.js';
import { findAgent, findKept } from '../../config/schema.js';
import { updateConfig } from '../../config/store.js';
import { lookupGroup, lookupUser } from '../../system/accounts.js';
import type { CommandRunner } from '../../system/runner.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { warn } from '../output.js';
import { allowDroppingStaged } from '../../review/drop-stage.js';
import { requireAgent } from './lookup.js';

/** Exactly what was kept, who owns it, and the two ways forward. */
function keptReport(runner: CommandRunner, kept: KeptAccount): string[] {
  const name = kept.userName;
  const denied = JOB_SERVICES.filter((s) => jobAccess(sudoQuery(runner), s, name) === 'denied').map((s) => s.deny);
  const members = lookupGroup(runner, kept.group)?.members ?? [];
  return [
    `Kept, so that no other account is given uid ${kept.uid} while it owns files:`,
    `  account ${name} (uid ${kept.uid}, primary group ${name} gid ${kept.gid}): locked: password locked, login shell ${nologinShell()}, expired, no supplementary groups, no processes${denied.length > 0 ? `; denied in ${denied.join(', ')}` : ''}`,
    `  group ${kept.group}${kept.groupGid === undefined ? '' : ` (gid ${kept.groupGid})`}, members ${members.join(', ') || 'none'}: they can still open the home`,
    `  home ${agentHomeOf(name)} and everything in it, owned by ${name}`,
    `Take it back: au new -a ${name}`,
    `Remove the account, its groups and its home: au delete -H -a ${name}`,
  ];
}

function report(name: string, outcome: DeleteOutcome, runner: CommandRunner): string[] {
  const lines = [`Deleted agent ${name}`];
  for (const h of outcome.handedOver) if (h.files > 0) lines.push(`${h.files} files the agent left in ${h.source} are now yours`);
  if (outcome.kept) lines.push(...keptReport(runner, outcome.kept));
  return lines;
}

export function deleteCommand(ctx: Context, name: string, options: { deleteHome: boolean; yes: boolean; discardChanges?: boolean }): void {
  if (!ctx.dryRun) finishDeadRuns(ctx.runner, loadConfig(ctx.configPath).agents, ctx.human);
  const lines = updateConfig(ctx.configPath, ctx.dryRun, (config, save): string[] => {
    const kept = findAgent(config, name) ? undefined : findKept(config, name);
    if (kept) {
      const how = `\`au delete -H -a ${name}\` removes them, \`au new -a ${name}\` takes them back`;
      if (!options.deleteHome)
        throw new AgentSetupError(`agent ${name} is deleted already; its account (uid ${kept.uid}) and home are kept: ${how}`);
      checkDeletable(ctx.runner, kept);
      if (
        !confirm(
          `Remove the kept account ${name} (uid ${kept.uid}), its groups and its home ${agentHomeOf(name)}?`,
          options.yes || ctx.dryRun,
        )
      ) {
        throw new AgentSetupError('cancelled');
      }
      removeKept(ctx.runner, kept);
      config.kept = config.kept.filter((k) => k !== kept);
      save();
      return [`Removed the kept account ${name}, its groups and its home`];
    }
    const agent = requireAgent(config, name);
    // An agent of the Python au fails au's identity checks until it has au's layout: move it
    // first (au migrate, with its own identity checks), then delete it as any other.
    const fromPython = isPythonToolAgent(agent) && lookupUser(ctx.runner, name) !== undefined;
    if (!fromPython) checkDeletable(ctx.runner, agent);
    const what = options.deleteHome
      ? `user, groups, entrypoint and home ${agentHomeOf(name)}`
      : 'entrypoint and share access; the account is kept locked with its home (-H removes them)';
    // Before the question about the agent: -y answers that one, not whether its staged changes may go.
    allowDroppingStaged(name, agent.mounts, ctx.human, {
      yes: options.yes,
      discardChanges: Boolean(options.discardChanges),
      dryRun: ctx.dryRun,
    });
    if (!confirm(`Delete agent ${name} (${what})?`, options.yes || ctx.dryRun)) throw new AgentSetupError('cancelled');
    if (fromPython) {
      warn(`agent ${name} was made by the Python au: moving it to au's layout first (as au migrate does), so that au can delete it`);
      migrateAgent(ctx.runner, agent, save, { human: ctx.human, keepGroupAcls: false });
    }
    const outcome = deleteAgent(ctx.runner, agent, { deleteHome: options.deleteHome, human: ctx.human });
    for (const w of outcome.warnings) warn(w);
    config.agents = config.agents.filter((a) => a !== agent);
    if (outcome.kept) config.kept = [...config.kept.filter((k) => k.userName !== name), outcome.kept];
    save();
    return report(name, outcome, ctx.runner);
  });
  process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `${lines.join('\n')}\n`);
}
