// Agent output is hostile input to every terminal emulator au feeds (the server's headless
// screen model, the web page's xterm.js). Emulators trust their input: xterm.js repeats a
// character 2^31-1 times when asked (CSI b), loops once per count in IL/DL/SU/SD/CHT/CBT, and
// appends every combining mark to its cell without limit. This guard sits in front of such an
// emulator and passes on only a token stream it fully understands, bounded:
// - printable text as whole, valid UTF-8 code points (no C1 controls), at most
//   MAX_MARKS_PER_CELL zero-width code points after each spacing one;
// - the C0 controls a screen needs (BS HT LF VT FF CR SO SI BEL), ESC and CSI sequences whole,
//   with every count clamped to the screen (which is all it can mean);
// - no string sequences (OSC, DCS, SOS, PM, APC): a screen model has no use for them, and a
//   page that shows them would open the agent's links and titles.
// Each token is emitted complete, so after every call the emulator is back in its ground
// state and the guard and the emulator agree on what every later byte means, whatever the
// chunking. filter() can stop at a work budget (estimated cells touched) so that a caller can
// parse in slices. No Node API here: the web page bundles this module too.

/** Zero-width code points kept after each spacing one (accents stack; more is an attack). */
export const MAX_MARKS_PER_CELL = 4;
/** A CSI or ESC sequence longer than this is dropped whole (real ones are a few bytes). */
const MAX_SEQUENCE_BYTES = 64;

const ESC = 0x1b;
const enum State {
  Ground,
  /** After ESC, collecting intermediates. */
  Escape,
  /** After ESC [, collecting parameters and intermediates. */
  Csi,
  /** Inside a sequence being dropped: until its final byte. */
  DropSequence,
  /** Inside a string sequence (OSC, DCS, SOS, PM, APC): until it ends where xterm.js ends it (see endsString). */
  DropString,
}

/** What ends a string differs by kind (xterm.js's parser, EscapeSequenceParser.ts): only an OSC ends on BEL. */
const enum StringKind {
  Osc,
  Dcs,
  /** SOS, PM, APC. */
  Other,
}

/** C0 controls passed on (all others are dropped). */
const PASSED_C0 = new Set([0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
/** What each count-taking CSI (by intermediates + final) may count up to. */
const CLAMPS: ReadonlyMap<string, 'cols' | 'rows' | 'either'> = new Map([
  ['@', 'cols'], // ICH
  ['P', 'cols'], // DCH
  ['X', 'cols'], // ECH
  ['I', 'cols'], // CHT
  ['Z', 'cols'], // CBT
  ['b', 'cols'], // REP: a repeat longer than a line is not something a program needs
  ['C', 'cols'], // CUF
  ['D', 'cols'], // CUB
  ['G', 'cols'], // CHA
  ['`', 'cols'], // HPA
  ['a', 'cols'], // HPR
  ['A', 'rows'], // CUU
  ['B', 'rows'], // CUD
  ['E', 'rows'], // CNL
  ['F', 'rows'], // CPL
  ['L', 'rows'], // IL
  ['M', 'rows'], // DL
  ['S', 'rows'], // SU
  ['T', 'rows'], // SD
  ['d', 'rows'], // VPA
  ['e', 'rows'], // VPR
  ['H', 'either'], // CUP
  ['f', 'either'], // HVP
  ['r', 'either'], // DECSTBM
  [' @', 'cols'], // SL
  [' A', 'cols'], // SR
  ["'}", 'cols'], // DECIC
  ["'~", 'cols'], // DECDC
]);
/** Sequences whose work is the whole screen (erase, insert/delete/scroll lines, modes that switch or clear buffers). */
const SCREEN_COST_CSI = new Set(['J', 'L', 'M', 'S', 'T', 'h', 'l', ' @', ' A', "'}", "'~", '?J', '?h', '?l']);
/**
 * What any CSI costs at least, in cells: xterm.js's dispatch of one sequence (parameter
 * parsing, handler lookup, cursor bookkeeping) is worth about that many printed cells, so a
 * flood of cheap sequences is priced like the work it really is.
 */
const CSI_FLOOR_COST = 16;
/** Per count of CHT / CBT: each is a walk to the next tab stop. */
const TAB_WALK_COST = 8;
/** Sequences that reset state or answer a report (DECSTR, DECRQM, DA, DSR): several times the floor. */
const REPORT_CSI = new Set(['!p', '$p', 'c', 'n']);
const REPORT_CSI_COST = 64;
/** What any ESC sequence costs at least (charset designations, save/restore cursor, keypad modes). */
const ESC_FLOOR_COST = 16;
/** ESC finals whose work is the whole screen: RIS (c), DECALN (# 8). */
const SCREEN_COST_ESC = new Set(['c', '#8']);

/**
 * Code points an emulator may treat as zero-width (joined to the previous cell): a superset of
 * xterm.js's table (a unit test checks every code point against it). Marks, format
 * characters, Hangul vowel/final jamo, zero-width space, and U+06DE (a mark in the older
 * tables xterm.js uses).
 */
const ZERO_WIDTH = /^[\p{M}\p{Cf}\u06de\u1160-\u11ff\u200b]$/u;
const zeroWidthCache = new Map<number, boolean>();
export function isZeroWidth(codePoint: number): boolean {
  if (codePoint < 0x300) return codePoint === 0xad;
  let known = zeroWidthCache.get(codePoint);
  if (known === undefined) {
    known = ZERO_WIDTH.test(String.fromCodePoint(codePoint));
    if (zeroWidthCache.size < 4096) zeroWidthCache.set(codePoint, known);
  }
  return known;
}

/** East Asian wide ranges, to count work (2 cells); an estimate is enough here. */
function isWide(codePoint: number): boolean {
  return (
    codePoint >= 0x1100 &&
    ((codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
      (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
      (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
      (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
      (codePoint >= 0xff00 && codePoint <= 0xff60) ||
      (codePoint >= 0x1f300 && codePoint <= 0x1faff) ||
      (codePoint >= 0x20000 && codePoint <= 0x3fffd))
  );
}

export interface FilterResult {
  /** The bytes to hand to the emulator: whole tokens only. */
  output: Uint8Array;
  /** Input bytes consumed (all of them unless the budget stopped it). */
  consumed: number;
  /** Estimated cells touched by the output. */
  cost: number;
}

class ByteSink {
  private buffer: Uint8Array;
  length = 0;
  constructor(size: number) {
    this.buffer = new Uint8Array(size);
  }
  private room(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
  }
  push(byte: number): void {
    this.room(1);
    this.buffer[this.length++] = byte;
  }
  pushAll(bytes: Uint8Array | readonly number[], count = bytes.length): void {
    this.room(count);
    for (let i = 0; i < count; i++) this.buffer[this.length++] = bytes[i]!;
  }
  take(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class ScreenGuard {
  private cols: number;
  private rows: number;
  private state = State.Ground;
  /** The sequence being collected (ESC or CSI), without its final byte. */
  private readonly sequence = new Uint8Array(MAX_SEQUENCE_BYTES);
  private sequenceLength = 0;
  /** A UTF-8 code point being collected. */
  private readonly utf8 = new Uint8Array(4);
  private utf8Length = 0;
  private utf8Needed = 0;
  /** Zero-width code points since the last spacing one (saturated after a reset: the emulator may still be joining). */
  private marks = MAX_MARKS_PER_CELL;
  private stringKind = StringKind.Other;
  /** Inside a string, the last byte was C2: the next one (80-9F) makes a C1 control, which ends the string. */
  private afterC2 = false;

  constructor(cols: number, rows: number) {
    this.cols = Math.max(1, cols);
    this.rows = Math.max(1, rows);
  }

  resize(cols: number, rows: number): void {
    this.cols = Math.max(1, cols);
    this.rows = Math.max(1, rows);
  }

  /** Forgets any partial token (the stream goes on from elsewhere: a flood cut, a new session view). */
  reset(): void {
    this.state = State.Ground;
    this.sequenceLength = 0;
    this.utf8Length = 0;
    this.utf8Needed = 0;
    this.marks = MAX_MARKS_PER_CELL;
    this.afterC2 = false;
  }

  /** Filters `input`; stops at the first token boundary once `budget` cells of work were emitted. */
  filter(input: Uint8Array, budget = Number.POSITIVE_INFINITY): FilterResult {
    const out = new ByteSink(Math.min(input.length + 16, 1 << 20));
    let cost = 0;
    let i = 0;
    while (i < input.length && cost < budget) {
      const byte = input[i]!;
      switch (this.state) {
        case State.Ground:
          if (this.utf8Needed > 0) {
            if ((byte & 0xc0) === 0x80) {
              this.utf8[this.utf8Length++] = byte;
              i++;
              if (this.utf8Length === this.utf8Needed) cost += this.codePoint(out);
              continue;
            }
            // A truncated sequence: dropped; the byte starts afresh.
            this.utf8Needed = 0;
            this.utf8Length = 0;
          }
          i++;
          if (byte >= 0x20 && byte < 0x7f) {
            out.push(byte);
            this.marks = 0;
            cost += 1;
          } else if (byte === ESC) {
            this.state = State.Escape;
            this.sequenceLength = 0;
          } else if (byte < 0x20) {
            if (PASSED_C0.has(byte)) {
              out.push(byte);
              // A line feed may scroll: a new line of cells.
              cost += byte >= 0x0a && byte <= 0x0c ? this.cols : 1;
            }
          } else if (byte >= 0xc2 && byte <= 0xf4) {
            this.utf8[0] = byte;
            this.utf8Length = 1;
            this.utf8Needed = byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : 4;
          }
          // DEL, stray continuation bytes and invalid lead bytes are dropped.
          continue;
        case State.Escape:
          i++;
          if (byte >= 0x20 && byte <= 0x2f) {
            if (!this.collect(byte)) this.state = State.DropSequence;
          } else if (byte === 0x5b && this.sequenceLength === 0) {
            this.state = State.Csi;
          } else if ((byte === 0x5d || byte === 0x50 || byte === 0x58 || byte === 0x5e || byte === 0x5f) && this.sequenceLength === 0) {
            this.enterString(byte === 0x5d ? StringKind.Osc : byte === 0x50 ? StringKind.Dcs : StringKind.Other);
          } else if (byte >= 0x30 && byte <= 0x7e) {
            cost += this.emitEscape(out, byte);
          } else {
            // A control or a non-ASCII byte inside the sequence: the sequence is dropped and the byte read afresh.
            this.state = State.Ground;
            i--;
          }
          continue;
        case State.Csi:
          i++;
          if (byte >= 0x20 && byte <= 0x3f) {
            if (!this.collect(byte)) this.state = State.DropSequence;
          } else if (byte >= 0x40 && byte <= 0x7e) {
            cost += this.emitCsi(out, byte);
          } else {
            this.state = State.Ground;
            i--;
          }
          continue;
        case State.DropSequence:
          i++;
          if (byte >= 0x40 && byte <= 0x7e) this.state = State.Ground;
          else if (byte < 0x20 || byte >= 0x7f) {
            this.state = State.Ground;
            i--;
          }
          continue;
        case State.DropString:
          i++;
          // xterm.js decodes UTF-8 before parsing: C2 80..C2 9F is a C1 control, which acts anywhere.
          if (this.afterC2) {
            this.afterC2 = false;
            if (byte >= 0x80 && byte <= 0x9f) {
              cost += this.c1(out, byte);
              continue;
            }
          }
          if (byte === 0xc2) this.afterC2 = true;
          else if (byte === 0x18 || byte === 0x1a || (byte === 0x07 && this.stringKind === StringKind.Osc)) this.state = State.Ground;
          else if (byte === ESC) {
            // ESC \ (ST) ends the string; whatever follows the ESC is read as an escape sequence.
            this.state = State.Escape;
            this.sequenceLength = 0;
          }
          continue;
      }
    }
    return { output: out.take(), consumed: i, cost };
  }

  private enterString(kind: StringKind): void {
    this.state = State.DropString;
    this.stringKind = kind;
    this.afterC2 = false;
  }

  /**
   * A C1 control (decoded from UTF-8; raw 8-bit bytes are invalid UTF-8, dropped by both) does
   * what xterm.js does with it anywhere, in 7-bit form: it starts a CSI or a string, IND / NEL /
   * HTS act, any other ends what was being parsed. Returns its cost.
   */
  private c1(out: ByteSink, code: number): number {
    this.state = State.Ground;
    this.sequenceLength = 0;
    if (code === 0x9b) this.state = State.Csi;
    else if (code === 0x9d) this.enterString(StringKind.Osc);
    else if (code === 0x90) this.enterString(StringKind.Dcs);
    else if (code === 0x98 || code === 0x9e || code === 0x9f) this.enterString(StringKind.Other);
    else if (code === 0x84 || code === 0x85 || code === 0x88) return this.emitEscape(out, code - 0x40);
    return 0;
  }

  private collect(byte: number): boolean {
    if (this.sequenceLength >= MAX_SEQUENCE_BYTES - 2) return false;
    this.sequence[this.sequenceLength++] = byte;
    return true;
  }

  /** Emits a complete UTF-8 code point (unless invalid, a C1 control, or one mark too many); returns its cost. */
  private codePoint(out: ByteSink): number {
    const bytes = this.utf8;
    const n = this.utf8Needed;
    this.utf8Needed = 0;
    this.utf8Length = 0;
    let cp: number;
    if (n === 2) cp = ((bytes[0]! & 0x1f) << 6) | (bytes[1]! & 0x3f);
    else if (n === 3) cp = ((bytes[0]! & 0x0f) << 12) | ((bytes[1]! & 0x3f) << 6) | (bytes[2]! & 0x3f);
    else cp = ((bytes[0]! & 0x07) << 18) | ((bytes[1]! & 0x3f) << 12) | ((bytes[2]! & 0x3f) << 6) | (bytes[3]! & 0x3f);
    const shortest = n === 2 ? cp >= 0x80 : n === 3 ? cp >= 0x800 : cp >= 0x10000;
    if (!shortest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    if (cp >= 0x80 && cp <= 0x9f) return this.c1(out, cp);
    if (isZeroWidth(cp)) {
      if (this.marks >= MAX_MARKS_PER_CELL) return 0;
      this.marks++;
    } else {
      this.marks = 0;
    }
    out.pushAll(bytes, n);
    return isWide(cp) ? 2 : 1;
  }

  private emitEscape(out: ByteSink, final: number): number {
    this.state = State.Ground;
    // A lone ST (the end of a dropped string) does nothing.
    if (final === 0x5c && this.sequenceLength === 0) return 0;
    out.push(ESC);
    out.pushAll(this.sequence, this.sequenceLength);
    out.push(final);
    const key = String.fromCharCode(...this.sequence.subarray(0, this.sequenceLength), final);
    if (SCREEN_COST_ESC.has(key)) return this.cols * this.rows;
    // IND, NEL, RI may scroll.
    return final === 0x44 || final === 0x45 || final === 0x4d ? Math.max(this.cols, ESC_FLOOR_COST) : ESC_FLOOR_COST;
  }

  /** Emits ESC [ parameters intermediates final, every number clamped when the final counts something. */
  private emitCsi(out: ByteSink, final: number): number {
    this.state = State.Ground;
    const seq = this.sequence.subarray(0, this.sequenceLength);
    let intermediates = '';
    let prefix = '';
    for (const byte of seq) {
      if (byte <= 0x2f) intermediates += String.fromCharCode(byte);
      else if (byte >= 0x3c) prefix += String.fromCharCode(byte);
    }
    const key = intermediates + String.fromCharCode(final);
    const clamp = prefix === '' ? CLAMPS.get(key) : undefined;
    const limit = clamp === 'cols' ? this.cols : clamp === 'rows' ? this.rows : Math.max(this.cols, this.rows);
    out.push(ESC);
    out.push(0x5b);
    let largest = 1;
    for (let k = 0; k < seq.length;) {
      const byte = seq[k]!;
      if (clamp === undefined || byte < 0x30 || byte > 0x39) {
        out.push(byte);
        k++;
        continue;
      }
      // A run of digits: its value, saturating at the limit (leading zeros and all).
      let value = 0;
      while (k < seq.length && seq[k]! >= 0x30 && seq[k]! <= 0x39) {
        value = Math.min(limit, value * 10 + (seq[k]! - 0x30));
        k++;
      }
      largest = Math.max(largest, value);
      const digits = String(value);
      for (let d = 0; d < digits.length; d++) out.push(digits.charCodeAt(d));
    }
    out.push(final);
    // Each line inserted, deleted or scrolled moves the region's lines and makes a new one.
    if (key === 'L' || key === 'M' || key === 'S' || key === 'T') return largest * (this.cols + this.rows);
    if (SCREEN_COST_CSI.has(prefix + key)) return this.cols * this.rows;
    if (final === 0x4b || key === '@' || key === 'P' || key === 'X') return this.cols; // EL, ICH, DCH, ECH
    // REP prints its character (and marks) `largest` times.
    if (key === 'b') return largest * (1 + MAX_MARKS_PER_CELL);
    // CHT and CBT walk the tab stops once per count (each walk a loop over columns).
    if (key === 'I' || key === 'Z') return CSI_FLOOR_COST + largest * TAB_WALK_COST;
    return REPORT_CSI.has(key) ? REPORT_CSI_COST : CSI_FLOOR_COST;
  }
}
