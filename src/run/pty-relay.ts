// Running with the human's terminal on some of fds 0-2 (THREAT-MODEL A23, as sudo's use_pty):
// the agent never gets a terminal fd of the human. Each of its fds 0-2 that is the human's
// terminal becomes au's own PTY instead, whose output reaches the human's terminal through the
// output filter and whose input is the human's keys (in raw mode, so Ctrl-C is a byte for the
// agent's terminal to turn into SIGINT). The other fds (pipes, files) are passed as they are,
// so `au run -- ls | wc -l` counts lines and `au run -- seq 3 > f` writes no CR.
//
// With stdin on the PTY, the entrypoint starts as the PTY's session leader with it as its
// controlling terminal (setsid --ctty), so the agent gets job control and signals from keys.
// With stdin a pipe, it starts in a session of its own with no controlling terminal at all.
//
// `--no-pty` (pipes instead of a PTY) keeps the rule: the terminal fds become pipes that au
// relays, filtered; the agent still never holds the human's terminal.
import type { StdioOptions } from 'node:child_process';
import { closeSync, readSync } from 'node:fs';
import { HumanTerminal } from '../terminal/human-terminal.js';
import { exitStatusOf } from './launch.js';
import { forwardTerminatingSignals } from './signals.js';
import { relayStops } from './stop-relay.js';

export type TerminalFds = readonly [boolean, boolean, boolean];

interface PtyNative {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

async function ptyNative(): Promise<PtyNative> {
  // node-pty's own binding: its spawn always puts all three fds on the PTY, so only its
  // openpty and resize are used here.
  const { loadNativeModule } = await import('node-pty/lib/utils.js');
  return loadNativeModule('pty').module as PtyNative;
}

const SETSID = '/usr/bin/setsid';

export async function runOnTerminal(
  entrypoint: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { allowClipboard: boolean; terminalFds: TerminalFds; usePty: boolean },
): Promise<number> {
  // Loaded here, not at start-up: au run's bundle loads only cheap modules before it knows it needs them.
  const { spawn } = await import('node:child_process');
  const { ReadStream } = await import('node:tty');
  const [ttyIn, ttyOut] = options.terminalFds;
  const output = ttyOut ? process.stdout : process.stderr;
  // Queries pass only when au reads the human's keys in raw mode (and drains late answers at
  // the end); otherwise an answer would wait in the human's tty and be typed at their prompt.
  const readsKeys = ttyIn && options.usePty && Boolean(process.stdin.isTTY);
  const terminal = new HumanTerminal({
    output,
    input: readsKeys ? process.stdin : undefined,
    filter: { allowClipboard: options.allowClipboard, answerQueries: readsKeys },
  });

  const native = options.usePty ? await ptyNative() : undefined;
  const pty = native?.open(terminal.columns, terminal.rows);
  const master = pty ? new ReadStream(pty.master) : undefined;
  // Each terminal fd becomes the PTY (or a pipe au relays); the others are passed as they are.
  const stdio: StdioOptions = [0, 1, 2].map((fd) => (options.terminalFds[fd] ? (pty ? pty.slave : 'pipe') : 'inherit'));
  const withCtty = options.usePty && ttyIn;
  const child = withCtty
    ? spawn(SETSID, ['--ctty', entrypoint, '--die-with-parent', ...args], { stdio, env })
    : spawn(entrypoint, ['--die-with-parent', ...args], { stdio, env, detached: true });
  // Only the agent holds the PTY's slave now: its last close ends the output.
  if (pty) closeSync(pty.slave);

  terminal.start();
  const show = (data: Buffer): void => terminal.show(data);
  const onKeys = (data: Buffer): void => {
    terminal.noteInput(data);
    if (master) master.write(data);
    else child.stdin?.write(data);
  };
  if (master) {
    master.on('data', show);
    // EIO when the agent closes its last fd of the PTY: the output is over.
    master.on('error', () => undefined);
  } else {
    child.stdout?.on('data', show);
    child.stderr?.on('data', show);
  }
  if (ttyIn) {
    process.stdin.on('data', onKeys);
    process.stdin.resume();
    if (!master) process.stdin.on('end', () => child.stdin?.end());
  }
  const stopResize = terminal.onResize(() => {
    if (native && pty) native.resize(pty.master, terminal.columns, terminal.rows);
  });
  const stopForwarding = forwardTerminatingSignals((signal) => child.kill(signal));
  const stopRelaying = relayStops(terminal, {
    drain: () => {
      // node-pty opens the master non-blocking: this reads what is there and stops (EAGAIN).
      if (!pty) return;
      const buffer = Buffer.allocUnsafe(65536);
      for (;;) {
        let n: number;
        try {
          n = readSync(pty.master, buffer);
        } catch {
          return;
        }
        if (n <= 0) return;
        show(Buffer.from(buffer.subarray(0, n)));
      }
    },
    resize: () => {
      if (native && pty) native.resize(pty.master, terminal.columns, terminal.rows);
    },
    continueAgent: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    },
  });

  const outputDone = new Promise<void>((resolveOutput) => {
    const stream = master ?? child.stdout ?? child.stderr;
    if (!stream) return resolveOutput();
    stream.once('close', () => resolveOutput());
    stream.once('end', () => resolveOutput());
    stream.once('error', () => resolveOutput());
  });

  return new Promise((resolvePromise, reject) => {
    child.once('error', (error) => {
      stopForwarding();
      stopRelaying();
      terminal.restore();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      stopRelaying();
      // What the agent wrote before it ended is still in the PTY: show it, then give back the terminal.
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        stopResize();
        process.stdin.off('data', onKeys);
        master?.destroy();
        void terminal.discardLateAnswers().then(() => {
          if (ttyIn) process.stdin.pause();
          terminal.restore();
          resolvePromise(exitStatusOf(code, signal));
        });
      };
      const timer = setTimeout(settle, 500);
      void outputDone.then(() => {
        clearTimeout(timer);
        settle();
      });
    });
  });
}
