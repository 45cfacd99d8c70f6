// Validating what the human asks to share, before anything is changed.
import { AuUsageError } from '../errors.js';
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import type { AgentConfig, MountConfig } from '../config/schema.js';

export class ShareError extends AuUsageError {}

const isStrictlyInside = (path: string, dir: string): boolean => path.startsWith(`${dir}/`) && path.length > dir.length + 1;

/**
 * The real path of SRC, which must be a directory of the human's, strictly inside their home.
 * No symlink may stand between the home and SRC: one could have been planted by the agent in
 * a read-write share to make the human share a private folder (A18). Whoever really means a
 * symlink's destination can name it.
 */
export function resolveShareSource(input: string, humanHome: string, humanUid: number): string {
  let source: string;
  const typed = resolve(input);
  try {
    source = realpathSync(typed);
  } catch {
    throw new ShareError(`source ${input} does not exist`);
  }
  const home = realpathSync(humanHome);
  const typedInHome = isStrictlyInside(typed, humanHome) ? home + typed.slice(humanHome.length) : typed;
  if (source !== typedInHome) {
    throw new ShareError(`source ${typed} goes through a symlink (to ${source}); name the real folder if you mean it`);
  }
  if (!isStrictlyInside(source, home)) throw new ShareError(`source ${source} is not inside your home directory ${home}`);
  const st = statSync(source);
  if (!st.isDirectory()) throw new ShareError(`source ${source} is not a directory (only folders can be shared)`);
  if (st.uid !== humanUid) throw new ShareError(`source ${source} is not owned by you`);
  return source;
}

/**
 * The absolute mount target inside the agent home: TGT if given (absolute, or relative to the
 * agent home), else the source's path relative to the human's home. `..` is refused outright
 * rather than normalised away, so what the human typed is what gets mounted.
 */
export function resolveShareTarget(input: string | undefined, source: string, humanHome: string, agentHome: string): string {
  const raw = input ?? relative(realpathSync(humanHome), source);
  if (raw.split('/').includes('..')) throw new ShareError(`target ${raw} must not contain '..'`);
  const target = normalize(isAbsolute(raw) ? raw : `${agentHome}/${raw}`).replace(/\/+$/, '');
  if (!isStrictlyInside(target, agentHome)) throw new ShareError(`target ${target} is not inside the agent home ${agentHome}`);
  return target;
}

export function findConflict(agent: AgentConfig, source: string, target: string): MountConfig | undefined {
  return agent.mounts.find((m) => m.source === source || m.target === target);
}

/**
 * A share whose source contains SOURCE or lies inside it, where one of the two is a review share
 * (`review`: the new one is): nested, writes to the inner folder would bypass the review.
 */
export function findNestedReview(agent: AgentConfig, source: string, review: boolean): MountConfig | undefined {
  return agent.mounts.find((m) => (review || m.review) && (isStrictlyInside(source, m.source) || isStrictlyInside(m.source, source)));
}

/** The mount whose source or target is PATH (as typed, or resolved). */
export function findMount(agent: AgentConfig, path: string): MountConfig | undefined {
  const candidates = new Set([path, resolve(path)]);
  try {
    candidates.add(realpathSync(path));
  } catch {
    // A source that no longer exists can still be removed by its recorded path.
  }
  return agent.mounts.find((m) => candidates.has(m.source) || candidates.has(m.target));
}
