// Everything the CLI prints. Results go to stdout; diagnostics and printed system commands
// to stderr. Colours only on a terminal and never with NO_COLOR.
const colourful = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !('NO_COLOR' in process.env);

type Colour = 'red' | 'green' | 'yellow' | 'bold';
const CODES: Record<Colour, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] };

export function paint(text: string, colour: Colour, stream: NodeJS.WriteStream = process.stdout): string {
  if (!colourful(stream)) return text;
  const [open, close] = CODES[colour];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * TEXT with every character that could steer a terminal or forge a line written as an escape:
 * C0 controls (newline, ESC, ...), DEL and C1 controls as \xNN, the Unicode line separators
 * and bidirectional overrides as \u{NNNN}, and the backslash itself as \\ (so that an escape
 * au writes cannot be confused with one the name held). Used for every diagnostic that may carry
 * a path from a tree the agent can write (its folder names are the agent's to choose: A22).
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp === 0x5c) out += '\\\\';
    else if (
      cp === 0x2028 ||
      cp === 0x2029 ||
      (cp >= 0x200e && cp <= 0x200f) ||
      (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069)
    ) {
      out += `\\u{${cp.toString(16)}}`;
    } else out += ch;
  }
  return out;
}

export const warn = (line: string): void => {
  process.stderr.write(`${paint('warning:', 'yellow', process.stderr)} ${printable(line)}\n`);
};

/** `au: warning: LINE` (the form of warnings written outside a command's own output). */
export const auWarn = (line: string): void => {
  process.stderr.write(`au: warning: ${printable(line)}\n`);
};

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
