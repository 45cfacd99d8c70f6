// The terminal modes an agent may leave set when it ends, detaches or dies (alternate screen,
// mouse tracking, hidden cursor, bracketed paste...). The output filter reports every mode it
// lets through; on every exit path the terminal unit writes the sequences that undo exactly
// those still set, as tmux does on detach, and nothing else (an unneeded `CSI ? 1049 l` would
// move the human's cursor).

/** DEC private modes the filter passes, and that are undone with `CSI ? N l` when left set. */
export const TRACKED_PRIVATE_MODES: ReadonlySet<number> = new Set([
  1, // application cursor keys
  5, // reverse video
  6, // origin mode
  9, 1000, 1002, 1003, // mouse tracking
  1005, 1006, 1015, 1016, // mouse encodings
  1004, // focus events
  1007, // alternate scroll
  66, // application keypad (DECNKM)
  2004, // bracketed paste
  2026, // synchronized output: left set, the terminal would stop drawing
  47, 1047, 1049, // alternate screen
]);
/** Modes whose reset state is "set" (`CSI ? N h` restores them). */
const SET_BY_DEFAULT: ReadonlySet<number> = new Set([7, 25]);
const ALTERNATE_SCREENS = [1049, 1047, 47] as const;

export class ModeTracker {
  private readonly on = new Set<number>();
  private readonly off = new Set<number>();
  private keypad = false;
  private sgrDirty = false;
  private scrollRegion = false;
  private cursorStyle = false;
  private kittyPushes = 0;
  /** Flags changed in place (`CSI = flags u`), not pushed: undone by setting them to 0. */
  private kittySet = false;
  private modifyOtherKeys = false;
  private charsetChanged = false;
  private shiftedOut = false;

  privateMode(mode: number, set: boolean): void {
    if (SET_BY_DEFAULT.has(mode)) {
      if (set) this.off.delete(mode);
      else this.off.add(mode);
    } else if (set) {
      this.on.add(mode);
    } else {
      this.on.delete(mode);
    }
  }

  keypadApplication(on: boolean): void {
    this.keypad = on;
  }

  /** SGR: anything but a plain reset leaves attributes the human's prompt would inherit. */
  sgr(params: string): void {
    this.sgrDirty = !(params === '' || params === '0');
  }

  sgrSet(dirty: boolean): void {
    this.sgrDirty = dirty;
  }

  setScrollRegion(params: string): void {
    this.scrollRegion = params !== '';
  }

  setCursorStyle(): void {
    this.cursorStyle = true;
  }

  kittyKeyboard(kind: 'push' | 'pop' | 'set'): void {
    if (kind === 'set') this.kittySet = true;
    else this.kittyPushes = kind === 'push' ? Math.min(this.kittyPushes + 1, 64) : Math.max(this.kittyPushes - 1, 0);
  }

  setModifyOtherKeys(): void {
    this.modifyOtherKeys = true;
  }

  designateCharset(final: string): void {
    this.charsetChanged = final !== 'B';
  }

  shift(out: boolean): void {
    this.shiftedOut = out;
  }

  /** A full reset (RIS) leaves nothing to restore. */
  reset(): void {
    this.on.clear();
    this.off.clear();
    this.keypad = this.sgrDirty = this.scrollRegion = this.cursorStyle = this.modifyOtherKeys = this.charsetChanged = this.shiftedOut = false;
    this.kittyPushes = 0;
    this.kittySet = false;
  }

  /** The bytes that undo what is still set; empty when the agent left the terminal as it found it. */
  restoreSequence(): string {
    let out = '';
    if (this.on.has(2026)) out += '\x1b[?2026l';
    const alternate = ALTERNATE_SCREENS.filter((m) => this.on.has(m));
    for (const mode of this.on) {
      if (mode !== 2026 && !alternate.includes(mode as (typeof ALTERNATE_SCREENS)[number])) out += `\x1b[?${mode}l`;
    }
    if (this.keypad) out += '\x1b>';
    if (this.kittyPushes > 0) out += `\x1b[<${this.kittyPushes}u`;
    else if (this.kittySet) out += '\x1b[=0u';
    if (this.modifyOtherKeys) out += '\x1b[>4m';
    if (this.shiftedOut) out += '\x0f';
    if (this.charsetChanged) out += '\x1b(B';
    if (this.sgrDirty) out += '\x1b[0m';
    // DECSTBM homes the cursor: on the normal screen, keep the human's cursor where it is.
    if (this.scrollRegion) out += alternate.length > 0 ? '\x1b[r' : '\x1b7\x1b[r\x1b8';
    for (const mode of alternate) out += `\x1b[?${mode}l`;
    for (const mode of this.off) out += `\x1b[?${mode}h`;
    if (this.cursorStyle) out += '\x1b[0 q';
    return out;
  }

  /**
   * After a stop (`fg`): the bytes that set again the modes restoreSequence undid and a program
   * keeps across its frames (its screen, mouse reporting, keypad and cursor keys, cursor
   * visibility). Colours, scroll region and cursor shape it sets again as it draws; keyboard
   * protocol flags are not known here (a program that used them sets them again on SIGCONT).
   */
  reapplySequence(): string {
    const alternate = ALTERNATE_SCREENS.filter((m) => this.on.has(m));
    let out = alternate.map((mode) => `\x1b[?${mode}h`).join('');
    for (const mode of this.on) {
      // Synchronized output set again would stop the terminal drawing until the program ends it.
      if (mode !== 2026 && !alternate.includes(mode as (typeof ALTERNATE_SCREENS)[number])) out += `\x1b[?${mode}h`;
    }
    for (const mode of this.off) out += `\x1b[?${mode}l`;
    if (this.keypad) out += '\x1b=';
    return out;
  }

  /** Whether the agent's screen is the alternate one (a full-screen TUI is drawing). */
  get alternateScreen(): boolean {
    return ALTERNATE_SCREENS.some((m) => this.on.has(m));
  }
}
