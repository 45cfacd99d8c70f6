// Mapping failures to one line on stderr and an exit code: 2 for usage errors (the input was
// wrong), 1 for failures (the input was fine, something else was not).
import { AuError, AuUsageError, fromSystemError } from '../errors.js';
import { paint, printable } from './output.js';

export class UsageError extends AuUsageError {}
/** Ends the command with an exit code and no message (the message was already printed). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof ExitCode) return error.code;
  if (error instanceof AuError) return error.usage ? 2 : 1;
  return 1;
}

/** A bare errno error that escaped (node:fs, spawn): named with its syscall, path and a fix. */
function fromErrno(error: Error): AuError | undefined {
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (!code || !syscall) return undefined;
  return fromSystemError(error, syscall, path ?? (error as { spawnargs?: string[] }).spawnargs?.[0] ?? '(unknown path)');
}

/** The one line shown for an error: what failed, and what to do about it when we know. */
export function describe(error: unknown): string {
  const known = error instanceof AuError ? error : error instanceof Error ? fromErrno(error) : undefined;
  const message = error instanceof Error ? (known ?? error).message : String(error);
  const line = message.split('\n')[0] ?? message;
  return known?.hint && !line.includes(known.hint) ? `${line}; ${known.hint}` : line;
}

/** Prints the one-line error (unless already printed) and returns the exit code. */
export function reportFailure(error: unknown): number {
  if (!(error instanceof ExitCode)) process.stderr.write(`${paint('au: error:', 'red', process.stderr)} ${printable(describe(error))}\n`);
  return exitCodeFor(error);
}
