import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalOutputFilter, type OutputFilterOptions } from '../../src/terminal/output-filter.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const whole = (input: Buffer, options: OutputFilterOptions = {}): Buffer => {
  const f = new TerminalOutputFilter(options);
  return Buffer.concat([f.push(input), f.end()]);
};
const pieces = (parts: Buffer[], options: OutputFilterOptions = {}): Buffer => {
  const f = new TerminalOutputFilter(options);
  return Buffer.concat([...parts.map((p) => f.push(p)), f.end()]);
};

/** The same output whole, split in two at every byte, and one byte at a time. */
function filterEverySplit(input: Buffer, options: OutputFilterOptions = {}): Buffer {
  const expected = whole(input, options);
  for (let cut = 1; cut < input.length; cut++) {
    assert.deepEqual(
      pieces([input.subarray(0, cut), input.subarray(cut)], options),
      expected,
      `split at ${cut} of ${JSON.stringify(input.toString('latin1'))}`,
    );
  }
  assert.deepEqual(
    pieces(
      [...input].map((b) => Buffer.from([b])),
      options,
    ),
    expected,
    'byte by byte',
  );
  // What the filter lets out is canonical: filtering it again changes nothing.
  assert.deepEqual(whole(expected, options), expected, 'fixed point');
  return expected;
}

const B64 = 'ZWNobyBvd25lZA==';
/** Clipboard writes and queries, and other requests, in the spellings terminals accept. */
const ATTACKS: Record<string, string> = {
  'OSC 52 BEL': `\x1b]52;c;${B64}\x07`,
  'OSC 52 ST': `\x1b]52;c;${B64}\x1b\\`,
  'OSC 052': `\x1b]052;c;${B64}\x07`,
  'OSC 0052 empty selection': `\x1b]0052;;${B64}\x07`,
  'OSC 5 SOH 2': `\x1b]5\x012;c;${B64}\x07`,
  'OSC 52 with C0 inside the data': `\x1b]52;c;ZWNo\x0d\x0abyBvd25lZA==\x07`,
  'OSC 52 query': '\x1b]52;c;?\x07',
  'OSC 52 query, C0 inside': '\x1b]5\x1f2;\x08c;?\x1b\\',
  '8-bit OSC 52': `\x9d52;c;${B64}\x9c`,
  '8-bit OSC 52 ended by BEL': `\x9d52;c;${B64}\x07`,
  'UTF-8 C1 OSC 52': `\xc2\x9d52;c;${B64}\xc2\x9c`,
  'ESC-ESC-] OSC 52': `\x1b\x1b]52;c;${B64}\x07`,
  'OSC 52 after an interrupted CSI': `\x1b[1\x1b]52;c;${B64}\x07`,
  'tmux passthrough': `\x1bPtmux;\x1b\x1b]52;c;${B64}\x07\x1b\\`,
  '8-bit DCS passthrough': `\x90tmux;\x1b\x1b]52;c;${B64}\x07\x9c`,
  DECRQSS: '\x1bP$qm\x1b\\',
  XTGETTCAP: '\x1bP+q544e\x1b\\',
  APC: '\x1b_Gf=100;AAAA\x1b\\',
  'PM and SOS': '\x1b^secret\x1b\\\x1bXsecret\x1b\\',
  'title report': '\x1b[21t',
  '8-bit title report': '\x9b21t',
  'UTF-8 C1 title report': '\xc2\x9b21t',
  'window report and resize': '\x1b[18t\x1b[8;1;1t\x1b[14t',
  XTVERSION: '\x1b[>q',
  DA3: '\x1b[=c',
  DECID: '\x1bZ',
  '8-bit DECID': '\x9a',
  'ENQ answerback': '\x05',
  'colour query and set': '\x1b]4;1;?\x07\x1b]10;rgb:00/00/00\x07\x1b]11;#000\x07',
  'OSC 50 font query': '\x1b]50;?\x07',
  '8-bit controls on (S8C1T), leave UTF-8': '\x1b G\x1b%@',
  'DECSCL 8-bit': '\x1b[62;0"p',
  'DECRQCRA checksum': '\x1b[1;1;1;1;1;1*y',
  'modifyOtherKeys query': '\x1b[?4m',
  'OSC 8 javascript URI': '\x1b]8;;javascript:alert(1)\x1b\\',
  'OSC 8 URI with control': '\x1b]8;;https://x/\x1b[31m\x1b\\',
};

test('clipboard writes and queries, passthrough and terminal reports are dropped in every spelling, at every split', () => {
  for (const [name, attack] of Object.entries(ATTACKS)) {
    const input = bytes(`a${attack}b`);
    for (const answerQueries of [false, true]) {
      const out = filterEverySplit(input, { answerQueries });
      const text = out.toString('latin1');
      assert.ok(/^a(\x1b\[31m)?b$/.test(text) || text === 'ab', `${name}: ${JSON.stringify(text)}`);
    }
  }
});

test('--allow-clipboard passes OSC 52 writes (canonically), never queries', () => {
  const opts = { allowClipboard: true };
  assert.equal(filterEverySplit(bytes(`\x1b]052;c;${B64}\x07`), opts).toString('latin1'), `\x1b]52;c;${B64}\x1b\\`);
  assert.equal(filterEverySplit(bytes('x\x1b]52;c;?\x07y'), opts).toString('latin1'), 'xy');
  // Terminals end a DCS at an ESC that is not ST: the wrapped write is a plain OSC 52 for them.
  assert.equal(filterEverySplit(bytes(`x\x1bPtmux;\x1b\x1b]52;c;${B64}\x07\x1b\\y`), opts).toString('latin1'), `x\x1b]52;c;${B64}\x1b\\y`);
});

test('text, SGR, cursor and screen control, TUI modes, titles and safe links pass unchanged', () => {
  const kept = [
    'plain text\r\n\ttabbed\x08\x07',
    'UTF-8: é ü “quoted” € 日本語 🦀 ‍ e\u0301',
    '\x1b[31mred\x1b[0m \x1b[38;2;10;20;30mrgb\x1b[38:5:208m\x1b[1;4;7m\x1b[m',
    '\x1b[H\x1b[2J\x1b[10;20H\x1b[5A\x1b[3B\x1b[2C\x1b[D\x1b[K\x1b[1K\x1b[2K\x1b[J\x1b[3;20r\x1b[r\x1b[4@\x1b[2P\x1b[3X\x1b[2L\x1b[M\x1b[S\x1b[2T\x1b[5G\x1b[7d\x1b[3b',
    '\x1b7\x1b8\x1bM\x1bD\x1bE\x1b=\x1b>\x1b(0lqk\x1b(B\x1b[s\x1b[u',
    '\x1b[?1049h\x1b[?25l\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?2004h\x1b[?1004h\x1b[?2026h\x1b[?1h\x1b[?7l\x1b[?12h',
    '\x1b[?2026l\x1b[?1049l\x1b[?25h\x1b[4h\x1b[4l\x1b[2 q\x1b[0 q\x1b[!p\x1b[>4;2m\x1b[>4m\x1b[>1u\x1b[<u\x1b[=1;1u',
    // au pushes the human's title before the agent's first one (and pops it at the end).
    '\x1b[22;0t\x1b]0;my title\x1b\\\x1b]2;vim - file.txt\x1b\\',
    '\x1b]8;id=1;https://example.com/a?b=c\x1b\\link\x1b]8;;\x1b\\ \x1b]8;;file:///etc/hosts\x1b\\f\x1b]8;;\x1b\\',
  ];
  for (const text of kept) {
    const input = Buffer.from(text, 'utf8');
    assert.equal(filterEverySplit(input).toString('utf8'), text);
  }
});

test('titles pass without control characters, bounded; BEL-terminated titles are re-emitted with ST', () => {
  assert.equal(filterEverySplit(bytes('\x1b]2;a\x01b\x7fc\x07')).toString('latin1'), '\x1b[22;0t\x1b]2;abc\x1b\\');
  assert.equal(filterEverySplit(Buffer.from('\x1b]0;x\u0085y\u009bz\x07', 'utf8')).toString('utf8'), '\x1b[22;0t\x1b]0;xyz\x1b\\');
  const long = whole(bytes(`\x1b]0;${'t'.repeat(5000)}\x07`)).toString('latin1');
  assert.ok(long.length < 600);
  // Too long for the filter's buffer: dropped whole, and what follows is text again.
  assert.equal(whole(bytes(`\x1b]0;${'t'.repeat(20000)}\x07after`)).toString('latin1'), 'after');
});

test('queries with terminal-made numeric answers pass only for a live agent', () => {
  const queries = '\x1b[6n\x1b[5n\x1b[c\x1b[>c\x1b[?6n\x1b[?u\x1b[?2004$p\x1b]11;?\x1b\\';
  assert.equal(filterEverySplit(bytes(`a${queries}b`), { answerQueries: true }).toString('latin1'), `a${queries}b`);
  assert.equal(filterEverySplit(bytes(`a${queries}b`), { answerQueries: false }).toString('latin1'), 'ab');
});

test('huge counts are clamped, too many parameters dropped', () => {
  assert.equal(filterEverySplit(bytes('a\xcc\x81\x1b[2147483647b')).toString('latin1'), 'a\xcc\x81\x1b[9999b');
  assert.equal(whole(bytes('\x1b[99999999@\x1b[99999;99999H\x1b[4294967296X')).toString('latin1'), '\x1b[9999@\x1b[9999;9999H\x1b[9999X');
  assert.equal(whole(bytes(`x\x1b[${'1;'.repeat(100)}my`)).toString('latin1'), 'xy');
});

test('C1 controls become their 7-bit form, invalid UTF-8 becomes U+FFFD, other C0 controls are dropped', () => {
  assert.equal(filterEverySplit(bytes('a\x9b31mb\xc2\x9b1mc\x84\x85')).toString('latin1'), 'a\x1b[31mb\x1b[1mc\x1bD\x1bE');
  assert.equal(
    filterEverySplit(bytes('a\xffb\xe2\x28c\xc0\xafd\xed\xa0\x80')).toString('utf8'),
    'a\uFFFDb\uFFFD(c\uFFFD\uFFFDd\uFFFD\uFFFD',
  );
  assert.equal(filterEverySplit(bytes('a\x00\x01\x05\x1c\x7fb')).toString('latin1'), 'ab');
  // C0 controls inside a CSI are executed there, as terminals do.
  assert.equal(filterEverySplit(bytes('\x1b[3\n1m')).toString('latin1'), '\n\x1b[31m');
  // A character cut by the end of the output.
  const f = new TerminalOutputFilter();
  assert.equal(Buffer.concat([f.push(bytes('ok\xe2\x82')), f.end()]).toString('utf8'), 'ok\uFFFD');
});

test('the modes an agent leaves set are undone, and only those', () => {
  const f = new TerminalOutputFilter();
  f.push(bytes('\x1b[?1049h\x1b[?25l\x1b[?1000;1006h\x1b[?2004h\x1b=\x1b[31m\x1b[?1004h\x1b[>1u'));
  const restore = f.modes.restoreSequence();
  for (const part of [
    '\x1b[?1000l',
    '\x1b[?1006l',
    '\x1b[?2004l',
    '\x1b[?1004l',
    '\x1b>',
    '\x1b[0m',
    '\x1b[<1u',
    '\x1b[?1049l',
    '\x1b[?25h',
  ]) {
    assert.ok(restore.includes(part), `${JSON.stringify(part)} in ${JSON.stringify(restore)}`);
  }
  assert.ok(restore.indexOf('\x1b[?1049l') > restore.indexOf('\x1b[?1000l'));
  const g = new TerminalOutputFilter();
  g.push(bytes('\x1b[?1049h\x1b[?25l\x1b[?1049l\x1b[?25h\x1b[31m\x1b[0m'));
  assert.equal(g.modes.restoreSequence(), '');
});

test('after a stop (fg), the screen and input modes the agent had are set again, the alternate screen first', () => {
  const f = new TerminalOutputFilter();
  f.push(bytes('\x1b[?1049h\x1b[?25l\x1b[?1000;1006h\x1b[?2004h\x1b=\x1b[?2026h'));
  const again = f.modes.reapplySequence();
  assert.equal(again, '\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?25l\x1b=');
  // Still known after being undone for the stop, so the next stop or the end undoes them again.
  assert.ok(f.modes.restoreSequence().includes('\x1b[?1049l'));
  assert.equal(new TerminalOutputFilter().modes.reapplySequence(), '');
});

test('keyboard protocol changes are undone: pushes popped, flags set in place reset', () => {
  const f = new TerminalOutputFilter();
  f.push(bytes('\x1b[>1u\x1b[>3u\x1b[<u'));
  assert.equal(f.modes.restoreSequence(), '\x1b[<1u');
  const g = new TerminalOutputFilter();
  g.push(bytes('\x1b[=5;1u'));
  assert.equal(g.modes.restoreSequence(), '\x1b[=0u');
});

test('fuzz: whatever the agent prints, only allowlisted, canonical sequences come out, at any split', () => {
  // Tokens a hostile agent would mix: introducers in every form, numbers, separators, C0, C1, UTF-8.
  const tokens = [
    '\x1b',
    '[',
    ']',
    'P',
    '_',
    '^',
    'X',
    '\\',
    '\x07',
    '\x9b',
    '\x9d',
    '\x90',
    '\x9c',
    '\xc2\x9b',
    '\xc2\x9d',
    '\xc2\x9c',
    '\xc2',
    '\xe2\x80',
    '\x9c',
    '52',
    '052',
    '5\x012',
    ';',
    'c',
    '?',
    ':',
    '0',
    '2',
    '8',
    '11',
    '1049',
    'h',
    'l',
    'm',
    't',
    'q',
    '$',
    'tmux;',
    'Zm9v',
    '\x18',
    '\x1a',
    '\x05',
    '\x00',
    'a',
    ' ',
    '\x7f',
    '\xff',
    'é',
    '2147483647',
    'b',
    'u',
    '>',
    '=',
  ];
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 400; round++) {
    let text = '';
    for (let k = 0; k < 40; k++) text += tokens[random(tokens.length)];
    const input = bytes(text);
    for (const answerQueries of [false, true]) {
      const out = whole(input, { answerQueries });
      const cut = random(input.length);
      assert.deepEqual(pieces([input.subarray(0, cut), input.subarray(cut)], { answerQueries }), out, JSON.stringify(text));
      assert.deepEqual(whole(out, { answerQueries }), out, `not canonical: ${JSON.stringify(text)}`);
      const shown = out.toString('latin1');
      // No string introducer but titles, links (and colour queries for a live agent).
      for (const m of shown.matchAll(/\x1b\](\d*)/g))
        assert.ok(
          ['0', '1', '2', '8', ...(answerQueries ? ['10', '11', '12'] : [])].includes(m[1]!),
          `OSC ${m[1]} from ${JSON.stringify(text)}`,
        );
      assert.doesNotMatch(shown, /\x1b[P_^X]/, `string from ${JSON.stringify(text)}`);
      // No C1 control, raw or in UTF-8, and only valid UTF-8.
      const decoded = out.toString('utf8');
      assert.deepEqual(Buffer.from(decoded, 'utf8'), out, `invalid UTF-8 from ${JSON.stringify(text)}`);
      assert.doesNotMatch(decoded, /[\u0080-\u009f]/, `C1 from ${JSON.stringify(text)}`);
      assert.doesNotMatch(shown, /\x1b\[\d*(;\d*)*[0-9]{5}/, `unclamped count from ${JSON.stringify(text)}`);
    }
  }
});
