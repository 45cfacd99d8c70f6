// Checks that the entrypoint about to run is the one `au new` installed. The guard is the
// location: every directory above it and the file itself are root-owned and not writable by
// anyone else, so nobody but root can swap it between this check and the exec. The hash is
// defence in depth (and catches a root-level mistake). Facts are read here (readEntrypointFacts);
// what they mean is decided without the system (entrypointFileProblems), for every caller alike.
import { lstatSync, readFileSync } from 'node:fs';
import { loadNative } from '../system/native.js';
import { lazyRequire } from '../system/lazy-require.js';
import { REQUIRED_MODE, ancestorsOf } from './location.js';

export interface EntrypointExpectation {
  path: string;
  sha256: string;
  /** gid of su-as-NAME when known: the file's group must be it. */
  groupGid?: number;
}

export interface StatFact {
  path: string;
  /** errno code when lstat failed. */
  error?: string;
  kind?: 'file' | 'directory' | 'other';
  uid?: number;
  gid?: number;
  mode?: number;
}

export interface EntrypointFacts {
  path: string;
  /** lstat of every directory above the file, outermost first. */
  ancestors: StatFact[];
  /** lstat of the file itself (absent when an ancestor is already wrong). */
  file?: StatFact;
  /** SHA-256 of its content, or the errno code that kept it from being read. */
  sha256?: string;
  readError?: string;
}

/** Reads the file's content; the health check passes one that can take the driver group's path. */
export type ContentReader = (path: string) => Buffer;

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');
const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** SHA-256 in hex; through the native addon when built (Node's crypto module is slow to load). */
export function sha256Of(data: Buffer): string {
  const native = loadNative();
  if (native) return native.sha256(data);
  const { createHash } = lazyRequire('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

function statFact(path: string): StatFact {
  try {
    const st = lstatSync(path);
    return {
      path,
      kind: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other',
      uid: st.uid,
      gid: st.gid,
      mode: st.mode & 0o7777,
    };
  } catch (error) {
    return { path, error: codeOf(error) };
  }
}

export function readEntrypointFacts(path: string, read: ContentReader = readFileSync): EntrypointFacts {
  const ancestors = ancestorsOf(path).map(statFact);
  if (ancestorProblems(ancestors).length > 0) return { path, ancestors };
  const file = statFact(path);
  if (file.kind !== 'file') return { path, ancestors, file };
  try {
    return { path, ancestors, file, sha256: sha256Of(read(path)) };
  } catch (error) {
    return { path, ancestors, file, readError: codeOf(error) };
  }
}

export interface LocationProblem {
  path: string;
  detail: string;
  /** The directory is not there (the entrypoint was removed with it), rather than unsafe. */
  missing: boolean;
}

function ancestorProblems(ancestors: readonly StatFact[]): LocationProblem[] {
  const problems: LocationProblem[] = [];
  const add = (dir: StatFact, detail: string, missing = false): void => void problems.push({ path: dir.path, detail, missing });
  for (const dir of ancestors) {
    if (dir.error !== undefined) add(dir, `${dir.path}: ${dir.error}`, dir.error === 'ENOENT');
    else if (dir.kind !== 'directory') add(dir, `${dir.path} is not a directory`);
    else if (dir.uid !== 0) add(dir, `${dir.path} is not owned by root`);
    else if ((dir.mode ?? 0) & 0o022) add(dir, `${dir.path} is writable by group or others (mode ${octal(dir.mode ?? 0)})`);
  }
  return problems;
}

export interface EntrypointProblems {
  /** Problems of the directories above it: only root can fix those, by hand. */
  location: LocationProblem[];
  /** Problems of the file itself: reinstalling it (`au new`) fixes them. */
  file: string[];
  /** Its content could not be read (errno code), so its hash is unchecked. */
  unreadable?: string;
}

/** What is wrong with the entrypoint, from its facts alone. */
export function entrypointFileProblems(facts: EntrypointFacts, expected: EntrypointExpectation): EntrypointProblems {
  const location = ancestorProblems(facts.ancestors);
  if (location.length > 0 || !facts.file) return { location, file: [] };
  const st = facts.file;
  if (st.error !== undefined) return { location, file: [`entrypoint ${facts.path} is missing (${st.error})`] };
  if (st.kind !== 'file') return { location, file: [`entrypoint ${facts.path} is not a regular file`] };
  const file: string[] = [];
  if (st.uid !== 0) file.push(`entrypoint ${facts.path} is not owned by root`);
  if (expected.groupGid !== undefined && st.gid !== expected.groupGid)
    file.push(`entrypoint ${facts.path} has group ${st.gid}, expected ${expected.groupGid}`);
  if (st.mode !== REQUIRED_MODE)
    file.push(`entrypoint ${facts.path} has mode ${octal(st.mode ?? 0)}, expected ${octal(REQUIRED_MODE)} (setuid root, group-only)`);
  if (facts.sha256 !== undefined && facts.sha256 !== expected.sha256) {
    file.push(
      `entrypoint ${facts.path} has been tampered with: expected sha256 ${expected.sha256 || '(none recorded)'}, got ${facts.sha256}`,
    );
  }
  return { location, file, ...(facts.readError !== undefined ? { unreadable: facts.readError } : {}) };
}

export const unreadableProblem = (path: string, code: string): string => `cannot read entrypoint ${path} to check its hash (${code})`;

/** Returns the list of problems; empty means the entrypoint may be executed. */
export function entrypointProblems(expected: EntrypointExpectation): string[] {
  const found = entrypointFileProblems(readEntrypointFacts(expected.path), expected);
  return [
    ...found.location.map((p) => p.detail),
    ...found.file,
    ...(found.unreadable !== undefined ? [unreadableProblem(expected.path, found.unreadable)] : []),
  ];
}
