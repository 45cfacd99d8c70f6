// Running on a terminal: the agent gets a PTY of its own, made here, and we relay bytes
// between it and the human's terminal (in raw mode, so Ctrl-C is a byte for the agent's
// terminal to turn into SIGINT). The agent never holds the human's terminal, so it cannot
// push keystrokes into it with TIOCSTI.
import type { IPty } from 'node-pty';
import { FilteredOutput } from './clipboard-filter.js';
import { exitStatusOf } from './launch.js';
import { forwardTerminatingSignals } from './signals.js';

export async function runOnPty(
  entrypoint: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { allowClipboard: boolean },
): Promise<number> {
  // Loaded only here: the native addon costs start-up time that pipe runs do not need.
  const pty = await import('node-pty');
  const stdin = process.stdin;
  const stdout = process.stdout;
  const child: IPty = pty.spawn(entrypoint, ['--die-with-parent', ...args], {
    name: env.TERM ?? 'xterm-256color',
    cols: stdout.columns || 80,
    rows: stdout.rows || 24,
    cwd: '/',
    env,
    // Raw bytes both ways: the agent's output is not necessarily UTF-8.
    encoding: null,
  });

  const wasRaw = stdin.isRaw;
  const restoreTerminal = (): void => {
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
  };
  process.on('exit', restoreTerminal);
  stdin.setRawMode(true);
  stdin.resume();

  const onInput = (data: Buffer): void => child.write(data);
  const onResize = (): void => child.resize(stdout.columns || 80, stdout.rows || 24);
  stdin.on('data', onInput);
  stdout.on('resize', onResize);
  // The agent's output reaches the human's terminal without its clipboard writes (A19).
  const output = options.allowClipboard ? undefined : new FilteredOutput((data) => stdout.write(data));
  child.onData((data: string | Buffer) => {
    if (output) output.write(Buffer.isBuffer(data) ? data : Buffer.from(data));
    else stdout.write(data);
  });
  const stopForwarding = forwardTerminatingSignals((signal) => child.kill(signal));

  return new Promise((resolvePromise) => {
    child.onExit(({ exitCode, signal }) => {
      stopForwarding();
      output?.end();
      stdin.off('data', onInput);
      stdout.off('resize', onResize);
      restoreTerminal();
      stdin.pause();
      resolvePromise(exitStatusOf(signal ? null : exitCode, signal ? signal : null));
    });
  });
}
