// What a terminal sends by itself, as opposed to what its user types: focus reports, answers to
// the program's queries (device attributes, cursor position, status, modes, window size, OSC
// and DCS replies) and mouse reports. A viewer who only watches sends nothing else, so an
// observer's input made of these alone is not a refusal (the web page does not send them at all;
// see src/web/input.ts). No Node API here: the web page bundles this file.
//
// One ambiguity is inherent: a cursor position report (CSI row;col R) looks like F3 with
// modifiers in the legacy key encoding (CSI 1;mod R); such an observer key is dropped silently.

const ESC = 0x1b;
const BEL = 0x07;
const isDigitOrSemicolon = (byte: number): boolean => (byte >= 0x30 && byte <= 0x39) || byte === 0x3b;

/** Length of the report starting at `at` (an ESC), or 0 when what starts there is no report. */
function reportLength(data: Uint8Array, at: number): number {
  if (data[at] !== ESC || at + 2 > data.length) return 0;
  const kind = data[at + 1];
  if (kind === 0x5d || kind === 0x50) {
    // OSC ... (BEL | ST) and DCS ... ST: answers to colour queries and DECRQSS.
    for (let i = at + 2; i < data.length; i++) {
      if (data[i] === BEL && kind === 0x5d) return i + 1 - at;
      if (data[i] === ESC) return data[i + 1] === 0x5c ? i + 2 - at : 0;
    }
    return 0;
  }
  if (kind !== 0x5b) return 0;
  let i = at + 2;
  const first = data[i];
  if (first === 0x49 || first === 0x4f) return 3; // focus in / out
  if (first === 0x4d) return i + 4 <= data.length ? 6 : 0; // X10 mouse: CSI M b x y
  let prefix = 0;
  if (first === 0x3c || first === 0x3f || first === 0x3e) {
    prefix = first; // < SGR mouse, ? private reports, > secondary device attributes
    i++;
  }
  while (i < data.length && isDigitOrSemicolon(data[i]!)) i++;
  if (i >= data.length) return 0;
  const final = data[i]!;
  if (final === 0x24) {
    // DECRQM's answer: CSI [?] Ps;Pm $ y
    if (data[i + 1] !== 0x79) return 0;
    return i + 2 - at;
  }
  if (prefix === 0x3c) return final === 0x4d || final === 0x6d ? i + 1 - at : 0; // SGR mouse press / release
  // c device attributes, R cursor position, n status, t window reports, M urxvt mouse.
  if (
    final === 0x63 ||
    final === 0x52 ||
    final === 0x6e ||
    (final === 0x74 && prefix === 0) ||
    (final === 0x4d && prefix === 0 && i > at + 2)
  )
    return i + 1 - at;
  return 0;
}

/** True when `data` is one or more terminal reports and nothing else. */
export function isOnlyTerminalReports(data: Uint8Array): boolean {
  if (data.length === 0) return false;
  for (let at = 0; at < data.length;) {
    const length = reportLength(data, at);
    if (length === 0) return false;
    at += length;
  }
  return true;
}

/** True for a focus report (CSI I, CSI O): the viewer's window focus, never the agent's business. */
export const isFocusReport = (data: string): boolean => data === '\x1b[I' || data === '\x1b[O';

/** True for a mouse report (X10, SGR, urxvt encodings). */
export const isMouseReport = (data: string): boolean => /^(?:\x1b\[M[\s\S]{3}|\x1b\[<\d+;\d+;\d+[Mm]|\x1b\[\d+;\d+;\d+M)+$/.test(data);
