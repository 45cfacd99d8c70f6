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
  9,
  1000,
  1002,
  1003, // mouse tracking
  1005,
  1006,
  1015,
  1016, // mouse encodings
  1004, // focus events
  1007, // alternate scroll
  66, // application keypad (DECNKM)
  2004, // bracketed paste
  2026, // synchronized output: left set, the terminal would stop drawing
  47,
  1047,
  1049, // alternate screen
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
  private kittyFlagsSet = false;
  /** XTMODKEYS resources (0-7) the agent changed, one bit each: each is reset at the end. */
  private modifiedKeys = 0;
  /** G0 and G1 designated to something other than ASCII (bit 0: G0, bit 1: G1). */
  private charsetsChanged = 0;
  private shiftedOut = false;
  /** ANSI modes set: insert (IRM, 4) and newline (LNM, 20). */
  private insertMode = false;
  private newlineMode = false;
  /** The human's title was pushed before the agent's first one: popped at the end. */
  private titleSaved = false;

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

  /** A kitty keyboard push; false (the push must be dropped) when `cap` are already pushed. */
  kittyPush(cap: number): boolean {
    if (this.kittyPushes >= cap) return false;
    this.kittyPushes++;
    return true;
  }

  /** Pops up to `count` of the agent's pushes; returns how many (the rest would be the human's). */
  kittyPop(count: number): number {
    const popped = Math.min(count, this.kittyPushes);
    this.kittyPushes -= popped;
    return popped;
  }

  kittySet(): void {
    this.kittyFlagsSet = true;
  }

  modifyKeys(resource: number): void {
    this.modifiedKeys |= 1 << resource;
  }

  designateCharset(set: 0 | 1, final: string): void {
    if (final === 'B') this.charsetsChanged &= ~(1 << set);
    else this.charsetsChanged |= 1 << set;
  }

  ansiMode(mode: number, set: boolean): void {
    if (mode === 4) this.insertMode = set;
    else if (mode === 20) this.newlineMode = set;
  }

  /** True the first time only: the caller then pushes the human's title. */
  saveTitle(): boolean {
    if (this.titleSaved) return false;
    this.titleSaved = true;
    return true;
  }

  shift(out: boolean): void {
    this.shiftedOut = out;
  }

  /** A full reset (RIS) leaves nothing to restore. */
  reset(): void {
    this.on.clear();
    this.off.clear();
    this.keypad = this.sgrDirty = this.scrollRegion = this.cursorStyle = this.shiftedOut = this.insertMode = this.newlineMode = false;
    this.kittyPushes = this.modifiedKeys = this.charsetsChanged = 0;
    this.kittyFlagsSet = false;
    // The human's title stays pushed across a reset (RIS keeps the title stack): still popped.
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
    else if (this.kittyFlagsSet) out += '\x1b[=0u';
    for (let resource = 0; resource < 8; resource++) if (this.modifiedKeys & (1 << resource)) out += `\x1b[>${resource}m`;
    if (this.insertMode) out += '\x1b[4l';
    if (this.newlineMode) out += '\x1b[20l';
    if (this.shiftedOut) out += '\x0f';
    if (this.charsetsChanged & 1) out += '\x1b(B';
    if (this.charsetsChanged & 2) out += '\x1b)B';
    if (this.sgrDirty) out += '\x1b[0m';
    // DECSTBM homes the cursor: on the normal screen, keep the human's cursor where it is.
    if (this.scrollRegion) out += alternate.length > 0 ? '\x1b[r' : '\x1b7\x1b[r\x1b8';
    for (const mode of alternate) out += `\x1b[?${mode}l`;
    for (const mode of this.off) out += `\x1b[?${mode}h`;
    if (this.cursorStyle) out += '\x1b[0 q';
    if (this.titleSaved) out += '\x1b[23;0t';
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
    // restoreSequence popped the human's saved title: saved again, so the pop at the end is balanced.
    if (this.titleSaved) out += '\x1b[22;0t';
    return out;
  }

  /** Whether the agent's screen is the alternate one (a full-screen TUI is drawing). */
  get alternateScreen(): boolean {
    return ALTERNATE_SCREENS.some((m) => this.on.has(m));
  }
}
