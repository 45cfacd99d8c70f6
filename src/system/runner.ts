// The only way `au` changes the machine: every system-changing command goes through a
// CommandRunner, which prints it (`$ sudo useradd ...`) on stderr before running it and
// honours --dry-run. Read-only queries (getent, getfacl) use `query`, which prints nothing.
import { AuError } from '../errors.js';
import { lazyRequire } from './lazy-require.js';
import { shellQuote } from './shell-quote.js';

export interface StepOptions {
  /** Needs root: prefixed with sudo when au is not already root. */
  privileged?: boolean;
  /** Data written to the command's stdin. */
  input?: string;
  /** Failure is expected and tolerated (cleanup of what may already be gone). */
  allowFailure?: boolean;
  /** Print a one-line `input` too, as `echo INPUT | COMMAND`, so the printed line says what is written. */
  showInput?: boolean;
  /** Lines of the command's stderr that are noise to the user (still kept in the result). */
  hideStderr?: RegExp;
}

export interface StepResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  readonly dryRun: boolean;
  /** Runs a system-changing command, printed first. Throws SystemCommandError on failure unless allowFailure. */
  change(argv: readonly string[], options?: StepOptions): StepResult;
  /** Runs a read-only query quietly; never throws for a non-zero exit. */
  query(argv: readonly string[], options?: { privileged?: boolean }): StepResult;
  /**
   * Prints a change au makes in-process (not by running a program) as the command line it is
   * equivalent to; returns whether to make it (false under --dry-run).
   */
  announce(argv: readonly string[]): boolean;
}

export class SystemCommandError extends AuError {
  constructor(
    readonly argv: readonly string[],
    readonly result: StepResult,
  ) {
    const detail = result.stderr.trim().split('\n').pop() ?? '';
    super(`command failed (exit ${result.status}): ${shellQuote(argv)}${detail ? `: ${detail}` : ''}`);
  }
}

const isRoot = (): boolean => process.geteuid?.() === 0;

export function withSudo(argv: readonly string[], privileged: boolean | undefined): string[] {
  return privileged && !isRoot() ? ['sudo', ...argv] : [...argv];
}

export class ProcessRunner implements CommandRunner {
  constructor(
    readonly dryRun: boolean,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  change(argv: readonly string[], options: StepOptions = {}): StepResult {
    const full = withSudo(argv, options.privileged);
    const shown = options.showInput && options.input !== undefined ? `echo ${shellQuote([options.input.replace(/\n$/, '')])} | ` : '';
    this.log(`$ ${shown}${shellQuote(full)}`);
    if (this.dryRun) return { status: 0, stdout: '', stderr: '' };
    const result = execute(full, options.input, options.hideStderr ?? true);
    if (result.status !== 0 && !options.allowFailure) throw new SystemCommandError(full, result);
    return result;
  }

  query(argv: readonly string[], options: { privileged?: boolean } = {}): StepResult {
    return execute(withSudo(argv, options.privileged), undefined, false);
  }

  announce(argv: readonly string[]): boolean {
    this.log(`$ ${shellQuote(argv)}`);
    return !this.dryRun;
  }
}

/** `show`: print the command's stderr (a pattern: all but the lines it matches). */
function execute(argv: readonly string[], input: string | undefined, show: boolean | RegExp): StepResult {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const { spawnSync } = lazyRequire('node:child_process') as typeof import('node:child_process');
  const child = spawnSync(file, args, {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.error) {
    return { status: 127, stdout: '', stderr: `${file}: ${child.error.message}` };
  }
  const stderr = child.stderr ?? '';
  const shown =
    show instanceof RegExp
      ? stderr
          .split(/(?<=\n)/)
          .filter((line) => !show.test(line))
          .join('')
      : show
        ? stderr
        : '';
  if (shown) process.stderr.write(shown);
  return { status: child.status ?? 128 + 1, stdout: child.stdout ?? '', stderr };
}

/** A runner that records instead of running: for unit tests and plans. */
export class RecordingRunner implements CommandRunner {
  readonly dryRun = false;
  readonly changes: string[][] = [];
  constructor(private readonly answers: (argv: readonly string[]) => StepResult = () => ({ status: 0, stdout: '', stderr: '' })) {}

  change(argv: readonly string[], options: StepOptions = {}): StepResult {
    const full = withSudo(argv, options.privileged);
    this.changes.push(full);
    return this.answers(full);
  }

  query(argv: readonly string[]): StepResult {
    return this.answers(argv);
  }

  /** Recorded like a change, never made (a recording changes nothing). */
  announce(argv: readonly string[]): boolean {
    this.changes.push([...argv]);
    return false;
  }
}
