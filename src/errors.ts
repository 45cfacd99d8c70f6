// The one error type of au: what failed (the operation and the path it was on), why, and what
// the user can do about it. `usage` errors mean the input was wrong (exit 2); every other
// error means the input was fine and something else was not (exit 1).
export interface AuErrorDetails {
  /** What au was doing, e.g. "write the config". */
  operation?: string;
  /** The file or directory it was doing it on. */
  path?: string;
  /** One short sentence: what to do about it. */
  hint?: string;
  /** True when the command line or the input was wrong (exit code 2). */
  usage?: boolean;
}

export class AuError extends Error {
  readonly operation?: string;
  readonly path?: string;
  readonly hint?: string;
  readonly usage: boolean;

  constructor(message: string, details: AuErrorDetails = {}) {
    super(message);
    this.operation = details.operation;
    this.path = details.path;
    this.hint = details.hint;
    this.usage = details.usage ?? false;
  }
}

/** Errors about bad input: the subclasses callers throw and catch by name. */
export class AuUsageError extends AuError {
  constructor(message: string, details: Omit<AuErrorDetails, 'usage'> = {}) {
    super(message, { ...details, usage: true });
  }
}

const ERRNO_HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free some space and run the command again',
  EDQUOT: 'your disk quota is used up: free some space and run the command again',
  EFBIG: 'the file is over the size limit (ulimit -f): raise it and run the command again',
  EACCES: 'you lack permission: check the owner and mode (ls -l) of the path',
  EPERM: 'the operation is not permitted: check the owner and mode (ls -l) of the path',
  ENOENT: 'it does not exist: check the path',
  EROFS: 'the filesystem is mounted read-only',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'the path is a directory, not a file',
  ELOOP: 'too many symbolic links (or a symbolic link where none is allowed)',
};

/** An errno error from node:fs turned into an AuError naming the operation, the path and a fix. */
export function fromSystemError(error: unknown, operation: string, path: string): AuError {
  if (error instanceof AuError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  // node's message is "ENOSPC: no space left on device, write": keep the part before the syscall.
  const reason = (error as Error).message.split(', ')[0];
  return new AuError(`cannot ${operation} ${path}: ${reason}`, { operation, path, hint: code ? ERRNO_HINTS[code] : undefined });
}
