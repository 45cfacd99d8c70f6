// When the agent first changed each entry of a review share's upper layer, as au saw it: the
// conflict check ("you changed it after the agent did") compares SRC's ctime with this, not with
// the upper inode's birth time alone, which the agent resets at will (cp + mv, or re-creating a
// whiteout). Kept in STAGE/base.json: STAGE is the human's (0700), outside the upper layer, so
// the agent cannot reach it. Every look at the stage (a run's start, au changes/accept/discard,
// au sessions list) notes each entry: a new one with its birth time (and SRC's inode and ctime
// then), a known one keeping the EARLIEST birth time; entries gone from the upper layer are
// dropped. What remains: a re-creation within one run, before au has seen the entry at all.
import { type BigIntStats, closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fstat, listDir, lstatAt, openDirAt, openDirNoFollow, withDir } from './fd-path.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
const FILE = 'base.json';

/** What au recorded of one upper entry when it first saw it. */
interface Noted {
  /** The earliest birth time (ns) seen for the entry at this path. */
  birth: bigint;
  /** SRC's entry then (absent: SRC had none). */
  sourceIno?: bigint;
  sourceCtime?: bigint;
}

type Stored = [string, string | null, string | null];

/** When the agent first changed an entry: its birth time where the filesystem keeps one, else its ctime. */
export const firstChanged = (st: BigIntStats): bigint => (st.birthtimeNs > 0n ? st.birthtimeNs : st.ctimeNs);

const keyOf = (names: readonly Buffer[]): string =>
  Buffer.concat(names.flatMap((n, i) => (i === 0 ? [n] : [Buffer.from('/'), n]))).toString('latin1');

export class StageBase {
  private readonly seen = new Set<string>();
  private dirty = false;

  private constructor(
    private readonly stage: string,
    private readonly entries: Map<string, Noted>,
  ) {}

  /** STAGE's record (empty when there is none yet, or it does not parse). */
  static load(stage: string): StageBase {
    const entries = new Map<string, Noted>();
    try {
      const fd = openSync(join(stage, FILE), O_RDONLY | O_NOFOLLOW);
      let text: string;
      try {
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
      const parsed = JSON.parse(text) as { entries?: Record<string, Stored> };
      for (const [key, [birth, ino, ctime]] of Object.entries(parsed.entries ?? {})) {
        entries.set(key, {
          birth: BigInt(birth),
          ...(ino !== null && ctime !== null ? { sourceIno: BigInt(ino), sourceCtime: BigInt(ctime) } : {}),
        });
      }
    } catch {
      // None yet (or unreadable): every entry is noted as new.
    }
    return new StageBase(stage, entries);
  }

  /** Notes the upper entry at NAMES (ST) and SRC's there (SRC): new, or an earlier birth. */
  note(names: readonly Buffer[], st: BigIntStats, src: BigIntStats | undefined): void {
    const key = keyOf(names);
    this.seen.add(key);
    const known = this.entries.get(key);
    const birth = firstChanged(st);
    if (known && known.birth <= birth) return;
    this.entries.set(key, known ? { ...known, birth } : { birth, ...(src ? { sourceIno: src.ino, sourceCtime: src.ctimeNs } : {}) });
    this.dirty = true;
  }

  /** What is below NAMES could not be read: what was noted there stays. */
  keepUnder(names: readonly Buffer[]): void {
    const prefix = `${keyOf(names)}/`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.seen.add(key);
  }

  /** The earliest time the agent is known to have changed the entry at NAMES (ST: the entry now). */
  since(names: readonly Buffer[], st: BigIntStats): bigint {
    const known = this.entries.get(keyOf(names))?.birth;
    const now = firstChanged(st);
    return known !== undefined && known < now ? known : now;
  }

  /** Whether SRC's entry at NAMES is no longer the one there when au first saw the agent's. */
  sourceMoved(names: readonly Buffer[], src: BigIntStats | undefined): boolean {
    const known = this.entries.get(keyOf(names));
    if (!known) return false;
    if (known.sourceIno === undefined) return src !== undefined;
    return src === undefined || src.ino !== known.sourceIno || src.ctimeNs !== known.sourceCtime;
  }

  /** Writes the record (atomically: a new file renamed over it), dropping entries not seen. */
  save(): void {
    for (const key of this.entries.keys()) {
      if (!this.seen.has(key)) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
    if (!this.dirty) return;
    const stored: Record<string, Stored> = {};
    for (const [key, n] of this.entries)
      stored[key] = [
        String(n.birth),
        n.sourceIno === undefined ? null : String(n.sourceIno),
        n.sourceCtime === undefined ? null : String(n.sourceCtime),
      ];
    const temp = join(this.stage, `.${FILE}.${process.pid}.${Date.now()}`);
    const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      const bytes = Buffer.from(JSON.stringify({ version: 1, entries: stored }));
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      unlinkSync(temp);
      throw error;
    }
    closeSync(fd);
    renameSync(temp, join(this.stage, FILE));
    this.dirty = false;
  }
}

/** Notes every entry below UPPERFD (SOURCEFD: SRC's folder there, if any). */
function noteTree(base: StageBase, upperFd: number, sourceFd: number | undefined, names: Buffer[]): void {
  for (const name of listDir(upperFd)) {
    const st = lstatAt(upperFd, name);
    if (!st) continue;
    const src = sourceFd === undefined ? undefined : lstatAt(sourceFd, name);
    const path = [...names, name];
    base.note(path, st, src);
    if (!st.isDirectory()) continue;
    let child: number;
    try {
      child = openDirAt(upperFd, name);
    } catch {
      base.keepUnder(path);
      continue;
    }
    withDir(child, (dir) => {
      let sourceChild: number | undefined;
      try {
        if (src?.isDirectory() && sourceFd !== undefined) sourceChild = openDirAt(sourceFd, name);
      } catch {
        sourceChild = undefined;
      }
      try {
        noteTree(base, dir, sourceChild, path);
      } finally {
        if (sourceChild !== undefined) closeSync(sourceChild);
      }
    });
  }
}

/**
 * Notes what the upper layer of STAGE holds now (at a run's start, and after au accept or discard).
 * Best effort: a stage au cannot walk is left as it was (au changes says why).
 */
export function noteStage(stage: string, source: string, humanUid: number): void {
  try {
    withDir(openDirNoFollow(stage), (stageFd) => {
      if (fstat(stageFd).uid !== BigInt(humanUid)) return;
      withDir(openDirAt(stageFd, Buffer.from('upper')), (upperFd) =>
        withDir(openDirNoFollow(source), (sourceFd) => {
          const base = StageBase.load(stage);
          noteTree(base, upperFd, sourceFd, []);
          base.save();
        }),
      );
    });
  } catch {
    // No stage yet (nothing staged), or one au cannot walk (the agent's chmod 000, a deep tree).
  }
}
