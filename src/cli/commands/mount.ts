import { finishDeadRuns } from '../../mounts/run-shares.js';
import { agentHomeOf } from '../../agents/names.js';
import type { AgentConfig, MountConfig } from '../../config/schema.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { agentAccount, grantShareAccess, revokeShareAccess } from '../../mounts/acl.js';
import { ShareError, findConflict, findMount, findNestedReview, resolveShareSource, resolveShareTarget } from '../../mounts/shares.js';
import { createStage, newReviewKey, removeStage, stageDir } from '../../review/staging.js';
import { type DropOptions, StageInUseError, allowDroppingStaged, removeShareStage } from '../../review/drop-stage.js';
import { MAX_SHARES } from '../../launch/entrypoint-limits.js';
import type { Context } from '../context.js';
import { printJson, say, warn } from '../output.js';
import { requireAgent } from './lookup.js';

const unfinishedHint = (m: MountConfig): string =>
  m.pending
    ? ` (its ${m.pending} did not finish: run \`au mount ${m.pending}\` again${m.pending === 'add' ? ' with the same arguments, or `au mount remove`' : ''})`
    : '';

export type ShareMode = 'ro' | 'rw' | 'review';

const modeOf = (m: MountConfig): ShareMode => (m.review ? 'review' : m.readOnly ? 'ro' : 'rw');

export function mountAddCommand(ctx: Context, name: string, sourceInput: string, targetInput: string | undefined, mode: ShareMode): void {
  if (!ctx.dryRun) finishDeadRuns(ctx.runner, loadConfig(ctx.configPath).agents, ctx.human);
  const readWrite = mode === 'rw';
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    const source = resolveShareSource(sourceInput, ctx.human.home, ctx.human.uid);
    const target = resolveShareTarget(targetInput, source, ctx.human.home, agentHomeOf(name));
    const unfinished = agent.mounts.find((m) => m.pending === 'add' && m.source === source && m.target === target && modeOf(m) === mode);
    // The entrypoint mounts at most MAX_SHARES in a run: one more would make every run fail.
    if (!unfinished && agent.mounts.length >= MAX_SHARES)
      throw new ShareError(
        `agent ${name} already has ${agent.mounts.length} shares, the most one run can mount (${MAX_SHARES}): remove one first (au mount remove)`,
      );
    const conflict = unfinished ? undefined : findConflict(agent, source, target);
    if (conflict) {
      throw new ShareError(
        `${source} -> ${target} conflicts with the existing share ${conflict.source} -> ${conflict.target}${unfinishedHint(conflict)}`,
      );
    }
    // A share inside a review share (or around one) would let writes reach the folder unreviewed.
    const nested = unfinished ? undefined : findNestedReview(agent, source, mode === 'review');
    if (nested)
      throw new ShareError(
        `${source} is inside or around the ${nested.review ? 'review ' : ''}share ${nested.source}: a review share cannot overlap another share`,
      );
    if (mode === 'review') {
      addReviewShare(
        ctx,
        agent,
        unfinished ?? { source, target, readOnly: false, review: newReviewKey(), pending: 'add' },
        !unfinished,
        save,
      );
      return;
    }
    if (readWrite) {
      warn(`${name} may write anything in ${source}: code it writes there runs as you if you run it (scripts, git hooks, node_modules)`);
    }
    // The record first: killed while the ACLs are being set, the next `mount add`/`mount remove`
    // or `au delete` finds what to finish or undo (issue 13).
    const mount: MountConfig = unfinished ?? { source, target, readOnly: !readWrite, pending: 'add' };
    if (!unfinished) {
      agent.mounts.push(mount);
      save();
    }
    let notices: string[] = [];
    try {
      notices = grantShareAccess(ctx.runner, agent, ctx.human, source, readWrite);
    } catch (error) {
      const left = revokeShareAccess(ctx.runner, agent, ctx.human, source);
      agent.mounts = agent.mounts.filter((m) => m !== mount);
      save();
      for (const problem of left) warn(problem);
      throw error;
    }
    delete mount.pending;
    save();
    for (const notice of notices) warn(notice);
    process.stderr.write(`Added ${name} ${readWrite ? 'read-write' : 'read-only'} access to ${source} (mounted at ${target})\n`);
  });
}

/**
 * A review share: recorded first (with its key), then its staging directory made with printed
 * sudo steps; no ACL at all on SRC (the entrypoint maps the human's files to the agent).
 */
function addReviewShare(ctx: Context, agent: AgentConfig, mount: MountConfig, isNew: boolean, save: () => void): void {
  if (isNew) {
    agent.mounts.push(mount);
    save();
  }
  try {
    createStage(ctx.runner, agent.userName, ctx.human, mount.review!);
  } catch (error) {
    removeStage(ctx.runner, stageDir(agent.userName, ctx.human.uid, mount.review!));
    agent.mounts = agent.mounts.filter((m) => m !== mount);
    save();
    throw error;
  }
  delete mount.pending;
  save();
  process.stderr.write(
    `Added ${agent.userName} review access to ${mount.source} (mounted at ${mount.target}): what it changes there is staged, your folder is untouched until you accept (au changes -a ${agent.userName}, au accept -a ${agent.userName})\n`,
  );
}

/** Whether any process runs as the agent (a running session keeps its mounts). */
function agentIsRunning(ctx: Context, agent: AgentConfig): boolean {
  const uid = agentAccount(ctx.runner, agent)?.uid;
  return uid !== undefined && ctx.runner.query(['pgrep', '--uid', String(uid)]).status === 0;
}

/**
 * A review share has no ACL to revoke: its staging directory goes, once the staged changes may
 * (asked, or --discard-changes) and no run has it mounted (the stage's lock says so).
 */
function removeReviewShare(
  ctx: Context,
  agent: AgentConfig,
  mount: MountConfig,
  save: () => void,
  drop: Omit<DropOptions, 'dryRun'>,
): void {
  allowDroppingStaged(agent.userName, [mount], ctx.human, { ...drop, dryRun: ctx.dryRun });
  mount.pending = 'remove';
  save();
  try {
    removeShareStage(ctx.runner, agent.userName, mount, ctx.human);
  } catch (error) {
    if (!(error instanceof StageInUseError)) throw error;
    throw new StageInUseError(
      `a run of ${agent.userName} has ${mount.source} mounted: new runs no longer get it; once that run has ended, run \`au mount remove -a ${agent.userName} ${mount.source}\` again to finish`,
    );
  }
  agent.mounts = agent.mounts.filter((m) => m !== mount);
  save();
  process.stderr.write(`Removed ${agent.userName} review access ${mount.source} -> ${mount.target} and its staging directory\n`);
}

export function mountRemoveCommand(
  ctx: Context,
  name: string,
  path: string,
  drop: Omit<DropOptions, 'dryRun'> = { yes: false, discardChanges: false },
): void {
  if (!ctx.dryRun) finishDeadRuns(ctx.runner, loadConfig(ctx.configPath).agents, ctx.human);
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    const mount = findMount(agent, path);
    if (!mount) throw new ShareError(`agent ${name} has no share with source or target ${path}`);
    if (mount.review) {
      removeReviewShare(ctx, agent, mount, save, drop);
      return;
    }
    mount.pending = 'remove';
    save();
    // Asked before the walk as well as after: a live agent can move files from folders the walk
    // has yet to reach to folders it has passed, and then exit before the walk ends (A27).
    const ranBefore = agentIsRunning(ctx, agent);
    const left = revokeShareAccess(ctx.runner, agent, ctx.human, mount.source);
    for (const problem of left) warn(problem);
    const runsAfter = agentIsRunning(ctx, agent);
    if (ranBefore || runsAfter) {
      // Its running sessions keep the mount, and what it moved during the walk may keep its
      // entry: the record stays (new runs do not mount a share being removed) until a walk with
      // no agent process running before or after it.
      warn(
        runsAfter
          ? `${name} has processes running: they keep ${mount.target} mounted until they end, and can move files out of the walk's way`
          : `${name} had processes running when the walk began: they could have moved files out of the walk's way`,
      );
      process.stderr.write(
        `New runs of ${name} no longer get ${mount.source}; once its processes have ended, run \`au mount remove -a ${name} ${mount.source}\` again to finish\n`,
      );
      return;
    }
    agent.mounts = agent.mounts.filter((m) => m !== mount);
    save();
    process.stderr.write(
      `Removed ${name} access ${mount.source} -> ${mount.target}${left.length > 0 ? ' (see the warnings: not all of it could be revoked)' : ''}\n`,
    );
  });
}

export function mountListCommand(ctx: Context, name: string, json: boolean): void {
  if (!ctx.dryRun) finishDeadRuns(ctx.runner, loadConfig(ctx.configPath).agents, ctx.human);
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  if (json) {
    printJson(
      agent.mounts.map((m) => ({ source: m.source, target: m.target, mode: modeOf(m), ...(m.pending ? { pending: m.pending } : {}) })),
    );
    return;
  }
  if (agent.mounts.length === 0) {
    say(`No access bind mount configured for agent ${name}.`);
    return;
  }
  for (const m of agent.mounts) say(`${m.source} -> ${m.target} [${modeOf(m)}]${unfinishedHint(m)}`);
}
