// Running without a terminal (pipes, CI). Normally `au` becomes the entrypoint (execve, same
// pid and stdio), so signals sent to `au` reach it directly. Without the native addon we
// spawn it in its own session (detached) and forward signals. Either way the entrypoint puts
// the agent in a new session, so the human's terminal is never its controlling tty.
import { exitStatusOf } from './launch.js';
import { loadNative } from './native.js';
import { forwardTerminatingSignals } from './signals.js';

export async function runWithPipes(
  entrypoint: string,
  args: readonly string[],
  env: Record<string, string>,
  { replaceProcess }: { replaceProcess: boolean },
): Promise<number> {
  const native = replaceProcess ? loadNative() : undefined;
  if (native) {
    native.execve(entrypoint, [entrypoint, ...args], Object.entries(env).map(([k, v]) => `${k}=${v}`));
  }
  const { spawn } = await import('node:child_process');
  return new Promise((resolvePromise, reject) => {
    // Spawned rather than exec'd, the entrypoint must also end when au dies (even by SIGKILL).
    const child = spawn(entrypoint, ['--die-with-parent', ...args], { stdio: 'inherit', detached: true, env });
    const stopForwarding = forwardTerminatingSignals((signal) => {
      child.kill(signal);
    });
    child.once('error', (error) => {
      stopForwarding();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      resolvePromise(exitStatusOf(code, signal));
    });
  });
}

/**
 * Runs the entrypoint with `input` (a stream) as its stdin; used to hand data to the agent. The
 * agent's output is captured, never given the human's terminal (A23): it is shown filtered
 * when that is a terminal (the agent's own login files run here), passed as is otherwise.
 */
export async function runFeeding(entrypoint: string, args: readonly string[], env: Record<string, string>, input: NodeJS.ReadableStream): Promise<number> {
  const { spawn } = await import('node:child_process');
  const { isatty } = await import('node:tty');
  const { TerminalOutputFilter } = await import('../terminal/output-filter.js');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(entrypoint, ['--die-with-parent', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    input.pipe(child.stdin);
    const relay = (from: NodeJS.ReadableStream, to: NodeJS.WriteStream, fd: number): void => {
      // No queries: nothing reads the terminal's answers for the agent here.
      const filter = isatty(fd) ? new TerminalOutputFilter({ answerQueries: false }) : undefined;
      from.on('data', (data: Buffer) => to.write(filter ? filter.push(data) : data));
    };
    relay(child.stdout, process.stdout, 1);
    relay(child.stderr, process.stderr, 2);
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise(exitStatusOf(code, signal)));
  });
}
