// Running without a terminal (pipes, CI). Normally `au` becomes the entrypoint (execve, same
// pid and stdio), so signals sent to `au` reach it directly. Without the native addon we
// spawn it in its own session (detached) and forward signals. Either way the entrypoint puts
// the agent in a new session, so the human's terminal is never its controlling tty.
import { exitStatusOf } from './launch.js';
import { loadNative } from '../system/native.js';
import { forwardTerminatingSignals } from './signals.js';

export async function runWithPipes(
  entrypoint: string,
  args: readonly string[],
  env: Record<string, string>,
  { replaceProcess }: { replaceProcess: boolean },
): Promise<number> {
  const native = replaceProcess ? loadNative() : undefined;
  if (native) {
    native.execve(
      entrypoint,
      [entrypoint, ...args],
      Object.entries(env).map(([k, v]) => `${k}=${v}`),
    );
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
