// Checks that the entrypoint about to run is the one `au new` installed. The guard is the
// location: every directory above it and the file itself are root-owned and not writable by
// anyone else, so nobody but root can swap it between this check and the exec. The hash is
// defence in depth (and catches a root-level mistake).
import { lstatSync, readFileSync } from 'node:fs';
import { loadNative } from '../run/native.js';
import { lazyRequire } from '../system/lazy-require.js';
import { REQUIRED_MODE, ancestorsOf } from './location.js';

export interface EntrypointExpectation {
  path: string;
  sha256: string;
  /** gid of su-as-NAME when known: the file's group must be it. */
  groupGid?: number;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** SHA-256 in hex; through the native addon when built (Node's crypto module is slow to load). */
export function sha256Of(data: Buffer): string {
  const native = loadNative();
  if (native) return native.sha256(data);
  const { createHash } = lazyRequire('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

/** Returns the list of problems; empty means the entrypoint may be executed. */
export function entrypointProblems(expected: EntrypointExpectation): string[] {
  const problems: string[] = [];
  for (const dir of ancestorsOf(expected.path)) {
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory()) problems.push(`${dir} is not a directory`);
      else if (st.uid !== 0) problems.push(`${dir} is not owned by root`);
      else if (st.mode & 0o022) problems.push(`${dir} is writable by group or others (mode ${octal(st.mode)})`);
    } catch (error) {
      problems.push(`${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (problems.length > 0) return problems;
  let st;
  try {
    st = lstatSync(expected.path);
  } catch (error) {
    return [`entrypoint ${expected.path} is missing (${(error as NodeJS.ErrnoException).code})`];
  }
  if (!st.isFile()) return [`entrypoint ${expected.path} is not a regular file`];
  if (st.uid !== 0) problems.push(`entrypoint ${expected.path} is not owned by root`);
  if (expected.groupGid !== undefined && st.gid !== expected.groupGid) {
    problems.push(`entrypoint ${expected.path} has group ${st.gid}, expected ${expected.groupGid}`);
  }
  if ((st.mode & 0o7777) !== REQUIRED_MODE) {
    problems.push(`entrypoint ${expected.path} has mode ${octal(st.mode)}, expected ${octal(REQUIRED_MODE)} (setuid root, group-only)`);
  }
  try {
    const actual = sha256Of(readFileSync(expected.path));
    if (actual !== expected.sha256) {
      problems.push(`entrypoint ${expected.path} has been tampered with: expected sha256 ${expected.sha256 || '(none recorded)'}, got ${actual}`);
    }
  } catch (error) {
    problems.push(`cannot read entrypoint ${expected.path} to check its hash (${(error as NodeJS.ErrnoException).code})`);
  }
  return problems;
}
