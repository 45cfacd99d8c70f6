// Hostile terminal output for the tests of everything that parses agent output: CSI sequences
// with huge counts, floods of combining marks, string sequences, broken UTF-8, resets.
const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');

/** The sequence that made xterm.js allocate 10^10 elements (and kill the server): 22 bytes. */
export const REPEAT_CRASH = Buffer.from('a\xcc\x81\xcc\x81\xcc\x81\xcc\x81\x1b[2147483647b', 'latin1');
/** Without the marks, 14 bytes that blocked the server's event loop for minutes. */
export const REPEAT_BLOCK = Buffer.from('a\x1b[2147483647b', 'latin1');

/** A deterministic generator, so a failing fuzz case can be replayed. */
export function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Hostile output: CSI sequences with huge counts, floods of combining marks, strings, broken UTF-8. */
export function hostileStream(seed: number, pieces: number): Uint8Array {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pieces; i++) {
    switch (pick(['csi', 'marks', 'text', 'string', 'junk', 'esc'] as const)) {
      case 'csi': {
        const count = pick(['2147483647', '4294967295', '99999999999999999999', '0', '', '65535', '1000000']);
        const final = pick([...'b@LMSTIZXPCDEFGABHfrde`a']);
        const middle = pick(['', '', '?', ' ', "'", '1;', ':']);
        parts.push(bytes(`${pick(['a', 'x', '', 'é'])}\x1b[${middle}${count}${final}`));
        break;
      }
      case 'marks':
        parts.push(utf8(`a${'\u0301'.repeat(1 + Math.floor(next() * 50))}`));
        break;
      case 'text':
        parts.push(utf8(pick(['hello ', '漢字', '\r\n', '\t', 'é\u0302\u0303', '\x1b[31mred\x1b[0m'])));
        break;
      case 'string':
        parts.push(
          bytes(pick(['\x1b]8;;http://evil/\x07link\x1b]8;;\x07', '\x1b]52;c;AAAA\x1b\\', '\x1bPq#0;2;0;0;0\x1b\\', '\x1b]0;title'])),
        );
        break;
      case 'junk':
        parts.push(Uint8Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 256)));
        break;
      case 'esc':
        parts.push(bytes(pick(['\x1bc', '\x1b#8', '\x1b(0', '\x1bM', '\x1b7', '\x1b8', '\x1b'])));
        break;
    }
  }
  return Buffer.concat(parts);
}
