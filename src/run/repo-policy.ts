// `.au.toml` in the current repository: a repo may ask for *less* access than the human's
// config grants (fewer shares, all read-only, no network), never more. The agent can usually
// write that file (it lives in a shared folder), so anything that would widen access, or that
// we do not understand, is refused rather than ignored (THREAT-MODEL A9).
import { AuError } from '../errors.js';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'smol-toml';
import type { MountConfig } from '../config/schema.js';

export const REPO_FILE = '.au.toml';
/** Far more than the three keys need; a bigger file is refused unread. */
const MAX_BYTES = 64 * 1024;
const KEYS = ['shares', 'read_only', 'network'];

export class RepoPolicyError extends AuError {}

export interface RepoPolicy {
  path: string;
  /** Keep only these shares (source or target paths; relative ones are relative to the file). */
  shares?: string[];
  readOnly?: boolean;
  noNetwork?: boolean;
}

/** The nearest .au.toml from `cwd` up to (not above) the human's home. */
export function findRepoPolicy(cwd: string, humanHome: string): string | undefined {
  for (let dir = cwd; dir === humanHome || dir.startsWith(`${humanHome}/`); dir = dirname(dir)) {
    const path = join(dir, REPO_FILE);
    try {
      if (lstatSync(path, { throwIfNoEntry: false })) return path; // (no exception for the usual ENOENT)
    } catch {
      // not readable here: look one level up
    }
    if (dir === humanHome) break;
  }
  return undefined;
}

/**
 * The file's text, read through one descriptor: never through a symlink, never blocking on a
 * FIFO the agent swapped in (the session server reads it on its only thread), regular-file and
 * size checked on what was opened, not on a path that can change in between.
 */
function readSmallFile(path: string, refuse: (why: string) => never): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return refuse(
      (error as NodeJS.ErrnoException).code === 'ELOOP'
        ? 'it is a symlink'
        : `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) refuse('it is not a regular file');
    if (st.size > MAX_BYTES) refuse(`it is larger than ${MAX_BYTES} bytes`);
    const buffer = Buffer.alloc(MAX_BYTES + 1);
    let length = 0;
    for (let n; length <= MAX_BYTES && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > MAX_BYTES) refuse(`it is larger than ${MAX_BYTES} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function readRepoPolicy(path: string): RepoPolicy {
  const refuse = (why: string): never => {
    throw new RepoPolicyError(
      `refusing ${path}: ${why} (a repo-local ${REPO_FILE} may only narrow access: shares, read_only = true, network = "none")`,
    );
  };
  let data: Record<string, unknown>;
  try {
    data = parse(readSmallFile(path, refuse));
  } catch (error) {
    if (error instanceof RepoPolicyError) throw error;
    return refuse('it is not valid TOML');
  }
  const policy: RepoPolicy = { path };
  for (const [key, value] of Object.entries(data)) {
    if (!KEYS.includes(key)) refuse(`unknown key "${key}"`);
    if (key === 'shares') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) refuse('"shares" must be a list of paths');
      const base = dirname(path);
      policy.shares = (value as string[]).map((v) => (isAbsolute(v) ? resolve(v) : resolve(base, v)));
    }
    if (key === 'read_only') {
      if (value !== true) refuse('"read_only" can only be true: a repo cannot make a share writable');
      policy.readOnly = true;
    }
    if (key === 'network') {
      if (value !== 'none') refuse('"network" can only be "none": a repo cannot loosen the network');
      policy.noNetwork = true;
    }
  }
  return policy;
}

/** The human's shares narrowed by the policy; refuses a share the human did not configure. */
export function narrowShares(mounts: readonly MountConfig[], policy: RepoPolicy): MountConfig[] {
  let kept = [...mounts];
  if (policy.shares) {
    for (const wanted of policy.shares) {
      if (!mounts.some((m) => m.source === wanted || m.target === wanted)) {
        throw new RepoPolicyError(`refusing ${policy.path}: it would add the share ${wanted}, which your config does not have`);
      }
    }
    kept = kept.filter((m) => policy.shares!.includes(m.source) || policy.shares!.includes(m.target));
  }
  return policy.readOnly ? kept.map((m) => ({ ...m, readOnly: true })) : kept;
}
