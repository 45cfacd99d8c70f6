// Running without a terminal (pipes, CI): the entrypoint inherits our stdio and starts in
// its own session (detached), so the human's terminal, if any, is never its controlling tty.
import { spawn } from 'node:child_process';
import { exitStatusOf } from './launch.js';
import { forwardTerminatingSignals } from './signals.js';

export function runWithPipes(entrypoint: string, args: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(entrypoint, args, { stdio: 'inherit', detached: true, env });
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
