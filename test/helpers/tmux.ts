// A real terminal for tests: a tmux server owned by the human, running the human's login
// shell, driven with send-keys and read with capture-pane.
import { mkdtempSync, rmSync, chmodSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Human, sh } from './system.js';

export class Terminal {
  private readonly socket: string;
  private readonly dir: string;

  constructor(private readonly human: Human, cols = 160, rows = 48) {
    this.dir = mkdtempSync(join(tmpdir(), 'aut-tmux-'));
    chmodSync(this.dir, 0o700);
    chownSync(this.dir, human.uid, human.uid);
    this.socket = join(this.dir, 'sock');
    const r = human.run(['tmux', '-S', this.socket, 'new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), 'bash', '--login'], {
      env: { TERM: 'xterm-256color', PS1: '$ ' },
    });
    if (r.status !== 0) throw new Error(`tmux failed: ${r.stderr}`);
  }

  private tmux(args: readonly string[]): string {
    const r = this.human.run(['tmux', '-S', this.socket, ...args]);
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Types text literally, then Enter unless `enter` is false. */
  type(text: string, enter = true): void {
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

  /** Waits until the screen matches, or throws with the screen in the message. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
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

