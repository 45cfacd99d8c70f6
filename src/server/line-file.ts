// Appending whole lines to a file that may not take them (a full disk: ENOSPC; EIO; EFBIG).
// A write either lands whole or not at all: a short write is undone (the file is cut back to
// where the write began), so a reader never meets half a line. The caller counts what could
// not be written and says so (a gap marker) once writing works again. Nothing here throws.
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, writeSync } from 'node:fs';

/** The error code of a write that did not land, or undefined when it did. */
export type WriteFailure = string | undefined;

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** Writes `text` at the end of the file open on `fd` (O_APPEND), whole or not at all. */
export function appendWhole(fd: number, text: string): WriteFailure {
  const data = Buffer.from(text);
  let before: number;
  let written: number;
  try {
    before = fstatSync(fd).size;
    written = writeSync(fd, data);
  } catch (error) {
    return codeOf(error);
  }
  if (written === data.length) return undefined;
  // Short write: the disk took part of it. Cut that part back off, if the file ends where our
  // write ended (another writer, e.g. a second server of the same human, may have appended).
  try {
    const end = fstatSync(fd).size;
    if (end !== before + written) return 'ENOSPC (short write, not undone)';
    ftruncateSync(fd, before);
  } catch {
    return 'ENOSPC (short write, not undone)';
  }
  return 'ENOSPC (short write)';
}

/** fdatasync, reporting instead of throwing. */
export function syncQuietly(fd: number): WriteFailure {
  try {
    fdatasyncSync(fd);
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    /* closing a file of ours cannot fail in a way we could act on */
  }
}

/** What could not be written since writing last worked (a fragment left: the marker starts with a newline). */
export class Gap {
  lines = 0;
  bytes = 0;
  readonly kinds = new Map<string, number>();
  /** Whether a fragment may be left in the file (the marker then starts with a newline). */
  fragment = false;

  constructor(
    public error: string,
    readonly since = new Date(),
  ) {}

  add(kind: string, bytes: number, error: string): void {
    this.lines++;
    this.bytes += bytes;
    this.error = error;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (error.includes('not undone')) this.fragment = true;
  }
}

/**
 * A line for the server's log (stderr). When stderr is a file (server.log of `au server run -d`),
 * a full disk makes process.stderr raise its error as an uncaught exception (which would end the
 * server and every session): the line is written to fd 2 directly, and dropped if the disk does
 * not take it (the record itself marks its gaps).
 */
export function logQuietly(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    /* the log is best effort */
  }
}
