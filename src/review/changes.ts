// What the agent changed in a review share: the overlay's upper layer (STAGE/upper) compared
// with the human's folder (SRC), both read as the human, by fd, never following a symlink
// (fd-path.ts). The upper layer holds what the agent added or copied up (a copied-up file whose
// content and mode equal SRC's is no change), whiteouts (char devices 0/0) for what it deleted,
// and opaque directories (xattr user.overlay.opaque=y) that hide everything SRC has under them.
import { type BigIntStats, closeSync, readSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { MountConfig } from '../config/schema.js';
import { AuError } from '../errors.js';
import type { Human } from '../system/human.js';
import { loadNative } from '../system/native.js';
import { at, fstat, isComponent, isWhiteout, listDir, lstatAt, openDirAt, openDirNoFollow, openFileAt, withDir } from './fd-path.js';
import { BINARY_HEAD, riskReasons } from './risky.js';
import { StageBase, firstChanged } from './base.js';
import { largeFileReason } from './sparse.js';
import { stageDir } from './staging.js';

/** replaced: an entry of another type took the place of SRC's (a file over a folder, a folder over a file, ...). */
export type ChangeKind = 'added' | 'modified' | 'deleted' | 'renamed' | 'mode' | 'symlink' | 'replaced';
export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

/** One staged change, as `au changes --json` prints it. */
export interface Change {
  /** Relative to the share's root, components joined by '/'. */
  path: string;
  kind: ChangeKind;
  type: EntryType;
  /** Bytes: the new content's size (the lost content's for a deletion, the target's for a symlink). */
  size: number;
  /** A regular file's blocks on disk, in bytes (less than `size` for a sparse file). */
  diskSize?: number;
  /** renamed: the path it had. */
  from?: string;
  /** Permission bits after the change and before it (when they differ). */
  mode?: number;
  oldMode?: number;
  /** symlink: what it points to. */
  target?: string;
  /** replaced: the type of SRC's entry that goes (a folder's entries are listed as deletions, with partOf). */
  replaces?: EntryType;
  /** A deletion that comes with the replacement of the folder above it (the path of that replaced change). */
  partOf?: string;
  risky: boolean;
  reasons: string[];
  /** Why it conflicts: the human changed SRC's entry after the agent first changed it. */
  conflict?: string;
  /** Why `au accept` will never apply it. */
  refused?: string;
}

/** A change with what applying it needs: the raw names, and what was seen when listing. */
export interface StagedChange extends Change {
  names: Buffer[];
  /** renamed: the raw names of the old path, and its inode in SRC. */
  fromNames?: Buffer[];
  fromSourceIno?: bigint;
  /** The upper entry's inode at listing (undefined for a deletion inside an opaque directory). */
  upperIno?: bigint;
  /** SRC's entry at listing: its inode and ctime, to see a change made since. */
  sourceIno?: bigint;
  sourceCtime?: bigint;
  /** The raw symlink target. */
  targetBytes?: Buffer;
  /**
   * Below an opaque folder of the upper layer: overlay shows nothing of SRC there, so the upper
   * entry must stay until the folder stops hiding anything (accept.ts).
   */
  underOpaque?: boolean;
}

/** An opaque folder of the upper layer, and how many of SRC's entries it hides (deletions not yet applied). */
export interface OpaqueDir {
  names: Buffer[];
  hides: number;
}

/** Where one review share keeps its layers. */
export interface ShareStage {
  /** STAGE: holds upper/ and work/, owned by the human. */
  stage: string;
  /** SRC: the human's folder (the overlay's lower layer). */
  source: string;
  humanUid: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A component as text; invalid UTF-8 bytes as \xNN (and the name is refused). */
function nameText(name: Buffer): { text: string; valid: boolean } {
  try {
    return { text: decoder.decode(name), valid: true };
  } catch {
    let text = '';
    for (const b of name) text += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    return { text, valid: false };
  }
}

const typeOf = (st: BigIntStats): EntryType =>
  st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
const permissions = (st: BigIntStats): number => Number(st.mode & 0o7777n);

const CHUNK = 1 << 16;

/** Whether two open files have the same bytes (sizes already equal). */
export function sameBytes(a: number, b: number): boolean {
  const x = Buffer.allocUnsafe(CHUNK);
  const y = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = readSync(a, x, 0, CHUNK, null);
    let m = 0;
    while (m < n) {
      const k = readSync(b, y, m, n - m, null);
      if (k === 0) return false;
      m += k;
    }
    if (n === 0) return readSync(b, y, 0, 1, null) === 0;
    if (!x.subarray(0, n).equals(y.subarray(0, n))) return false;
  }
}

function readAll(fd: number, limit: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    const n = readSync(fd, chunk, 0, CHUNK, null);
    if (n === 0) return Buffer.concat(parts, total);
    total += n;
    if (total > limit) return undefined;
    parts.push(chunk.subarray(0, n));
  }
}

/** Up to LIMIT bytes from the start of FD. */
function readHead(fd: number, limit: number): Buffer {
  const head = Buffer.allocUnsafe(limit);
  let total = 0;
  for (let n = -1; n !== 0 && total < limit; total += n) n = readSync(fd, head, total, limit - total, null);
  return head.subarray(0, total);
}

function hashOf(fd: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = readSync(fd, chunk, 0, CHUNK, null);
    if (n === 0) return hash.digest('hex');
    hash.update(chunk.subarray(0, n));
  }
}

/** Opens NAME in DIRFD as a regular file, checking (fstat) it is the inode that was listed. */
export function openListed(dirFd: number, name: Buffer, ino: bigint): number {
  const fd = openFileAt(dirFd, name);
  const st = fstat(fd);
  if (!st.isFile() || st.ino !== ino) {
    closeSync(fd);
    throw new AuError(`${name.toString()} changed while it was being read`);
  }
  return fd;
}

const MAX_PACKAGE_JSON = 4 << 20;

/**
 * A symlink target, read as a path inside the share from the link's folder: whether it leaves
 * the share (absolute, or `..` past the root). The agent sees the share at another path than
 * SRC, so an absolute target never means a file of the share.
 */
export function targetLeavesShare(linkComponents: readonly string[], target: string): boolean {
  if (target.startsWith('/') || target === '') return true;
  // Any '..' is refused, even one that stays inside lexically: through another symlink ("a -> .",
  // then "a/../x") it climbs from wherever that link leads. Without '..', a relative target only
  // ever goes down from the link's folder, through links that (checked the same way) go down too.
  if (target.split('/').includes('..')) return true;
  const resolved = posix.normalize(posix.join('.', ...linkComponents.slice(0, -1), target));
  return resolved === '..' || resolved.startsWith('../');
}

/** Folders deeper than this are not read: the entry there is listed as refused (no deep tree can exhaust the stack or fds). */
export const MAX_DEPTH = 256;

/** The addon reads overlay's opaque marker (an xattr): without it deletions would go unseen. */
function requireNative(): NonNullable<ReturnType<typeof loadNative>> {
  const native = loadNative();
  if (!native) throw new AuError('reading a review share needs the native addon, which is not built (run npm run build)');
  return native;
}

/**
 * Whether any component TARGET resolves (from the link's folder) is a symlink in the upper layer
 * or in SRC: the target would then lead wherever that link does, which this check cannot see.
 * A component that cannot be looked up (absent, or below a file) resolves through nothing.
 */
function resolvesThroughSymlink(roots: { upperFd: number; sourceFd: number }, linkNames: readonly Buffer[], target: Buffer): boolean {
  const steps = target
    .toString('latin1')
    .split('/')
    .filter((c) => c !== '' && c !== '.');
  const base = linkNames.slice(0, -1);
  for (let i = 0; i < steps.length; i++) {
    const names = [...base, ...steps.slice(0, i + 1).map((c) => Buffer.from(c, 'latin1'))];
    if (!names.every(isComponent)) return true;
    for (const root of [roots.upperFd, roots.sourceFd]) {
      try {
        if (openParent(root, names, (dir) => lstatAt(dir, names[names.length - 1]!))?.isSymbolicLink()) return true;
      } catch (error) {
        // ELOOP: a folder on the way is a symlink (openDirAt never follows one).
        if ((error as NodeJS.ErrnoException).code === 'ELOOP') return true;
      }
    }
  }
  return false;
}

class Scan {
  /** BASE: when au first saw each upper entry (base.ts); without it, the entries' own birth times. */
  constructor(
    private readonly roots: { upperFd: number; sourceFd: number },
    private readonly base?: StageBase,
  ) {}

  readonly changes: StagedChange[] = [];
  /** Regular files of the upper layer: inode -> names seen, and its link count. */
  private readonly links = new Map<bigint, { seen: StagedChange[]; nlink: bigint }>();
  private readonly native = requireNative();
  readonly opaqueDirs: OpaqueDir[] = [];
  /** How many opaque folders the walk is below (overlay looks into no lower layer there), and how many entries of SRC they hide. */
  private hiding = 0;
  private hidden = 0;

  /** The earliest time the agent is known to have changed the upper entry at NAMES. */
  private since(names: readonly Buffer[], st: BigIntStats): bigint {
    return this.base ? this.base.since(names, st) : firstChanged(st);
  }

  /** Compares one upper directory with SRC's (undefined when SRC has none there). */
  walk(upperFd: number, sourceFd: number | undefined, names: Buffer[], opaque: boolean, opaqueSince: bigint): void {
    const seen = new Set<string>();
    for (const name of listDir(upperFd)) {
      seen.add(name.toString('latin1'));
      const st = lstatAt(upperFd, name);
      if (!st) continue;
      const src = sourceFd === undefined ? undefined : lstatAt(sourceFd, name);
      this.base?.note([...names, name], st, src);
      this.entry(upperFd, sourceFd, [...names, name], name, st, src);
    }
    if (opaque && sourceFd !== undefined) {
      // An opaque directory hides all of SRC's: what upper lacks, the agent deleted.
      for (const name of listDir(sourceFd)) {
        if (seen.has(name.toString('latin1'))) continue;
        const src = lstatAt(sourceFd, name);
        if (src) {
          this.hidden++;
          this.deleted([...names, name], src, opaqueSince);
        }
      }
    }
  }

  private entry(
    upperFd: number,
    sourceFd: number | undefined,
    names: Buffer[],
    name: Buffer,
    st: BigIntStats,
    src: BigIntStats | undefined,
  ): void {
    if (isWhiteout(st)) {
      // A whiteout over nothing hides nothing (SRC lost the entry since): no change.
      if (src) this.deleted(names, src, this.since(names, st));
      return;
    }
    try {
      if (st.isDirectory()) return this.directory(upperFd, sourceFd, names, name, st, src);
      if (st.isSymbolicLink()) return this.symlink(upperFd, sourceFd, names, name, st, src);
      if (st.isFile()) return this.file(upperFd, sourceFd, names, name, st, src);
    } catch (error) {
      // The agent can chmod 000 what it staged: that entry is refused, the listing goes on.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw error;
      this.base?.keepUnder(names);
      const mode = permissions(st);
      this.push(
        names,
        {
          kind: src ? 'modified' : 'added',
          type: typeOf(st),
          size: st.isFile() ? Number(st.size) : 0,
          mode,
          refused: `it cannot be read (${code}, mode ${mode.toString(8).padStart(4, '0')})`,
        },
        st,
        src,
      );
      return;
    }
    this.push(
      names,
      { kind: 'added', type: 'other', size: 0, refused: 'not a regular file, directory or symlink (a device, FIFO or socket)' },
      st,
      src,
    );
  }

  private directory(
    upperFd: number,
    sourceFd: number | undefined,
    names: Buffer[],
    name: Buffer,
    st: BigIntStats,
    src: BigIntStats | undefined,
  ): void {
    if (names.length >= MAX_DEPTH) {
      this.push(
        names,
        {
          kind: src?.isDirectory() ? 'modified' : 'added',
          type: 'directory',
          size: 0,
          mode: permissions(st),
          refused: `more than ${MAX_DEPTH} folders deep: au does not read it (au discard drops it)`,
        },
        st,
        src,
      );
      return;
    }
    withDir(openDirAt(upperFd, name), (dirFd) => {
      const opaque = this.native.fgetxattr(dirFd, 'user.overlay.opaque')?.toString() === 'y';
      if (src?.isDirectory() && sourceFd !== undefined) {
        if (permissions(src) !== permissions(st))
          this.push(names, { kind: 'mode', type: 'directory', size: 0, mode: permissions(st), oldMode: permissions(src) }, st, src);
        // Below an opaque folder, every folder hides SRC's: overlay looks into the lower layer no more.
        const hides = opaque || this.hiding > 0;
        const before = this.hidden;
        if (hides) this.hiding++;
        try {
          withDir(openDirAt(sourceFd, name), (childSource) => this.walk(dirFd, childSource, names, hides, this.since(names, st)));
        } finally {
          if (hides) this.hiding--;
        }
        if (opaque) this.opaqueDirs.push({ names, hides: this.hidden - before });
        return;
      }
      const replaced = src !== undefined && sourceFd !== undefined ? this.replacing(sourceFd, names, name, src, st) : {};
      this.push(names, { kind: src ? 'replaced' : 'added', type: 'directory', size: 0, mode: permissions(st), ...replaced }, st, src);
      this.walk(dirFd, undefined, names, false, 0n);
    });
  }

  private symlink(
    upperFd: number,
    sourceFd: number | undefined,
    names: Buffer[],
    name: Buffer,
    st: BigIntStats,
    src: BigIntStats | undefined,
  ): void {
    const targetBytes = readlinkSync(at(upperFd, name), { encoding: 'buffer' });
    if (src?.isSymbolicLink() && sourceFd !== undefined && readlinkSync(at(sourceFd, name), { encoding: 'buffer' }).equals(targetBytes))
      return;
    const target = nameText(targetBytes).text;
    const components = names.map((n) => nameText(n).text);
    const refused = targetLeavesShare(components, target)
      ? `its target ${target} is outside the share or may lead out of it (absolute, or with a '..' component)`
      : resolvesThroughSymlink(this.roots, names, targetBytes)
        ? `its target ${target} leads through another symlink (it could lead outside the share)`
        : undefined;
    const replaced: { replaces?: EntryType } =
      src?.isDirectory() && sourceFd !== undefined ? this.replacing(sourceFd, names, name, src, st) : {};
    this.push(
      names,
      {
        kind: replaced.replaces ? 'replaced' : 'symlink',
        type: 'symlink',
        size: targetBytes.length,
        target,
        ...replaced,
        ...(refused ? { refused } : {}),
      },
      st,
      src,
      { targetBytes },
    );
  }

  private file(
    upperFd: number,
    sourceFd: number | undefined,
    names: Buffer[],
    name: Buffer,
    st: BigIntStats,
    src: BigIntStats | undefined,
  ): void {
    const mode = permissions(st);
    const isPackageJson = name.toString('latin1') === 'package.json';
    let newContent: Buffer | undefined;
    let oldContent: Buffer | undefined;
    let change: Partial<StagedChange>;
    if (src?.isFile() && sourceFd !== undefined) {
      const same =
        st.size === src.size &&
        withFd(openListed(upperFd, name, st.ino), (u) => withFd(openListed(sourceFd, name, src.ino), (s) => sameBytes(u, s)));
      if (same && mode === permissions(src)) return; // copied up, not changed
      change = same
        ? { kind: 'mode', type: 'file', size: Number(st.size), mode, oldMode: permissions(src) }
        : {
            kind: 'modified',
            type: 'file',
            size: Number(st.size),
            mode,
            ...(mode !== permissions(src) ? { oldMode: permissions(src) } : {}),
          };
      if (isPackageJson && !same) oldContent = withFd(openListed(sourceFd, name, src.ino), (s) => readAll(s, MAX_PACKAGE_JSON));
    } else {
      const replaced: { replaces?: EntryType } =
        src?.isDirectory() && sourceFd !== undefined ? this.replacing(sourceFd, names, name, src, st) : {};
      change = {
        kind: replaced.replaces ? 'replaced' : src ? 'modified' : 'added',
        type: 'file',
        size: Number(st.size),
        mode,
        ...replaced,
      };
    }
    // What --diff shows is decided on the same head (isBinary): content it hides is risky.
    const head = change.kind === 'mode' ? undefined : withFd(openListed(upperFd, name, st.ino), (u) => readHead(u, BINARY_HEAD));
    if (isPackageJson && change.kind !== 'mode')
      newContent = withFd(openListed(upperFd, name, st.ino), (u) => readAll(u, MAX_PACKAGE_JSON)) ?? Buffer.from('{');
    const staged = this.push(
      names,
      { ...change, diskSize: Number(st.blocks * 512n) },
      st,
      src,
      {},
      { oldContent, newContent: newContent ?? (isPackageJson ? Buffer.from('{}') : undefined), head },
    );
    const large = largeFileReason(st);
    if (large) {
      staged.reasons.push(large);
      staged.risky = true;
    }
    const entry = this.links.get(st.ino) ?? { seen: [], nlink: st.nlink };
    entry.seen.push(staged);
    this.links.set(st.ino, entry);
  }

  private deleted(names: Buffer[], src: BigIntStats, since: bigint, partOf?: string): void {
    const staged = this.push(
      names,
      { kind: 'deleted', type: typeOf(src), size: src.isFile() ? Number(src.size) : 0, ...(partOf !== undefined ? { partOf } : {}) },
      undefined,
      src,
    );
    if (src.ctimeNs > since && since > 0n) staged.conflict = 'you changed it after the agent deleted it';
  }

  /**
   * The agent put an entry of another type where SRC has SRC's entry NAME: what goes when it is
   * applied. A folder of SRC goes with everything in it: each entry is listed as a deletion that
   * is part of the replacement (walked with an explicit stack, to MAX_DEPTH).
   */
  private replacing(sourceFd: number, names: Buffer[], name: Buffer, src: BigIntStats, st: BigIntStats): { replaces: EntryType } {
    if (!src.isDirectory()) return { replaces: typeOf(src) };
    const partOf = names.map((n) => nameText(n).text).join('/');
    const since = this.since(names, st);
    const stack: { fd: number; names: Buffer[] }[] = [];
    try {
      stack.push({ fd: openDirAt(sourceFd, name), names });
      while (stack.length > 0) {
        const { fd, names: dirNames } = stack.pop()!;
        try {
          for (const entry of listDir(fd)) {
            const est = lstatAt(fd, entry);
            if (!est) continue;
            const entryNames = [...dirNames, entry];
            this.deleted(entryNames, est, since, partOf);
            if (est.isDirectory() && entryNames.length < MAX_DEPTH) {
              try {
                stack.push({ fd: openDirAt(fd, entry), names: entryNames });
              } catch {
                /* unreadable folder of the human's: listed itself, its content not */
              }
            }
          }
        } finally {
          closeSync(fd);
        }
      }
    } catch {
      /* SRC's folder cannot be read: the replacement itself is listed */
    } finally {
      for (const { fd } of stack) closeSync(fd);
    }
    return { replaces: 'directory' };
  }

  /** Records a change: its path, risks and whether the human changed SRC's entry since. */
  push(
    names: Buffer[],
    fields: Partial<StagedChange>,
    st: BigIntStats | undefined,
    src: BigIntStats | undefined,
    extra: Partial<StagedChange> = {},
    contents: { oldContent?: Buffer; newContent?: Buffer; head?: Buffer } = {},
  ): StagedChange {
    const texts = names.map(nameText);
    const components = texts.map((t) => t.text);
    const type = fields.type ?? 'other';
    const kind = fields.kind ?? 'added';
    const reasons = riskReasons({
      components,
      type,
      deleted: kind === 'deleted',
      oldMode: src ? permissions(src) : undefined,
      newMode: fields.mode,
      ...contents,
    });
    const staged: StagedChange = {
      path: components.join('/'),
      kind,
      type,
      size: fields.size ?? 0,
      ...fields,
      risky: reasons.length > 0,
      reasons,
      names,
      ...extra,
      ...(st ? { upperIno: st.ino } : {}),
      ...(src ? { sourceIno: src.ino, sourceCtime: src.ctimeNs } : {}),
      ...(this.hiding > 0 ? { underOpaque: true } : {}),
    };
    if (texts.some((t) => !t.valid)) staged.refused ??= 'its name is not valid UTF-8';
    // SRC's entry changed after the agent first changed it: later than the earliest birth time
    // au has seen (base.ts), or no longer the inode and ctime SRC had when au first saw it.
    const changedAfter = st !== undefined && src !== undefined && src.ctimeNs > this.since(names, st);
    const moved = type !== 'directory' && this.base?.sourceMoved(names, src) === true;
    if (st && kind !== 'deleted' && (changedAfter || moved) && !(kind === 'added' && type === 'directory')) {
      staged.conflict = 'you changed it after the agent did';
    }
    this.changes.push(staged);
    return staged;
  }

  /** Hard links: a file of the upper layer linked from outside it is refused (it may be any file of yours). */
  checkLinks(): void {
    for (const { seen, nlink } of this.links.values()) {
      if (BigInt(seen.length) < nlink)
        for (const c of seen) c.refused ??= `a hard link to a file outside the staging layer (${nlink} links, ${seen.length} here)`;
    }
  }
}

export function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opens STAGE/upper and SRC, checking both are the human's. */
function openLayers(where: ShareStage): { upperFd: number; sourceFd: number } | undefined {
  let stageFd: number;
  try {
    stageFd = openDirNoFollow(where.stage);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AuError(`cannot open the staging directory ${where.stage}: ${(error as Error).message}`);
  }
  return withDir(stageFd, () => {
    if (fstat(stageFd).uid !== BigInt(where.humanUid))
      throw new AuError(`the staging directory ${where.stage} is not owned by you: refusing to read it`);
    let upperFd: number;
    try {
      upperFd = openDirAt(stageFd, Buffer.from('upper'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AuError(`cannot open ${where.stage}/upper: ${(error as Error).message}`);
    }
    let sourceFd: number;
    try {
      sourceFd = openDirNoFollow(where.source);
    } catch (error) {
      closeSync(upperFd);
      throw new AuError(`cannot open the shared folder ${where.source} (no symlink may lead to it): ${(error as Error).message}`);
    }
    return { upperFd, sourceFd };
  });
}

/** Pairs each deleted file with an added file of the same bytes: reported as one rename. */
function findRenames(changes: StagedChange[], where: { upperFd: number; sourceFd: number }): StagedChange[] {
  // A deletion that goes with a replacement is applied with it, never as half of a rename.
  const deleted = changes.filter((c) => c.kind === 'deleted' && c.type === 'file' && !c.refused && c.partOf === undefined);
  const added = changes.filter((c) => c.kind === 'added' && c.type === 'file' && !c.refused && !c.conflict);
  if (deleted.length === 0 || added.length === 0) return changes;
  const hashAt = (rootFd: number, names: Buffer[], ino: bigint | undefined): string | undefined => {
    try {
      return openParent(rootFd, names, (dirFd) => withFd(openListed(dirFd, names[names.length - 1]!, ino ?? -1n), hashOf));
    } catch {
      return undefined;
    }
  };
  const gone = new Set<StagedChange>();
  for (const add of added) {
    const candidates = deleted.filter((d) => !gone.has(d) && d.size === add.size);
    if (candidates.length === 0) continue;
    const addHash = hashAt(where.upperFd, add.names, add.upperIno);
    const match = candidates.find((d) => addHash !== undefined && hashAt(where.sourceFd, d.names, d.sourceIno) === addHash);
    if (!match) continue;
    gone.add(match);
    add.kind = 'renamed';
    add.from = match.path;
    add.fromNames = match.names;
    add.fromSourceIno = match.sourceIno;
    const reasons = [...new Set([...add.reasons, ...match.reasons])];
    add.reasons = reasons;
    add.risky = reasons.length > 0;
    if (match.conflict) add.conflict = match.conflict;
  }
  return changes.filter((c) => !gone.has(c));
}

/** Runs FN on the directory that holds NAMES' last component, walked from ROOTFD without following symlinks. */
export function openParent<T>(rootFd: number, names: readonly Buffer[], fn: (dirFd: number) => T): T {
  let fd = -1;
  try {
    for (const name of names.slice(0, -1)) {
      const next = openDirAt(fd === -1 ? rootFd : fd, name);
      if (fd !== -1) closeSync(fd);
      fd = next;
    }
    return fn(fd === -1 ? rootFd : fd);
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

const byPath = (a: StagedChange, b: StagedChange): number => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/** Both layers open (fds), and what they hold: what accepting and discarding work on. */
export interface OpenLayers {
  upperFd: number;
  sourceFd: number;
  changes: StagedChange[];
}

/** The changes, and the opaque folders of the upper layer. */
export function scanLayers(
  layers: { upperFd: number; sourceFd: number },
  base?: StageBase,
): { changes: StagedChange[]; opaqueDirs: OpaqueDir[] } {
  const s = new Scan(layers, base);
  s.walk(layers.upperFd, layers.sourceFd, [], false, 0n);
  s.checkLinks();
  return { changes: findRenames(s.changes, layers).sort(byPath), opaqueDirs: s.opaqueDirs };
}

/** Runs FN with the layers open and scanned; undefined when nothing was ever staged. */
export function withLayers<T>(where: ShareStage, fn: (layers: OpenLayers) => T): T | undefined {
  const layers = openLayers(where);
  if (!layers) return undefined;
  try {
    // Every look at the stage notes its entries (base.ts): a conflict survives the agent re-creating its file.
    const base = StageBase.load(where.stage);
    const changes = scanLayers(layers, base).changes;
    base.save();
    return fn({ ...layers, changes });
  } finally {
    closeSync(layers.upperFd);
    closeSync(layers.sourceFd);
  }
}

/** Every staged change of one review share, sorted by path (none when nothing is staged). */
export function scanStage(where: ShareStage): StagedChange[] {
  return withLayers(where, (layers) => layers.changes) ?? [];
}

/** The changes without what only applying needs (raw names, inodes). */
export function publicChange(c: StagedChange): Change {
  const {
    names: _n,
    fromNames: _f,
    fromSourceIno: _fs,
    upperIno: _u,
    sourceIno: _s,
    sourceCtime: _c,
    targetBytes: _t,
    underOpaque: _o,
    ...change
  } = c;
  return change;
}

export function listChanges(where: ShareStage): Change[] {
  return scanStage(where).map(publicChange);
}

/** Where a review mount of AGENTNAME keeps its staged changes (undefined: not a review share). */
export function shareStageOf(agentName: string, mount: MountConfig, human: Pick<Human, 'uid'>): ShareStage | undefined {
  if (mount.review === undefined) return undefined;
  return { stage: stageDir(agentName, human.uid, mount.review), source: mount.source, humanUid: human.uid };
}

/** How many changes await review in one share (0 when it is not a review share, or nothing is staged). */
export function countChanges(agentName: string, mount: MountConfig, human: Pick<Human, 'uid'>): number {
  const where = shareStageOf(agentName, mount, human);
  return where ? scanStage(where).length : 0;
}
