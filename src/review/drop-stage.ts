// Ending a review share (`au mount remove`, `au delete`): its staged changes are the agent's
// work the human has not looked at yet, so they are never dropped silently. `-y` answers the
// question about the share or agent, not this one: only `--discard-changes` names it.
import { AuError } from '../errors.js';
import type { MountConfig } from '../config/schema.js';
import { confirm } from '../cli/confirm.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { countChanges } from './changes.js';
import { lockStage } from './stage-lock.js';
import { loadNative } from '../system/native.js';
import { removeStage, stageDir, stageProblems } from './staging.js';

export class StagedChangesError extends AuError {}
/** A run of the agent holds the stage (its lock): it cannot go now. */
export class StageInUseError extends AuError {}

/** The stage's lock, or StageInUseError when a run holds it (lockStage's other errors as they are). */
function lockForRemoval(stage: string, agentName: string): () => void {
  if (!loadNative()) return lockStage(stage, agentName); // says the addon is missing
  try {
    return lockStage(stage, agentName);
  } catch (error) {
    if (error instanceof AuError) throw new StageInUseError(error.message);
    throw error;
  }
}

export interface DropOptions {
  /** -y: no question about the share or the agent (not about the staged changes). */
  yes: boolean;
  /** --discard-changes: the staged changes may go. */
  discardChanges: boolean;
  dryRun: boolean;
}

/** Throws unless every staged change of these review shares may be lost (asked on a terminal). */
export function allowDroppingStaged(agentName: string, mounts: readonly MountConfig[], human: Human, options: DropOptions): void {
  if (options.discardChanges) return;
  let total = 0;
  const where: string[] = [];
  for (const mount of mounts.filter((m) => m.review)) {
    const n = countChanges(agentName, mount, human); // throws when STAGE is not the human's: then only --discard-changes removes it
    if (n > 0) {
      total += n;
      where.push(mount.source);
    }
  }
  if (total === 0) return;
  const lost = `${total} staged change${total === 1 ? '' : 's'} of ${agentName} in ${where.join(', ')} would be lost`;
  const see = `see them with \`au changes -a ${agentName}\`, then \`au accept\` or \`au discard\` them`;
  if (options.dryRun) {
    process.stderr.write(`au: ${lost} (${see}; --discard-changes drops them)\n`);
    return;
  }
  if (options.yes || !process.stdin.isTTY)
    throw new StagedChangesError(`refusing: ${lost}: ${see}, or pass --discard-changes to drop them`);
  if (!confirm(`${lost} (${see}). Drop them?`, false)) throw new StagedChangesError('cancelled: the staged changes are kept');
}

/**
 * Removes a review share's STAGE, holding its lock so that no run of the agent has it mounted
 * (the entrypoint holds the lock shared for a whole run) while it goes; `au delete`, which has
 * ended every process of the agent first, passes lock = false.
 */
export function removeShareStage(runner: CommandRunner, agentName: string, mount: MountConfig, human: Human, lock = true): void {
  if (!mount.review) return;
  const stage = stageDir(agentName, human.uid, mount.review);
  const problems = stageProblems(stage, human);
  // Not a directory of the human's (missing, a symlink): nothing to lock; removeStage removes only the entry.
  const release = lock && problems.length === 0 && !runner.dryRun ? lockForRemoval(stage, agentName) : () => {};
  try {
    removeStage(runner, stage);
  } finally {
    release();
  }
}
