// Mapping failures to one line on stderr and an exit code: 2 for usage errors (the input was
// wrong), 1 for failures (the input was fine, something else was not).
import { InvalidNameError } from '../agents/names.js';
import { EnvError } from '../run/environment.js';
import { ShareError } from '../mounts/shares.js';
import { LimitError } from '../limits/limits.js';
import { NetPolicyError } from '../net/policy.js';
import { paint } from './output.js';

export class UsageError extends Error {}
/** Ends the command with an exit code and no message (the message was already printed). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof ExitCode) return error.code;
  if (error instanceof UsageError || error instanceof InvalidNameError || error instanceof EnvError || error instanceof ShareError || error instanceof LimitError || error instanceof NetPolicyError) return 2;
  return 1;
}

export function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Prints the one-line error (unless already printed) and returns the exit code. */
export function reportFailure(error: unknown): number {
  if (!(error instanceof ExitCode)) process.stderr.write(`${paint('au: error:', 'red', process.stderr)} ${describe(error)}\n`);
  return exitCodeFor(error);
}
