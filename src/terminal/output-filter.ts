// Everything the agent prints reaches a human's terminal through this filter (THREAT-MODEL A22).
// It reads the bytes the way a terminal does: 7-bit ESC introducers, 8-bit C1 bytes and C1
// controls encoded in UTF-8 (which some terminals act on), CSI parameters and intermediates,
// and OSC/DCS/SOS/PM/APC strings, inside which terminals skip C0 controls (so `ESC ] 5 \x01 2`
// is OSC 52) and read the number as an integer (so `052` is 52). What it passes is an
// allowlist, and it passes only what it re-emits itself in one canonical 7-bit form: text
// (valid UTF-8 without C1 controls), the C0 controls of ordinary output, SGR, cursor and screen
// control, the modes TUIs use, titles and safe hyperlinks. Everything else is dropped:
// clipboard writes and queries in any spelling, passthrough (`DCS tmux;`), graphics strings,
// and every request whose answer would carry data the agent chose or must not read (title
// reports, DECRQSS, XTGETTCAP, XTVERSION, window reports).
//
// A small set of queries may be passed (`answerQueries`, for a live agent): their answers are
// fixed-format numbers the terminal makes up itself (DA1/DA2 attributes, cursor position, "OK"
// status, mode state, keyboard-protocol flags, its own default colours, which the agent cannot
// set because colour changes are dropped). TUIs block on them (crossterm, prompt_toolkit and
// vim send them at start), and the answer goes to the agent's own input. A replay has no agent
// to answer, so it passes none.
//
// Streaming: the parser keeps its state between writes, so a sequence split at any byte is
// decided exactly as a whole one; memory is bounded (long parameters and strings are dropped).
// Counts are clamped, so `CSI 2147483647 b` cannot make the human's terminal spin (issue 17).
import { ModeTracker, TRACKED_PRIVATE_MODES } from './modes.js';

export interface OutputFilterOptions {
  /** `--allow-clipboard`: OSC 52 writes pass (never queries). */
  allowClipboard?: boolean;
  /** Pass the queries with fixed, terminal-made answers (see above). */
  answerQueries?: boolean;
}

const enum State {
  Ground,
  Escape,
  EscapeIntermediate,
  Csi,
  CsiIgnore,
  Osc,
  OscEscape,
  StringIgnore,
  StringIgnoreEscape,
}

const enum Verdict {
  Pass,
  /** A query whose answer the terminal makes up itself: passed only for a live agent. */
  Query,
  Drop,
}

const ESC = 0x1b;
const BEL = 0x07;
const CAN = 0x18;
const SUB = 0x1a;
/** The largest count the filter passes: no screen is wider or taller. */
export const MAX_COUNT = 9999;
const MAX_CSI_PARAMS = 64;
const MAX_STRING = 8192;
const MAX_CLIPBOARD = 1 << 20;
const MAX_TITLE = 512;
const MAX_URI = 2048;
const REPLACEMENT = Buffer.from('\uFFFD');
const EMPTY = Buffer.alloc(0);

/** Ground-state bytes that pass as they are: printable ASCII and the C0 controls of ordinary output. */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) PLAIN[b] = 1;
for (const b of [BEL, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) PLAIN[b] = 1;
/** Locking shifts (SO to G1, SI back to G0): passed, but tracked, so a charset left shifted is undone. */
const SO = 0x0e;
const SI = 0x0f;

/** DEC private modes that pass: the tracked ones, and those that need no undoing. */
const PASSED_PRIVATE_MODES: ReadonlySet<number> = new Set([...TRACKED_PRIVATE_MODES, 7, 25, 12, 2027]);
/**
 * CSI finals without prefix or intermediate that only move, erase, insert or scroll. Not TBC
 * (`g`: clearing the human's tab stops outlives au, and no TUI needs it); ED (`J`) only for
 * the screen (0-2), never the scrollback (3), which holds what ran before the agent.
 */
const PLAIN_CSI_FINALS = new Set('@ABCDEFGHIJKLMPSTXZ`abdef'.split(''));
/** Most kitty keyboard pushes passed; the rest are dropped (TUIs push once or twice). */
export const MAX_KITTY_PUSHES = 16;
const PLAIN_CSI_FINAL_BYTES = new Uint8Array(256);
for (const final of PLAIN_CSI_FINALS) PLAIN_CSI_FINAL_BYTES[final.charCodeAt(0)] = 1;

export class TerminalOutputFilter {
  readonly modes = new ModeTracker();
  /** How many queries passed (each has an answer on its way to the keyboard side). */
  queriesPassed = 0;
  private readonly allowClipboard: boolean;
  private readonly answerQueries: boolean;
  private state: State = State.Ground;
  /** This write's output, and how much of it is filled. */
  private o: Buffer = EMPTY;
  private op = 0;
  /** The first bytes of a UTF-8 character that the previous chunk ended in. */
  private held: Buffer | undefined;
  private intermediates = '';
  private prefix = '';
  private params = '';
  private osc = Buffer.alloc(256);
  private oscLength = 0;
  private oscOverflow = false;
  /** Continuation bytes still due for a UTF-8 character inside the OSC string. */
  private oscUtf8Need = 0;

  constructor(options: OutputFilterOptions = {}) {
    this.allowClipboard = Boolean(options.allowClipboard);
    this.answerQueries = Boolean(options.answerQueries);
  }

  /** The bytes of `input` safe to show now (an unfinished sequence is kept for the next write). */
  push(input: Buffer): Buffer {
    let chunk = input;
    if (this.held) {
      chunk = Buffer.concat([this.held, input]);
      this.held = undefined;
    }
    const n = chunk.length;
    // Output is the input's size but for the few sequences re-emitted longer; emit() grows it.
    this.o = Buffer.allocUnsafe(n + 64);
    this.op = 0;
    let i = 0;
    while (i < n) {
      if (this.state !== State.Ground) {
        this.step(chunk[i]!);
        i++;
        continue;
      }
      // The run of bytes that pass as they are: plain ASCII, allowed C0, whole UTF-8 characters.
      let j = i;
      let length = 0;
      for (;;) {
        j = skipPlain(chunk, j, n);
        if (j >= n) break;
        const lead = chunk[j]!;
        if (lead === ESC) {
          // A common CSI that passes unchanged stays in the run (one copy for the whole run).
          if (chunk[j + 1] !== 0x5b) break;
          const end = this.plainCsi(chunk, j);
          if (end < 0) break;
          j = end;
          continue;
        }
        if (lead < 0xc2 || lead > 0xf4 || (lead === 0xc2 && chunk[j + 1]! < 0xa0)) break;
        length = utf8Length(chunk, j);
        if (length <= 0) break;
        j += length;
      }
      if (j > i) this.copy(chunk, i, j);
      if (j >= n) break;
      i = j;
      const b = chunk[i]!;
      if (b >= 0xc2 && b <= 0xf4) {
        length = utf8Length(chunk, i);
        if (length > 0) {
          // U+0080..U+009F is a C1 control spelled in UTF-8, which some terminals act on.
          this.c1(chunk[i + 1]!);
          i += length;
        } else if (length === 0) {
          // Not finished in this chunk: hold it back.
          this.held = Buffer.from(chunk.subarray(i));
          break;
        } else {
          // Invalid: U+FFFD for the bytes read so far, as a UTF-8 terminal shows it.
          this.emitBytes(REPLACEMENT);
          i += -length;
        }
        continue;
      }
      if (b >= 0x80 && b < 0xa0) this.c1(b);
      else if (b >= 0x80) this.emitBytes(REPLACEMENT);
      else if (b === ESC) this.state = State.Escape;
      else if (b === SO || b === SI) this.shift(b);
      // Other C0 controls (NUL, ENQ which asks for the answerback, ...) and DEL are dropped.
      i++;
    }
    const result = this.o.subarray(0, this.op);
    this.o = EMPTY;
    return result;
  }

  /**
   * The common case, decided in place: a whole CSI in this chunk with digits, ';' and ':' only,
   * no count to clamp, and a final that moves, erases or sets colours. Its bytes pass as they
   * are (they are already canonical). Returns the index after it, or -1 for the parser.
   */
  private plainCsi(chunk: Buffer, start: number): number {
    const n = chunk.length;
    let j = start + 2;
    let digits = 0;
    for (; j < n; j++) {
      const c = chunk[j]!;
      if (c >= 0x30 && c <= 0x39) {
        if (++digits > 4) return -1;
      } else if (c === 0x3b || c === 0x3a) {
        digits = 0;
      } else {
        break;
      }
      if (j - start > MAX_CSI_PARAMS) return -1;
    }
    if (j >= n) return -1;
    const final = chunk[j]!;
    if (final === 0x6d) {
      // SGR: anything but a plain reset leaves attributes set.
      const length = j - start - 2;
      this.modes.sgrSet(!(length === 0 || (length === 1 && chunk[start + 2] === 0x30)));
    } else if (PLAIN_CSI_FINAL_BYTES[final] !== 1) {
      return -1;
    } else if (final === 0x4a && (j - start > 3 || (j - start === 3 && chunk[start + 2]! > 0x32))) {
      return -1;
    } else if (final === 0x54 && chunk.indexOf(0x3b, start) < j && chunk.indexOf(0x3b, start) >= 0) {
      return -1;
    }
    return j + 1;
  }

  /** The agent is gone: an unfinished sequence is dropped. */
  end(): Buffer {
    this.state = State.Ground;
    const dangling = this.held !== undefined;
    this.held = undefined;
    return dangling ? Buffer.from(REPLACEMENT) : Buffer.alloc(0);
  }

  private room(extra: number): void {
    if (this.op + extra <= this.o.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.o.length * 2, this.op + extra + 64));
    this.o.copy(bigger, 0, 0, this.op);
    this.o = bigger;
  }

  private copy(chunk: Buffer, start: number, end: number): void {
    this.room(end - start);
    // Buffer#copy has a fixed cost that dominates short runs (between two sequences).
    if (end - start > 48) {
      chunk.copy(this.o, this.op, start, end);
      this.op += end - start;
    } else {
      const o = this.o;
      let op = this.op;
      for (let k = start; k < end; k++) o[op++] = chunk[k]!;
      this.op = op;
    }
  }

  private emitBytes(data: Buffer): void {
    this.copy(data, 0, data.length);
  }

  /** An ASCII string (a sequence the filter rebuilt). */
  private emit(text: string): void {
    this.room(text.length);
    for (let k = 0; k < text.length; k++) this.o[this.op++] = text.charCodeAt(k);
  }

  /** C1 control c (0x80-0x9f): the same as ESC followed by c - 0x40. */
  private c1(c: number): void {
    this.state = State.Escape;
    this.step(c - 0x40);
  }

  /** One byte inside an escape sequence or string. */
  private step(b: number): void {
    switch (this.state) {
      case State.Escape:
      case State.EscapeIntermediate:
        return this.escapeByte(b);
      case State.Csi:
      case State.CsiIgnore:
        return this.csiByte(b);
      case State.Osc:
        return this.oscByte(b);
      case State.OscEscape:
        if (b === 0x5c) return this.endOsc();
        this.state = State.Escape;
        return this.escapeByte(b);
      case State.StringIgnore:
        if (b === ESC) this.state = State.StringIgnoreEscape;
        else if (b === CAN || b === SUB || b === 0x9c || b === BEL) this.state = State.Ground;
        return;
      case State.StringIgnoreEscape:
        if (b === 0x5c) {
          this.state = State.Ground;
          return;
        }
        this.state = State.Escape;
        return this.escapeByte(b);
      default:
        return;
    }
  }

  /** SO or SI: passed, and which of G0/G1 is in use recorded. */
  private shift(b: number): void {
    this.modes.shift(b === SO);
    this.room(1);
    this.o[this.op++] = b;
  }

  /** A C0 control met inside a sequence: terminals execute it there. */
  private executeC0(b: number): void {
    if (b === SO || b === SI) return this.shift(b);
    if (PLAIN[b] !== 1) return;
    this.room(1);
    this.o[this.op++] = b;
  }

  private escapeByte(b: number): void {
    if (b === ESC) {
      this.state = State.Escape;
      this.intermediates = '';
      return;
    }
    if (b === CAN || b === SUB || b >= 0x80) {
      this.state = State.Ground;
      this.intermediates = '';
      return;
    }
    if (b < 0x20) return this.executeC0(b);
    if (b < 0x30) {
      if (this.intermediates.length < 2) this.intermediates += String.fromCharCode(b);
      this.state = State.EscapeIntermediate;
      return;
    }
    if (b === 0x7f) return;
    const intermediates = this.intermediates;
    this.intermediates = '';
    this.state = State.Ground;
    if (intermediates === '') {
      switch (b) {
        case 0x5b: // [
          this.state = State.Csi;
          this.prefix = this.params = '';
          return;
        case 0x5d: // ]
          this.state = State.Osc;
          this.oscLength = 0;
          this.oscOverflow = false;
          this.oscUtf8Need = 0;
          return;
        case 0x50: // P: DCS
        case 0x58: // X: SOS
        case 0x5e: // ^: PM
        case 0x5f: // _: APC
          this.state = State.StringIgnore;
          return;
      }
    }
    this.escape(intermediates, String.fromCharCode(b));
  }

  /** A complete ESC sequence (not CSI or a string). */
  private escape(intermediates: string, final: string): void {
    if (intermediates === '') {
      switch (final) {
        case '7': // DECSC
        case '8': // DECRC
        case 'D': // IND
        case 'E': // NEL
        case 'M': // RI
          this.emit(`\x1b${final}`);
          return;
        case '=':
        case '>':
          this.modes.keypadApplication(final === '=');
          this.emit(`\x1b${final}`);
          return;
        case 'c': // RIS
          this.modes.reset();
          this.emit('\x1bc');
          return;
        default:
          return; // HTS (tab stops outlive au), DECID (answers like DA), single and G2/G3 shifts, 8-bit controls...
      }
    }
    // Character sets: G0-G3 designations. ESC % (leaving UTF-8) and ESC SP (8-bit controls) are dropped.
    if (
      (intermediates === '(' || intermediates === ')' || intermediates === '*' || intermediates === '+') &&
      /^[0-9A-Za-z<>=]$/.test(final)
    ) {
      if (intermediates === '(' || intermediates === ')') this.modes.designateCharset(intermediates === '(' ? 0 : 1, final);
      this.emit(`\x1b${intermediates}${final}`);
      return;
    }
    if (intermediates === '#' && final === '8') this.emit('\x1b#8'); // DECALN
  }

  private csiByte(b: number): void {
    if (b >= 0x40 && b <= 0x7e) {
      const ignore = this.state === State.CsiIgnore;
      this.state = State.Ground;
      if (!ignore) this.csi(this.prefix, this.params, this.intermediates, String.fromCharCode(b));
      this.intermediates = '';
      return;
    }
    if (b === ESC) {
      this.intermediates = '';
      this.state = State.Escape;
      return;
    }
    if (b === CAN || b === SUB || b >= 0x80) {
      this.intermediates = '';
      this.state = State.Ground;
      return;
    }
    if (b < 0x20) return this.executeC0(b);
    if (b === 0x7f || this.state === State.CsiIgnore) return;
    if (b < 0x30) {
      if (this.intermediates.length >= 2) this.state = State.CsiIgnore;
      else this.intermediates += String.fromCharCode(b);
      return;
    }
    // A parameter byte after an intermediate, or a prefix not in first place: terminals ignore the sequence.
    if (this.intermediates !== '') {
      this.state = State.CsiIgnore;
      return;
    }
    if (b >= 0x3c) {
      if (this.params === '' && this.prefix === '') this.prefix = String.fromCharCode(b);
      else this.state = State.CsiIgnore;
      return;
    }
    if (this.params.length >= MAX_CSI_PARAMS) {
      this.state = State.CsiIgnore;
      return;
    }
    this.params += String.fromCharCode(b);
  }

  /** A complete CSI sequence: passed (with counts clamped) if allowed. */
  private csi(prefix: string, rawParams: string, intermediates: string, final: string): void {
    const params = clampParams(rawParams);
    const verdict = this.csiVerdict(prefix, params, intermediates, final);
    if (verdict === Verdict.Query && this.answerQueries) this.queriesPassed++;
    if (verdict === Verdict.Pass || (verdict === Verdict.Query && this.answerQueries))
      this.emit(`\x1b[${prefix}${params}${intermediates}${final}`);
  }

  private csiVerdict(prefix: string, params: string, intermediates: string, final: string): Verdict {
    if (intermediates === '') {
      if (prefix === '') {
        if (PLAIN_CSI_FINALS.has(final)) {
          if (final === 'T' && params.includes(';')) return Verdict.Drop; // mouse highlight tracking (answers)
          if (final === 'J' && !isScreenErase(params)) return Verdict.Drop; // ED 3 erases the scrollback
          return Verdict.Pass;
        }
        switch (final) {
          case 'm':
            this.modes.sgr(params);
            return Verdict.Pass;
          case 'r':
            this.modes.setScrollRegion(params);
            return Verdict.Pass;
          case 's':
            return Verdict.Pass;
          case 'u':
            return params === '' ? Verdict.Pass : Verdict.Drop;
          case 'h':
          case 'l':
            this.emitModes('', params, final, false);
            return Verdict.Drop;
          case 'n':
            return params === '5' || params === '6' ? Verdict.Query : Verdict.Drop;
          case 'c':
            return params === '' || params === '0' ? Verdict.Query : Verdict.Drop;
          case 't':
            // Window operations (reports, resizing) and the agent's own title push/pop (which
            // could pop the human's saved title) are dropped: au saves and gives back the title.
            return Verdict.Drop;
          default:
            return Verdict.Drop;
        }
      }
      if (prefix === '?') {
        switch (final) {
          case 'h':
          case 'l':
            this.emitModes('?', params, final, true);
            return Verdict.Drop;
          case 'J':
            return isScreenErase(params) ? Verdict.Pass : Verdict.Drop;
          case 'K':
            return Verdict.Pass;
          case 'n':
            return params === '6' ? Verdict.Query : Verdict.Drop;
          case 'u':
            return params === '' ? Verdict.Query : Verdict.Drop;
          default:
            return Verdict.Drop;
        }
      }
      if (prefix === '>') {
        switch (final) {
          case 'c':
            return params === '' || params === '0' ? Verdict.Query : Verdict.Drop;
          case 'm': {
            // XTMODKEYS: one resource (0-7), each changed one reset at the end.
            const resource = /^([0-7])(?:;\d{1,4})?$/.exec(params);
            if (!resource) return Verdict.Drop;
            this.modes.modifyKeys(Number(resource[1]));
            return Verdict.Pass;
          }
          case 'u':
            return this.modes.kittyPush(MAX_KITTY_PUSHES) ? Verdict.Pass : Verdict.Drop;
          default:
            return Verdict.Drop;
        }
      }
      if (final === 'u' && prefix === '<') return this.kittyPop(params);
      if (final === 'u' && prefix === '=') {
        this.modes.kittySet();
        return Verdict.Pass;
      }
      return Verdict.Drop;
    }
    if (prefix === '' && intermediates === ' ' && final === 'q') {
      this.modes.setCursorStyle();
      return Verdict.Pass;
    }
    if (prefix === '' && intermediates === '!' && final === 'p') return Verdict.Pass; // DECSTR
    // DECRQM: the answer is the mode's number and a digit for its state.
    if ((prefix === '' || prefix === '?') && intermediates === '$' && final === 'p' && /^\d+$/.test(params)) return Verdict.Query;
    return Verdict.Drop;
  }

  /** Kitty keyboard pop: never more entries than the agent pushed (the rest are the human's). */
  private kittyPop(params: string): Verdict {
    if (!/^\d{0,4}$/.test(params)) return Verdict.Drop;
    const asked = params === '' ? 1 : Math.max(Number(params), 1);
    const count = this.modes.kittyPop(asked);
    if (count === 0) return Verdict.Drop;
    if (count < asked) {
      this.emit(`\x1b[<${count}u`);
      return Verdict.Drop;
    }
    return Verdict.Pass;
  }

  /** DECSET/DECRST and SM/RM: only the allowed modes of the list pass. */
  private emitModes(prefix: string, params: string, final: string, dec: boolean): void {
    const kept: number[] = [];
    for (const part of params.split(';')) {
      if (!/^\d+$/.test(part)) continue;
      const mode = Number(part);
      if (dec ? !PASSED_PRIVATE_MODES.has(mode) : mode !== 4 && mode !== 20) continue;
      kept.push(mode);
      if (prefix === '?') this.modes.privateMode(mode, final === 'h');
      else this.modes.ansiMode(mode, final === 'h');
    }
    if (kept.length > 0) this.emit(`\x1b[${prefix}${kept.join(';')}${final}`);
  }

  private oscByte(b: number): void {
    if (b === 0x9c) {
      // 0x9c is ST, raw or as U+009C (C2 9C), but not inside a longer character (U+201C).
      const inside = this.oscUtf8Need > 0 && !(this.oscUtf8Need === 1 && this.osc[this.oscLength - 1] === 0xc2);
      if (!inside) {
        if (this.oscUtf8Need > 0) this.oscLength--;
        return this.endOsc();
      }
    }
    if (b >= 0xc0) this.oscUtf8Need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
    else if (b >= 0x80 && this.oscUtf8Need > 0) this.oscUtf8Need--;
    else this.oscUtf8Need = 0;
    if (b === BEL) return this.endOsc();
    if (b === ESC) {
      this.state = State.OscEscape;
      return;
    }
    if (b === CAN || b === SUB) {
      this.state = State.Ground;
      return;
    }
    // Terminals skip the other C0 controls inside a string.
    if (b < 0x20) return;
    if (this.oscOverflow) return;
    const limit = this.allowClipboard ? MAX_CLIPBOARD : MAX_STRING;
    if (this.oscLength >= limit) {
      this.oscOverflow = true;
      return;
    }
    if (this.oscLength === this.osc.length) {
      const bigger = Buffer.alloc(Math.min(this.osc.length * 2, limit));
      this.osc.copy(bigger);
      this.osc = bigger;
    }
    this.osc[this.oscLength++] = b;
  }

  private endOsc(): void {
    this.state = State.Ground;
    if (this.oscOverflow) return;
    const payload = this.osc.toString('latin1', 0, this.oscLength);
    if (this.osc.length > 4096) this.osc = Buffer.alloc(256);
    const semicolon = payload.indexOf(';');
    const ps = semicolon < 0 ? payload : payload.slice(0, semicolon);
    if (!/^\d{1,4}$/.test(ps)) return;
    const command = Number(ps);
    const rest = semicolon < 0 ? '' : payload.slice(semicolon + 1);
    switch (command) {
      case 0:
      case 1:
      case 2: {
        const title = safeTitle(rest);
        // The human's title is saved before the agent's first one, and given back at the end.
        if (this.modes.saveTitle()) this.emit('\x1b[22;0t');
        this.emitBytes(Buffer.from(`\x1b]${command};${title}\x1b\\`, 'utf8'));
        return;
      }
      case 8: {
        const link = /^([\x20-\x3a\x3c-\x7e]*);(.*)$/s.exec(rest);
        if (!link || link[1]!.length > 256 || !safeUri(link[2]!)) return;
        this.emit(`\x1b]8;${link[1]};${link[2]}\x1b\\`);
        return;
      }
      case 10:
      case 11:
      case 12:
        // The terminal's own colours (colour changes never pass, so the agent chose nothing in them).
        if (rest === '?' && this.answerQueries) {
          this.queriesPassed++;
          this.emit(`\x1b]${command};?\x1b\\`);
        }
        return;
      case 52: {
        // Writes only, and only when the human asked for them; a query ("?") never passes.
        const write = /^([cpqs0-7]*);([A-Za-z0-9+/]*={0,2})$/.exec(rest);
        if (this.allowClipboard && write) this.emit(`\x1b]52;${write[1]};${write[2]}\x1b\\`);
        return;
      }
      default:
        return;
    }
  }
}

/** The index of the first byte at or after j that is not plain (printable ASCII, BEL, BS..CR). */
function skipPlain(chunk: Buffer, j: number, n: number): number {
  while (j < n) {
    const c = chunk[j]!;
    if (c >= 0x20 ? c >= 0x7f : c < 0x07 || c > 0x0d) return j;
    j++;
  }
  return n;
}

/**
 * Length of the valid UTF-8 character at chunk[i] (a lead byte C2-F4); 0 if the chunk ends
 * before it does; -k if it is invalid after k bytes (shown as one U+FFFD, the rest read anew).
 */
function utf8Length(chunk: Buffer, i: number): number {
  const b = chunk[i]!;
  const need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
  let min = 0x80;
  let max = 0xbf;
  if (b === 0xe0) min = 0xa0;
  else if (b === 0xed) max = 0x9f;
  else if (b === 0xf0) min = 0x90;
  else if (b === 0xf4) max = 0x8f;
  for (let k = 1; k <= need; k++) {
    if (i + k >= chunk.length) return 0;
    const c = chunk[i + k]!;
    if (c < min || c > max) return -k;
    min = 0x80;
    max = 0xbf;
  }
  return need + 1;
}

/** ED / DECSED parameters that erase the screen only (not 3, the scrollback). */
function isScreenErase(params: string): boolean {
  return params === '' || params === '0' || params === '1' || params === '2';
}

/** Parameters with every number above MAX_COUNT lowered to it. */
function clampParams(params: string): string {
  if (params.length < 5) return params;
  return params.replace(/\d{5,}/g, (digits) => (Number(digits) > MAX_COUNT ? String(MAX_COUNT) : digits));
}

/** A title as text only: no control characters (C0, DEL, C1), bounded. */
function safeTitle(raw: string): string {
  const text = Buffer.from(raw, 'latin1').toString('utf8');
  let title = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    title += ch;
    if (title.length >= MAX_TITLE) break;
  }
  return title;
}

/** Hyperlink targets: none (closing a link), or http, https and file URIs of printable ASCII. */
function safeUri(uri: string): boolean {
  if (uri === '') return true;
  return uri.length <= MAX_URI && /^(https?|file):\/\/[\x21-\x7e]*$/i.test(uri);
}
