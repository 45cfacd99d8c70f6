// Where a secret's value comes from: the human's environment, or a command run as the human
// (`secret-tool lookup service anthropic`, `pass show api/openai`) with a timeout and no
// shell, whose first line of output is the value. Values are never stored, printed or put in
// an error message: errors name the variable and the source, never what it returned.
import { AuError } from '../errors.js';
import { lazyRequire } from '../system/lazy-require.js';

export type SecretSource = { env: string } | { command: string[]; timeoutMs?: number };

export class SecretError extends AuError {}

const DEFAULT_TIMEOUT_MS = 10_000;

export function describeSource(source: SecretSource): string {
  return 'env' in source ? `the environment variable ${source.env}` : `the command ${source.command[0] ?? '(empty)'}`;
}

export function readSecret(variable: string, source: SecretSource, humanEnv: NodeJS.ProcessEnv = process.env): string {
  if ('env' in source) {
    const value = humanEnv[source.env];
    if (value === undefined) throw new SecretError(`secret ${variable}: ${source.env} is not set in your environment`);
    return value;
  }
  const [program, ...args] = source.command;
  if (!program) throw new SecretError(`secret ${variable}: the command is empty`);
  const { spawnSync } = lazyRequire('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(program, args, {
    stdio: ['ignore', 'pipe', 'ignore'],
    encoding: 'utf8',
    timeout: source.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    shell: false,
    env: humanEnv,
    maxBuffer: 1024 * 1024,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const why = code === 'ETIMEDOUT' ? `timed out after ${source.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : (code ?? 'failed to start');
    throw new SecretError(`secret ${variable}: ${program} ${why}`);
  }
  if (result.status !== 0) throw new SecretError(`secret ${variable}: ${program} exited with ${result.status ?? result.signal}`);
  const line = (result.stdout ?? '').split('\n')[0] ?? '';
  if (line === '') throw new SecretError(`secret ${variable}: ${program} printed nothing`);
  return line;
}
