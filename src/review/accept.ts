// Applying staged changes to the human's folder (`au accept`) and dropping them (`au discard`).
// Runs as the human, on the fds withLayers() opened, under STAGE's exclusive lock (no run can
// change the upper layer meanwhile). Every directory is entered with O_DIRECTORY|O_NOFOLLOW
// (fd-path.ts), so a symlink anywhere in SRC or upper, planted before or swapped in during the
// walk, makes that change fail instead of writing elsewhere. New content is copied into a new
// file next to its destination and renamed over it: SRC never shares an inode with the upper
// layer, and a file's old name is replaced, never written through. An agent-made symlink is made
// as a symlink with its target (never followed); set-uid, set-gid and sticky bits are dropped.
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  chmodSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AuError, AuUsageError } from '../errors.js';
import { type StagedChange, MAX_DEPTH, openListed, openParent, sameBytes, scanLayers, withFd } from './changes.js';
import { at, fstat, isComponent, isWhiteout, listDir, lstatAt, openDirAt, openFileAt, withDir } from './fd-path.js';
import { loadNative } from '../system/native.js';
import { copySparse } from './sparse.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;
/** Linux's O_PATH: an fd that only names an inode (to chmod a directory the human cannot open). */
const O_PATH = 0o10000000;

export interface Selection {
  /** Paths as `au changes` prints them (a folder selects what is under it); none: every change. */
  paths: readonly string[];
  includeRisky: boolean;
  /** Apply named conflicting changes over the human's version. */
  overwrite?: boolean;
}

export interface Outcome {
  applied: StagedChange[];
  /** Left staged: the human changed SRC's entry since the agent did. */
  conflicts: StagedChange[];
  /** Left staged: risky, neither named nor --include-risky. */
  risky: StagedChange[];
  /** Left staged: refused outright (a symlink leading outside the share, a hard link, ...). */
  refused: StagedChange[];
  failed: { change: StagedChange; error: string }[];
}

const clean = (path: string): string => path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** The changes PATHS name (exactly, or as a folder above them): usage error for a path that names none. */
export function selectChanges(changes: readonly StagedChange[], selection: Selection): { chosen: StagedChange[]; risky: StagedChange[] } {
  const named = selection.paths.map(clean);
  const exact = (c: StagedChange): boolean => named.includes(c.path) || (c.from !== undefined && named.includes(c.from));
  // A risky change is taken when its own path is named: a rename's old path names what goes, not where it lands.
  const namedItself = (c: StagedChange): boolean => named.includes(c.path);
  const under = (c: StagedChange): boolean =>
    named.some((n) => n === '' || c.path.startsWith(`${n}/`) || (c.from?.startsWith(`${n}/`) ?? false));
  for (const n of named) {
    if (!changes.some((c) => c.path === n || c.from === n || c.path.startsWith(`${n}/`) || n === '')) {
      throw new AuUsageError(`no staged change at ${JSON.stringify(n)} (see au changes)`);
    }
  }
  const chosen: StagedChange[] = [];
  const risky: StagedChange[] = [];
  for (const c of changes) {
    const picked = named.length === 0 || exact(c) || under(c);
    if (!picked) continue;
    if (c.risky && !selection.includeRisky && !namedItself(c)) risky.push(c);
    else chosen.push(c);
  }
  return { chosen, risky };
}

const errorText = (error: unknown): string =>
  error instanceof AuError
    ? error.message
    : `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${(error as Error).message.split(', ')[0]}`;

/** Makes a directory the human owns writable and searchable by them, without following a symlink. */
function unlockDir(parentFd: number, name: Buffer): void {
  const fd = openSync(at(parentFd, name), O_PATH | O_NOFOLLOW | O_DIRECTORY);
  try {
    const mode = Number(fstat(fd).mode & 0o7777n);
    chmodSync(`/proc/self/fd/${fd}`, mode | 0o700);
  } finally {
    closeSync(fd);
  }
}

/** How deep removeTree goes holding fds before it moves the rest up (no deep tree can exhaust the stack or fds). */
const REMOVE_DEPTH = 64;

/**
 * Removes NAME in DIRFD, a folder with all it holds, never following a symlink. A folder deeper
 * than REMOVE_DEPTH is first moved up into DIRFD (same file system) and removed from there.
 */
export function removeTree(dirFd: number, name: Buffer): void {
  const pending = [name];
  while (pending.length > 0)
    removeBounded(dirFd, pending.pop()!, 0, (parentFd, deep) => {
      const temp = tempName();
      try {
        renameSync(at(parentFd, deep), at(dirFd, temp));
      } catch (error) {
        // Moving a folder to another parent needs write on it (its '..'): the human owns it.
        if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
        unlockDir(parentFd, deep);
        renameSync(at(parentFd, deep), at(dirFd, temp));
      }
      pending.push(temp);
    });
}

function removeBounded(dirFd: number, name: Buffer, depth: number, moveUp: (parentFd: number, name: Buffer) => void): void {
  const st = lstatAt(dirFd, name);
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(at(dirFd, name));
    return;
  }
  let fd: number;
  try {
    fd = openDirAt(dirFd, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    unlockDir(dirFd, name);
    fd = openDirAt(dirFd, name);
  }
  withDir(fd, (child) => {
    const entries = listDir(child);
    if (entries.length > 0 && (Number(fstat(child).mode) & 0o300) !== 0o300) unlockDir(dirFd, name);
    for (const entry of entries) {
      if (depth + 1 >= REMOVE_DEPTH && lstatAt(child, entry)?.isDirectory()) moveUp(child, entry);
      else removeBounded(child, entry, depth + 1, moveUp);
    }
  });
  rmdirSync(at(dirFd, name));
}

const tempName = (): Buffer => Buffer.from(`.au-accept-${randomBytes(6).toString('hex')}`);
const lastName = (names: readonly Buffer[]): Buffer => names[names.length - 1]!;
/** The bits au sets on what it creates in SRC: permissions only (no set-uid, set-gid, sticky). */
const plainMode = (mode: number | undefined, fallback: number): number => (mode ?? fallback) & 0o777;

/**
 * Runs FN on SRC's directory that holds NAMES' last component, making the missing ones (as the
 * agent's upper directories are: new folders of the agent's) on the way.
 */
function sourceParent<T>(sourceRoot: number, upperRoot: number, names: readonly Buffer[], fn: (dirFd: number) => T): T {
  const opened: number[] = [];
  try {
    let src = sourceRoot;
    let upper = upperRoot;
    for (const name of names.slice(0, -1)) {
      const upperChild = openDirAt(upper, name);
      opened.push(upperChild);
      if (!lstatAt(src, name)) mkdirSync(at(src, name), { mode: plainMode(Number(fstat(upperChild).mode), 0o755) });
      const srcChild = openDirAt(src, name);
      opened.push(srcChild);
      src = srcChild;
      upper = upperChild;
    }
    return fn(src);
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/** Whether SRC's entry is still what was listed (same inode and ctime, or still absent). */
function sourceUnchanged(srcDir: number, change: StagedChange): boolean {
  const now = lstatAt(srcDir, lastName(change.names));
  if (change.sourceIno === undefined) return now === undefined;
  return now !== undefined && now.ino === change.sourceIno && now.ctimeNs === change.sourceCtime;
}

/** Copies the upper file's bytes into a new file in SRCDIR; returns its name. */
function copyIn(upperDir: number, srcDir: number, change: StagedChange): Buffer {
  const temp = tempName();
  withFd(openListed(upperDir, lastName(change.names), change.upperIno ?? -1n), (from) => {
    const to = openSync(at(srcDir, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    let done = false;
    try {
      // Holes stay holes: SRC's disk is filled no more than STAGE's was (sparse.ts).
      copySparse(from, to, Number(fstat(from).size));
      fchmodSync(to, plainMode(change.mode, 0o644));
      fsyncSync(to);
      done = true;
    } finally {
      closeSync(to);
      if (!done) unlinkSync(at(srcDir, temp));
    }
  });
  return temp;
}

/** Puts TEMP in place of NAME in SRCDIR (a folder there is removed first: the agent replaced it). */
function replace(srcDir: number, temp: Buffer, name: Buffer): void {
  const existing = lstatAt(srcDir, name);
  if (existing?.isDirectory()) removeTree(srcDir, name);
  renameSync(at(srcDir, temp), at(srcDir, name));
}

/** Drops the upper entry of an applied change, if it is still the one listed. */
function dropUpperEntry(upperDir: number, name: Buffer, ino: bigint | undefined): void {
  const st = lstatAt(upperDir, name);
  if (!st || st.isDirectory()) return;
  if (ino !== undefined && st.ino !== ino && !isWhiteout(st)) return;
  unlinkSync(at(upperDir, name));
}

function applyOne(upperRoot: number, sourceRoot: number, change: StagedChange): void {
  const name = lastName(change.names);
  // Below an opaque folder the upper entry is all the agent sees there: it stays (equal to SRC's
  // now) until the folder hides nothing more, then prune() drops it.
  const dropUpper = (upperDir: number, entry: Buffer, ino: bigint | undefined): void => {
    if (!change.underOpaque) dropUpperEntry(upperDir, entry, ino);
  };
  // A replacement is applied as what it puts in place (replace() removes SRC's folder first).
  const kind =
    change.kind !== 'replaced' ? change.kind : change.type === 'symlink' ? 'symlink' : change.type === 'directory' ? 'added' : 'modified';
  openParent(upperRoot, change.names, (upperDir) =>
    sourceParent(sourceRoot, upperRoot, change.names, (srcDir) => {
      if (change.type === 'file' && (kind === 'added' || kind === 'modified' || kind === 'renamed')) {
        const temp = copyIn(upperDir, srcDir, change);
        replace(srcDir, temp, name);
        dropUpper(upperDir, name, change.upperIno);
        if (change.kind === 'renamed' && change.fromNames)
          removeSourceAndWhiteout(upperRoot, sourceRoot, change.fromNames, change.fromSourceIno);
      } else if (kind === 'symlink') {
        const temp = tempName();
        symlinkSync(change.targetBytes!, at(srcDir, temp));
        replace(srcDir, temp, name);
        dropUpper(upperDir, name, change.upperIno);
      } else if (change.kind === 'mode') {
        const open = change.type === 'directory' ? openDirAt : openFileAt;
        withFd(open(srcDir, name), (fd) => {
          if (fstat(fd).ino !== change.sourceIno) throw new AuError(`${change.path} changed in your folder since it was listed`);
          fchmodSync(fd, plainMode(change.mode, 0o644) | (change.type === 'directory' ? (change.mode ?? 0) & 0o1000 : 0));
        });
        if (change.type === 'file') dropUpper(upperDir, name, change.upperIno);
      } else if (kind === 'added' && change.type === 'directory') {
        const existing = lstatAt(srcDir, name);
        if (existing && !existing.isDirectory()) unlinkSync(at(srcDir, name));
        if (!existing?.isDirectory()) mkdirSync(at(srcDir, name), { mode: plainMode(change.mode, 0o755) });
      } else if (change.kind === 'deleted') {
        removeSourceAndWhiteout(upperRoot, sourceRoot, change.names, change.sourceIno);
      } else {
        throw new AuError(`${change.path}: au does not apply this kind of change`);
      }
    }),
  );
}

/** Applies a deletion: SRC's entry (if still the listed inode) and the whiteout that recorded it. */
function removeSourceAndWhiteout(upperRoot: number, sourceRoot: number, names: readonly Buffer[], ino: bigint | undefined): void {
  const name = lastName(names);
  openParent(sourceRoot, names, (srcDir) => {
    const st = lstatAt(srcDir, name);
    if (st && st.ino !== ino) throw new AuError(`${name.toString()} changed in your folder since it was listed`);
    if (st) removeTree(srcDir, name);
  });
  try {
    openParent(upperRoot, names, (upperDir) => {
      const st = lstatAt(upperDir, name);
      if (st && isWhiteout(st)) unlinkSync(at(upperDir, name));
    });
  } catch (error) {
    // A deletion inside an opaque folder has no whiteout of its own (nor, maybe, the folder).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Whether the upper file or symlink NAME equals SRC's (same bytes or target, same mode). */
function sameAsSource(upperDir: number, sourceDir: number, name: Buffer): boolean {
  const upper = lstatAt(upperDir, name);
  const src = lstatAt(sourceDir, name);
  if (!upper || !src || (upper.mode & 0o7777n) !== (src.mode & 0o7777n)) return false;
  if (upper.isSymbolicLink() && src.isSymbolicLink())
    return readlinkSync(at(upperDir, name), { encoding: 'buffer' }).equals(readlinkSync(at(sourceDir, name), { encoding: 'buffer' }));
  if (!upper.isFile() || !src.isFile() || upper.size !== src.size) return false;
  try {
    return withFd(openListed(upperDir, name, upper.ino), (u) => withFd(openListed(sourceDir, name, src.ino), (s) => sameBytes(u, s)));
  } catch {
    return false; // unreadable: kept
  }
}

/**
 * Drops what the upper layer holds that no longer records a change: files and symlinks equal to
 * SRC's (outside opaque folders), and folders left empty of the same mode as SRC's, unless below
 * an opaque folder (overlay would show nothing there) or opaque over a SRC folder still not empty.
 * Returns whether UPPERDIR is left empty.
 */
function prune(upperDir: number, sourceDir: number | undefined, hiding: boolean, depth = 0): boolean {
  if (depth >= MAX_DEPTH) return false; // not read by the scan either: kept
  const native = loadNative();
  let empty = true;
  for (const name of listDir(upperDir)) {
    const st = lstatAt(upperDir, name);
    if (!st) continue;
    if (!st.isDirectory()) {
      if (!hiding && sourceDir !== undefined && !isWhiteout(st) && sameAsSource(upperDir, sourceDir, name)) unlinkSync(at(upperDir, name));
      else empty = false;
      continue;
    }
    const src = sourceDir === undefined ? undefined : lstatAt(sourceDir, name);
    let upperChild: number;
    try {
      upperChild = openDirAt(upperDir, name);
    } catch (error) {
      // A folder the agent made unreadable stays (listed as refused; au discard removes it).
      if (!['EACCES', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      empty = false;
      continue;
    }
    const removable = withDir(upperChild, (child) => {
      const opaque = native?.fgetxattr(child, 'user.overlay.opaque')?.toString() === 'y';
      const srcChild = src?.isDirectory() && sourceDir !== undefined ? openDirAt(sourceDir, name) : undefined;
      try {
        if (!prune(child, srcChild, hiding || opaque, depth + 1)) return false;
        if (hiding || srcChild === undefined || (src!.mode & 0o7777n) !== (st.mode & 0o7777n)) return false;
        return !opaque || listDir(srcChild).length === 0;
      } finally {
        if (srcChild !== undefined) closeSync(srcChild);
      }
    });
    if (removable) rmdirSync(at(upperDir, name));
    else empty = false;
  }
  return empty;
}

/**
 * Makes an opaque folder of the upper layer plain again (a new folder, its entries moved in):
 * once it hides nothing of SRC's, its entries equal to SRC's can go.
 */
function unOpaque(upperRoot: number, names: readonly Buffer[]): void {
  const name = lastName(names);
  openParent(upperRoot, names, (parent) => {
    const st = lstatAt(parent, name);
    if (!st?.isDirectory()) return;
    const temp = tempName();
    mkdirSync(at(parent, temp), { mode: 0o700 });
    withDir(openDirAt(parent, name), (old) =>
      withDir(openDirAt(parent, temp), (fresh) => {
        for (const entry of listDir(old)) renameSync(at(old, entry), at(fresh, entry));
        fchmodSync(fresh, Number(st.mode & 0o7777n));
      }),
    );
    rmdirSync(at(parent, name));
    renameSync(at(parent, temp), at(parent, name));
  });
}

/** After applying: opaque folders that hide nothing any more are made plain, then the upper layer is pruned. */
function tidy(layers: { upperFd: number; sourceFd: number }): void {
  const deepestFirst = scanLayers(layers)
    .opaqueDirs.filter((d) => d.hides === 0)
    .sort((a, b) => b.names.length - a.names.length);
  for (const dir of deepestFirst) unOpaque(layers.upperFd, dir.names);
  prune(layers.upperFd, layers.sourceFd, false);
}

/** `au accept`: applies the selected changes, keeps conflicts, risky and refused ones staged. */
export function acceptChanges(layers: { upperFd: number; sourceFd: number; changes: StagedChange[] }, selection: Selection): Outcome {
  const { chosen, risky } = selectChanges(layers.changes, selection);
  const outcome: Outcome = { applied: [], conflicts: [], risky, refused: [], failed: [] };
  const named = new Set(selection.paths.map(clean));
  const parts: StagedChange[] = [];
  for (const change of chosen) {
    if (change.partOf !== undefined) {
      parts.push(change); // goes with its replacement, below
      continue;
    }
    if (change.refused) {
      outcome.refused.push(change);
      continue;
    }
    if (change.conflict && !(selection.overwrite && (named.has(change.path) || (change.from !== undefined && named.has(change.from))))) {
      outcome.conflicts.push(change);
      continue;
    }
    try {
      const moved =
        change.kind !== 'deleted' &&
        !selection.overwrite &&
        !openParent(layers.sourceFd, change.names, (srcDir) => sourceUnchanged(srcDir, change));
      if (moved) {
        change.conflict ??= 'you changed it while au was applying';
        outcome.conflicts.push(change);
        continue;
      }
    } catch {
      // Its folder is not in SRC yet: made on the way.
    }
    try {
      applyOne(layers.upperFd, layers.sourceFd, change);
      outcome.applied.push(change);
    } catch (error) {
      outcome.failed.push({ change, error: errorText(error) });
    }
  }
  // A deletion under a replaced folder happened when (and only when) the replacement was applied.
  const replacedNow = new Set(outcome.applied.map((c) => c.path));
  for (const part of parts) {
    if (replacedNow.has(part.partOf!)) outcome.applied.push(part);
    else if (!chosen.some((c) => c.path === part.partOf))
      outcome.failed.push({ change: part, error: `it goes with the replacement of ${part.partOf}: accept that path` });
  }
  tidy(layers);
  return outcome;
}

/** Copies SRC's entry NAME (a file, symlink or folder, never followed) into the upper layer. */
function copyTree(sourceDir: number, upperDir: number, name: Buffer): void {
  const st = lstatAt(sourceDir, name);
  if (!st) return;
  const mode = Number(st.mode & 0o7777n);
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(at(sourceDir, name), { encoding: 'buffer' }), at(upperDir, name));
  } else if (st.isFile()) {
    withFd(openListed(sourceDir, name, st.ino), (from) => {
      const to = openSync(at(upperDir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        copySparse(from, to, Number(fstat(from).size));
        fchmodSync(to, mode);
      } finally {
        closeSync(to);
      }
    });
  } else if (st.isDirectory()) {
    mkdirSync(at(upperDir, name), { mode: 0o700 });
    withDir(openDirAt(sourceDir, name), (from) =>
      withDir(openDirAt(upperDir, name), (to) => {
        for (const entry of listDir(from)) copyTree(from, to, entry);
        fchmodSync(to, mode);
      }),
    );
  }
}

/** Whether a folder above NAMES' last component is opaque in the upper layer. */
function belowOpaque(upperRoot: number, names: readonly Buffer[]): boolean {
  const native = loadNative();
  for (let depth = 1; depth < names.length; depth++) {
    const opaque = openParent(
      upperRoot,
      names.slice(0, depth + 1),
      (dir) => native?.fgetxattr(dir, 'user.overlay.opaque')?.toString() === 'y',
    );
    if (opaque) return true;
  }
  return false;
}

/**
 * Drops the upper entry at NAMES. Below an opaque folder overlay shows nothing of SRC's, so
 * there SRC's entry is copied into the upper layer in its place (the agent then sees SRC's).
 */
function dropStaged(layers: { upperFd: number; sourceFd: number }, names: readonly Buffer[]): void {
  const name = lastName(names);
  const below = belowOpaque(layers.upperFd, names);
  openParent(layers.upperFd, names, (upperDir) => {
    removeTree(upperDir, name);
    if (below) {
      try {
        openParent(layers.sourceFd, names, (sourceDir) => copyTree(sourceDir, upperDir, name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  });
}

/** `au discard`: drops the selected changes from the upper layer (every one without PATHs). */
export function discardChanges(
  layers: { upperFd: number; sourceFd: number; changes: StagedChange[] },
  paths: readonly string[],
): { discarded: StagedChange[]; failed: { change: StagedChange; error: string }[] } {
  if (paths.length === 0) {
    for (const name of listDir(layers.upperFd)) removeTree(layers.upperFd, name);
    return { discarded: layers.changes, failed: [] };
  }
  const { chosen } = selectChanges(layers.changes, { paths, includeRisky: true });
  const failed: { change: StagedChange; error: string }[] = [];
  const discarded: StagedChange[] = [];
  // A named folder of the upper layer goes whole (with its opacity): SRC's shows through again.
  const folders = new Set<string>();
  for (const path of paths.map(clean)) {
    const names = path.split('/').map((p) => Buffer.from(p));
    try {
      if (names.every(isComponent) && openParent(layers.upperFd, names, (upperDir) => lstatAt(upperDir, lastName(names))?.isDirectory())) {
        dropStaged(layers, names);
        folders.add(path);
      }
    } catch (error) {
      if (!['ENOENT', 'ENOTDIR', 'ELOOP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
  for (const change of chosen) {
    if (change.partOf !== undefined) {
      // Nothing staged of its own: it goes with the replacement's entry.
      if (chosen.some((c) => c.path === change.partOf)) discarded.push(change);
      else failed.push({ change, error: `it goes with the replacement of ${change.partOf}: discard that path` });
      continue;
    }
    if ([...folders].some((f) => change.path === f || change.path.startsWith(`${f}/`))) {
      discarded.push(change);
      continue;
    }
    try {
      if (change.kind === 'mode' && change.type === 'directory') {
        openParent(layers.upperFd, change.names, (upperDir) =>
          withDir(openDirAt(upperDir, lastName(change.names)), (fd) => fchmodSync(fd, change.oldMode ?? 0o755)),
        );
      } else {
        dropStaged(layers, change.names);
      }
      if (change.kind === 'renamed' && change.fromNames) dropStaged(layers, change.fromNames);
      discarded.push(change);
    } catch (error) {
      failed.push({ change, error: errorText(error) });
    }
  }
  tidy(layers);
  return { discarded, failed };
}
