// Where a review share's staged changes live, and the directory's lifecycle (made by `au mount
// add --review`, removed by `au mount remove` and `au delete`). The entrypoint computes the same
// path itself (su_as_agent.c, review phase) from its compiled-in agent name, the caller's uid
// and the key: it never takes the path from the caller.
//
//   REVIEW_ROOT                            root:root 0711
//   REVIEW_ROOT/<agent>                    root:root 0711   (only root creates entries here)
//   REVIEW_ROOT/<agent>/<uid>-<key>        the human's, 0700: STAGE
//   STAGE/upper, STAGE/work                the human's, 0700: overlayfs's upper and work dirs
//
// The agent reaches STAGE only through its overlay mount: the mount's layers are detached
// mounts that no path names, and STAGE is 0700 to a uid that is not the agent's.
import { lstatSync } from 'node:fs';
import { AuError } from '../errors.js';
import { lazyRequire } from '../system/lazy-require.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';

export const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';

export class StagingError extends AuError {}

const KEY = /^[a-z0-9]{16}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The key of a review share: [a-z0-9]{16}, random (the entrypoint checks the same pattern). */
export function newReviewKey(): string {
  // crypto loaded here only: au run imports this module (the stage path) and must stay lean.
  const { randomBytes } = lazyRequire('node:crypto') as typeof import('node:crypto');
  const bytes = randomBytes(32);
  let key = '';
  // 252 = 7 * 36: bytes at or above it are skipped, so every character is equally likely.
  for (const byte of bytes) if (byte < 252 && key.length < 16) key += ALPHABET[byte % 36];
  return key.length === 16 ? key : newReviewKey();
}

export const isReviewKey = (key: string): boolean => KEY.test(key);

export const agentReviewDir = (agentName: string): string => `${REVIEW_ROOT}/${agentName}`;

/** STAGE of one human's review share of one agent. */
export function stageDir(agentName: string, humanUid: number, key: string): string {
  if (!isReviewKey(key)) throw new StagingError(`invalid review key ${JSON.stringify(key)} (must be 16 of [a-z0-9])`);
  if (!Number.isInteger(humanUid) || humanUid < 0) throw new StagingError(`invalid uid ${humanUid}`);
  return `${agentReviewDir(agentName)}/${humanUid}-${key}`;
}

export const upperDir = (stage: string): string => `${stage}/upper`;
export const workDir = (stage: string): string => `${stage}/work`;

/** What is at PATH, without following a symlink there. */
function entry(path: string): { kind: 'missing' | 'dir' | 'other'; uid: number; mode: number } {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return { kind: 'missing', uid: -1, mode: 0 };
  return { kind: st.isDirectory() ? 'dir' : 'other', uid: st.uid, mode: st.mode & 0o7777 };
}

export interface StageProblem {
  detail: string;
  /** The command that fixes it (printed by au info / au doctor; nothing staged is lost by it). */
  fix: string;
}

/** Why STAGE is not as the entrypoint wants it, each with its fix (empty: it is usable). */
export function stageProblems(stage: string, human: Pick<Human, 'uid' | 'gid'>): StageProblem[] {
  const sudo = human.uid === 0 ? '' : 'sudo ';
  const agentDir = stage.slice(0, stage.lastIndexOf('/'));
  const remake = `${sudo}install -d -o ${human.uid} -g ${human.gid} -m 0700`;
  const notDir = (path: string): StageProblem => ({
    detail: `${path} is not a directory (a symlink?)`,
    fix: `ls -ld ${path}  # not made by au: look, remove it, then au mount add --review again`,
  });
  for (const dir of [REVIEW_ROOT, agentDir]) {
    const e = entry(dir);
    const fix = `${sudo}install -d -o root -g root -m 0711 ${REVIEW_ROOT} ${agentDir}`;
    if (e.kind === 'missing')
      return [{ detail: `${dir} does not exist`, fix: `${fix} && ${remake} ${stage} ${upperDir(stage)} ${workDir(stage)}` }];
    if (e.kind !== 'dir') return [notDir(dir)];
    if (e.uid !== 0 || (e.mode & 0o022) !== 0)
      return [{ detail: `${dir} is not root's, or is writable by others (mode ${e.mode.toString(8)})`, fix }];
  }
  const s = entry(stage);
  if (s.kind === 'missing')
    return [{ detail: `staging directory ${stage} does not exist`, fix: `${remake} ${stage} ${upperDir(stage)} ${workDir(stage)}` }];
  if (s.kind !== 'dir') return [notDir(stage)];
  const problems: StageProblem[] = [];
  if (s.uid !== human.uid || s.mode !== 0o700) {
    problems.push({
      detail: `staging directory ${stage} is not yours with mode 700 (owner ${s.uid}, mode ${s.mode.toString(8)})`,
      fix: `${sudo}chown ${human.uid}:${human.gid} ${stage} && ${sudo}chmod 0700 ${stage}`,
    });
  }
  for (const dir of [upperDir(stage), workDir(stage)]) {
    const e = entry(dir);
    if (e.kind === 'other') problems.push(notDir(dir));
    else if (e.kind === 'missing' || e.uid !== human.uid)
      problems.push({ detail: `${dir} is missing or not yours`, fix: `${remake} ${dir}` });
  }
  return problems;
}

/** The printed steps that make STAGE (and the root-owned directories above it) for the human. */
export function createStage(runner: CommandRunner, agentName: string, human: Human, key: string): string {
  if (human.uid === 0) throw new StagingError('a review share needs a human other than root (its files are mapped to the agent by uid)');
  const stage = stageDir(agentName, human.uid, key);
  // A directory left by an unfinished `mount add` is made right again (install -d); anything else is refused.
  for (const dir of [stage, upperDir(stage), workDir(stage)]) {
    if (entry(dir).kind === 'other')
      throw new StagingError(`${dir} exists and is not a directory (a symlink?): refusing to create the staging area`);
  }
  for (const dir of [REVIEW_ROOT, agentReviewDir(agentName)]) {
    const e = entry(dir);
    if (e.kind === 'other') throw new StagingError(`${dir} is not a directory (a symlink?): refusing to create the staging area`);
    if (e.kind === 'dir' && (e.uid !== 0 || (e.mode & 0o022) !== 0))
      throw new StagingError(`${dir} is not root's or is writable by others: refusing to create the staging area there`);
  }
  runner.change(['install', '-d', '-o', 'root', '-g', 'root', '-m', '0711', REVIEW_ROOT, agentReviewDir(agentName)], { privileged: true });
  const owner = ['-o', String(human.uid), '-g', String(human.gid), '-m', '0700'];
  runner.change(['install', '-d', ...owner, stage, upperDir(stage), workDir(stage)], { privileged: true });
  return stage;
}

/**
 * Removes STAGE: the exact path, never through a symlink (checked here; only root can put an
 * entry in the agent's review directory, so the check cannot be raced by anyone but root).
 * `rm --one-file-system`, so nothing mounted beneath it is followed either.
 */
export function removeStage(runner: CommandRunner, stage: string): void {
  const e = entry(stage);
  if (e.kind === 'missing') return;
  if (e.kind !== 'dir') {
    runner.change(['rm', '-f', '--', stage], { privileged: true }); // a symlink or a file: the entry itself, not what it names
    return;
  }
  runner.change(['rm', '-rf', '--one-file-system', '--', stage], { privileged: true });
}

/** The agent's review directory, once no human's STAGE is left in it (others' are their data). */
export function removeAgentReviewDir(runner: CommandRunner, agentName: string): void {
  const dir = agentReviewDir(agentName);
  if (entry(dir).kind !== 'dir') return;
  runner.change(['rmdir', '--ignore-fail-on-non-empty', '--', dir], { privileged: true });
}
