// Sparse files in the upper layer: `truncate -s 1T` costs the agent nothing in STAGE, so au
// never reads or writes a hole byte by byte. Copying goes data segment by data segment
// (lseek SEEK_DATA/SEEK_HOLE, native addon) and the destination gets its holes back from
// ftruncate; hashing covers the segments and where they lie, never the holes' zeros.
import { type BigIntStats, ftruncateSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { AuError } from '../errors.js';
import { loadNative } from '../system/native.js';

/** Apparent size above which a staged file is risky: never applied unless named (A5, disk filling). */
export const LARGE_FILE = 100 << 20;

export function largeFileReason(st: BigIntStats): string | undefined {
  if (st.size <= BigInt(LARGE_FILE)) return undefined;
  return `a very large file (${(Number(st.size) / (1 << 20)).toFixed(0)} MiB, ${(Number(st.blocks * 512n) / (1 << 20)).toFixed(1)} MiB on disk)`;
}

/** The data segments [start, end) of FD, in order, up to SIZE. */
function* segments(fd: number, size: number): Generator<[number, number]> {
  const native = loadNative();
  if (!native) throw new AuError('copying a staged file needs the native addon, which is not built (run npm run build)');
  let offset = 0;
  while (offset < size) {
    const start = native.seekData(fd, offset, false);
    if (start < 0 || start >= size) return;
    const end = Math.min(native.seekData(fd, start, true), size);
    yield [start, end];
    offset = end;
  }
}

const CHUNK = 1 << 20;

/** Reads FD's data segments (SIZE bytes apparent), giving each piece with its offset. */
function forEachPiece(fd: number, size: number, fn: (piece: Buffer, position: number) => void): void {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (const [start, end] of segments(fd, size)) {
    for (let position = start; position < end;) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, end - position), position);
      if (n === 0) throw new AuError('a staged file shrank while it was read');
      fn(buffer.subarray(0, n), position);
      position += n;
    }
  }
}

/** Copies FROM (SIZE bytes) into the empty file TO, keeping holes. */
export function copySparse(from: number, to: number, size: number): void {
  forEachPiece(from, size, (piece, position) => {
    for (let off = 0; off < piece.length;) off += writeSync(to, piece, off, piece.length - off, position + off);
  });
  ftruncateSync(to, size);
}

/** SHA-256 of FD's bytes as (offset, data) segments and its size: equal files, equal layout, equal hash. */
export function sparseHash(fd: number, size: number): string {
  const hash = createHash('sha256');
  hash.update(`size ${size}\n`);
  forEachPiece(fd, size, (piece, position) => {
    hash.update(`at ${position} ${piece.length}\n`);
    hash.update(piece);
  });
  return hash.digest('hex');
}
