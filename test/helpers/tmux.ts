// A real terminal for tests: a tmux server owned by the human, running the human's login
// shell, driven with send-keys and read with capture-pane. What a test types is on the screen
// too (the shell echoes it), so waits look for what a command prints, never for what was typed.
import { mkdtempSync, rmSync, chmodSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Human, sh } from './system.js';

export class Terminal {
  private readonly socket: string;
  private readonly dir: string;
  /** The last line typed: waitFor refuses a pattern that it matches. */
  private typed = '';
  private marks = 0;

  constructor(
    private readonly human: Human,
    cols = 160,
    rows = 48,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'aut-tmux-'));
    chmodSync(this.dir, 0o700);
    chownSync(this.dir, human.uid, human.uid);
    this.socket = join(this.dir, 'sock');
    const r = human.run(
      ['tmux', '-S', this.socket, 'new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), 'bash', '--login'],
      {
        env: { TERM: 'xterm-256color', PS1: '$ ' },
      },
    );
    if (r.status !== 0) throw new Error(`tmux failed: ${r.stderr}`);
  }

  private tmux(args: readonly string[]): string {
    const r = this.human.run(['tmux', '-S', this.socket, ...args]);
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Types text literally, then Enter unless `enter` is false. */
  type(text: string, enter = true): void {
    this.typed = text;
    this.tmux(['send-keys', '-t', 'main', '-l', text]);
    if (enter) this.tmux(['send-keys', '-t', 'main', 'Enter']);
  }

  keys(...names: string[]): void {
    this.tmux(['send-keys', '-t', 'main', ...names]);
  }

  /** Runs a tmux command against this terminal's server (e.g. set-option, list-buffers). */
  control(args: readonly string[]): string {
    return this.tmux(args);
  }

  resize(cols: number, rows: number): void {
    this.tmux(['resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows)]);
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'main', '-S', '-200']);
  }

  /**
   * Types `command` (after `clear`, unless clear is false) and waits until the shell has run it:
   * the line ends with a marker whose printed form the typed line cannot contain, wrapped or
   * not (typed `echo "au-mark-$((N+1))"`, printed au-mark-N+1). Returns the screen then.
   */
  async run(command: string, options: { clear?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const n = 1000 * ++this.marks + Math.floor(Math.random() * 1000);
    this.type(`${options.clear === false ? '' : 'clear; '}${command}; echo "au-mark-$((${n}+1))"`);
    return this.waitFor(new RegExp(`au-mark-${n + 1}(?!\\d)`), options.timeoutMs);
  }

  /**
   * Waits until the screen matches, or throws with the screen in the message. A pattern that
   * the last typed line matches is refused: it would match at once, before the command ran.
   */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    if (new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).test(this.typed)) {
      throw new Error(
        `waitFor ${pattern} matches the line typed (${JSON.stringify(this.typed)}): wait for what the command prints (run() does)`,
      );
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    sh(['runuser', '-u', this.human.name, '--', 'tmux', '-S', this.socket, 'kill-server']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
