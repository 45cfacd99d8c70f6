// The one unit that owns the human's terminal while an agent's output is shown on it (`au run`,
// `au attach`, `au sessions replay`): every byte goes through the output filter, raw mode is
// taken and given back, window-size changes are reported, and on every way out (the agent's
// end, a detach, a lost connection, an exception, a signal) the modes the agent left set are
// undone and the terminal is handed back as it was found.
import { writeSync } from 'node:fs';
import { type OutputFilterOptions, TerminalOutputFilter } from './output-filter.js';

export interface HumanTerminalOptions {
  /** Where the agent's output is shown: the first of stdout and stderr that is a terminal. */
  output: NodeJS.WriteStream;
  /** The human's keyboard, put in raw mode so each key (Ctrl-C too) is a byte for the agent. */
  input?: NodeJS.ReadStream;
  filter: OutputFilterOptions;
}

export class HumanTerminal {
  readonly filter: TerminalOutputFilter;
  private readonly output: NodeJS.WriteStream;
  private readonly input: NodeJS.ReadStream | undefined;
  private wasRaw = false;
  private active = false;
  private suspended = false;
  private readonly pendingNotices: string[] = [];
  private answersSeen = 0;
  private readonly onExit = (): void => this.restore();
  private readonly onContinue = (): void => {
    // Resumed after a stop (`fg`): the shell put the terminal back in its own mode.
    if (this.active && this.input?.isTTY) this.input.setRawMode(true);
  };

  constructor(options: HumanTerminalOptions) {
    this.output = options.output;
    this.input = options.input?.isTTY ? options.input : undefined;
    this.filter = new TerminalOutputFilter(options.filter);
  }

  /** Takes the terminal: raw mode, and the restore armed for every exit path. */
  start(): void {
    if (this.active) return;
    this.active = true;
    process.on('exit', this.onExit);
    process.on('SIGCONT', this.onContinue);
    if (this.input) {
      this.wasRaw = this.input.isRaw;
      this.input.setRawMode(true);
    }
  }

  /**
   * A stop (the agent's Ctrl-Z relayed to au): the terminal handed back as the human's shell
   * expects it (the agent's modes undone, raw mode off), the modes remembered for resume().
   */
  suspend(): void {
    if (!this.active || this.suspended) return;
    this.suspended = true;
    writeNow(this.output, Buffer.from(this.filter.modes.restoreSequence(), 'latin1'));
    if (this.input) this.input.setRawMode(this.wasRaw);
  }

  /** Back in the foreground after a stop: raw mode again, and the agent's modes set again. */
  resume(): void {
    if (!this.active || !this.suspended) return;
    this.suspended = false;
    if (this.input) this.input.setRawMode(true);
    writeNow(this.output, Buffer.from(this.filter.modes.reapplySequence(), 'latin1'));
  }

  /** Agent output: shown filtered. */
  show(data: Buffer): void {
    const safe = this.filter.push(data);
    if (safe.length > 0) this.output.write(safe);
  }

  /**
   * A message of au's own (`[au: ...]`). Written at the cursor only when no full-screen program
   * is drawing (a line in the middle of a TUI would shift it until it redraws); otherwise it
   * waits for the program to leave its screen, or for the end.
   */
  notice(text: string): void {
    const line = sanitizeNotice(text);
    if (this.filter.modes.alternateScreen) {
      if (this.pendingNotices.length < 20) this.pendingNotices.push(line);
      return;
    }
    this.flushNotices();
    this.output.write(`\r\n[au: ${line}]\r\n`);
  }

  private flushNotices(): void {
    for (const line of this.pendingNotices.splice(0)) this.output.write(`\r\n[au: ${line}]\r\n`);
  }

  /**
   * The human's keys as they arrive (before they go to the agent): terminal answers among them
   * are counted, so that at the end au knows whether answers are still on their way.
   */
  noteInput(data: Buffer): void {
    if (this.filter.queriesPassed === 0 || data[0] !== 0x1b) return;
    this.answersSeen += countAnswers(data.toString('latin1'));
  }

  /**
   * The agent is gone, but the answer to a query it sent may still be on its way: read and drop
   * it while the terminal is raw (for at most 200 ms), so it is not typed at the human's prompt
   * once au has exited. Nothing is read when every query was answered already (type-ahead stays).
   */
  async discardLateAnswers(): Promise<void> {
    if (!this.active || !this.input || this.answersSeen >= this.filter.queriesPassed) return;
    const input = this.input;
    await new Promise<void>((resolveWait) => {
      const done = (): void => {
        clearTimeout(timer);
        input.off('data', drop);
        resolveWait();
      };
      const drop = (data: Buffer): void => {
        this.answersSeen += countAnswers(data.toString('latin1'));
        if (this.answersSeen >= this.filter.queriesPassed) done();
      };
      const timer = setTimeout(done, 200);
      input.on('data', drop);
      input.resume();
    });
  }

  get columns(): number {
    return this.output.columns || 80;
  }

  get rows(): number {
    return this.output.rows || 24;
  }

  onResize(listener: () => void): () => void {
    this.output.on('resize', listener);
    return () => this.output.off('resize', listener);
  }

  /** Gives the terminal back: the agent's modes undone, raw mode off. Safe to call twice. */
  restore(finalNotice?: string): void {
    if (this.active) {
      this.active = false;
      process.off('exit', this.onExit);
      process.off('SIGCONT', this.onContinue);
      // While suspended, the agent's modes are undone already.
      const undo = this.suspended ? '' : this.filter.modes.restoreSequence();
      this.suspended = false;
      const rest = Buffer.concat([this.filter.end(), Buffer.from(undo, 'latin1')]);
      this.filter.modes.reset();
      writeNow(this.output, rest);
      if (this.input) this.input.setRawMode(this.wasRaw);
    }
    this.flushNotices();
    if (finalNotice !== undefined) this.output.write(`\r\n[au: ${sanitizeNotice(finalNotice)}]\r\n`);
  }
}

/** On the way out (perhaps in an 'exit' handler) the bytes must leave now, not on a later tick. */
function writeNow(stream: NodeJS.WriteStream, data: Buffer): void {
  if (data.length === 0) return;
  const fd = (stream as NodeJS.WriteStream & { fd?: number }).fd;
  if (typeof fd === 'number') {
    try {
      writeSync(fd, data);
      return;
    } catch {
      /* a closed terminal: nothing to restore */
      return;
    }
  }
  stream.write(data);
}

/** Notices can carry text from the server (a session name, a reason): printable only. */
function sanitizeNotice(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0)) out += ch;
  }
  return out.slice(0, 500);
}

/**
 * Terminal answers in typed input: CSI reports ending in c (DA), R (CPR), n (DSR), y (DECRQM),
 * u (keyboard flags), and OSC colour reports. A key that looks like one only makes au wait less.
 */
const ANSWER = /\x1b\[[?>=]?[\d;]*(?:\$y|[cRnu])|\x1b\][\d;]*rgb:[^\x07\x1b]*(?:\x07|\x1b\\)/g;

function countAnswers(text: string): number {
  return text.match(ANSWER)?.length ?? 0;
}
