// A digest of what `au changes` listed, so that `au accept --expect DIGEST` applies only what the
// human reviewed: a later run may swap the bytes of a file already looked at (same path, same
// size). Each change counts with every field the listing shows and, for a staged file, a hash
// of its bytes (sparse.ts: holes are not read). Any difference, even in a flag, changes it.
import { createHash } from 'node:crypto';
import { type StagedChange, openListed, openParent, publicChange, withFd } from './changes.js';
import { sparseHash } from './sparse.js';
import { fstat } from './fd-path.js';

/** Hex digits shown: 80 bits, beyond any search for a second listing with the same digest. */
const SHOWN = 20;

/** One change's part of the digest. */
function changeHash(upperFd: number, c: StagedChange): string {
  const { diskSize: _d, ...shown } = publicChange(c);
  const hash = createHash('sha256').update(JSON.stringify(shown));
  if (c.type === 'file' && c.kind !== 'deleted' && c.upperIno !== undefined) {
    let content: string;
    try {
      content = openParent(upperFd, c.names, (dir) =>
        withFd(openListed(dir, c.names[c.names.length - 1]!, c.upperIno!), (fd) => sparseHash(fd, Number(fstat(fd).size))),
      );
    } catch (error) {
      content = `unreadable ${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
    hash.update(`\0${content}`);
  }
  return hash.digest('hex');
}

/** Per change, its part of the digest (read now, from the upper layer). */
export function changeHashes(upperFd: number, changes: readonly StagedChange[]): Map<StagedChange, string> {
  return new Map(changes.map((c) => [c, changeHash(upperFd, c)]));
}

/** The digest of a list of changes, from their parts, in order. */
export function digestOf(parts: readonly string[]): string {
  const hash = createHash('sha256').update(`au-review-listing ${parts.length}\n`);
  for (const part of parts) hash.update(`${part}\n`);
  return hash.digest('hex').slice(0, SHOWN);
}

/** The digest of CHANGES, read from the upper layer now. */
export function listingDigest(upperFd: number, changes: readonly StagedChange[]): string {
  const parts = changeHashes(upperFd, changes);
  return digestOf(changes.map((c) => parts.get(c)!));
}
