// Review 6: the output filter attacked as a parser (the agent's bytes in, what reaches the
// human's terminal out), and the state it leaves on the human's terminal after the agent ends.
// Attacks that succeed are `todo` with the reason, so the suite stays green.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_KITTY_PUSHES, TerminalOutputFilter, type OutputFilterOptions } from '../../src/terminal/output-filter.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
/** What the terminal receives for the whole stream, and what au writes at the end to undo it. */
const run = (input: string, options: OutputFilterOptions = {}): { out: string; restore: string } => {
  const f = new TerminalOutputFilter(options);
  const out = Buffer.concat([f.push(bytes(input)), f.end()]).toString('latin1');
  return { out, restore: f.modes.restoreSequence() };
};
const byteByByte = (input: string, options: OutputFilterOptions = {}): string => {
  const f = new TerminalOutputFilter(options);
  return Buffer.concat([...bytes(input)].map((b) => f.push(Buffer.from([b]))).concat(f.end())).toString('latin1');
};
const B64 = Buffer.from('echo owned').toString('base64');

test('review6 held: OSC 52 in further spellings never passes (no clipboard write, whole or byte by byte)', () => {
  const spellings = [
    `\x1b]52;c;${B64}\x9c`, // 8-bit ST after a 7-bit introducer
    `\x1b]52;c;${B64}\xc2\x9c`, // UTF-8 ST
    `\x1b]0052;c;${B64}\x07`,
    `\x1b]52\x00;c;${B64}\x07`, // NUL inside
    `\x1b]52;;${B64}\x07`, // empty selection
    `\x1b]5\x1b\x5c2;c;${B64}\x07`, // ST inside the number, then the rest as text
    `\x1b]52;c;${B64}\x1b]52;c;${B64}\x07`, // OSC inside an OSC (ESC not followed by \)
    `\x1b]8;;https://x/\x1b]52;c;${B64}\x07`,
    `\x1bP1$r\x1b]52;c;${B64}\x07\x1b\\`,
    `\x1b_Gx\x1b]52;c;${B64}\x07`, // APC (kitty graphics) then OSC 52 after its end
    `\x1b]1337;SetMark\x07\x1b]1337;File=inline=1:${B64}\x07`, // iTerm2
    `\x1b]5379;c;${B64}\x07`,
  ];
  for (const s of spellings) {
    for (const out of [run(s).out, byteByByte(s)]) assert.doesNotMatch(out, /\x1b\]0*52|\x9d|\xc2\x9d|1337/, JSON.stringify(s));
  }
});

test('review6 held: OSC 52 aborted by CAN/SUB, then a clean write, is one dropped string and one dropped write', () => {
  for (const abort of ['\x18', '\x1a']) {
    const { out } = run(`\x1b]52;c;${abort}${B64}\x1b]52;c;${B64}\x07`);
    assert.doesNotMatch(out, /\x1b\]/, JSON.stringify(abort));
  }
});

test('review6 held: tmux passthrough and DCS with allowed-looking prefixes are dropped with their content', () => {
  for (const s of [
    `\x1bPtmux;\x1b\x1b]52;c;${B64}\x07\x1b\\`,
    `\x90tmux;\x1b\x1b]52;c;${B64}\x07\x9c`,
    `\xc2\x90tmux;\x1b\x1b]52;c;${B64}\x07\xc2\x9c`,
    '\x1bP=1s\x1b\\', // synchronized update (DCS form)
    '\x1bP$q"p\x1b\\',
    '\x1bP+q544e\x1b\\',
    '\x1bP$t1;0;0;0;0$x\x1b\\', // DECRQSS, XTGETTCAP, DECRSPS
  ]) {
    const { out } = run(`a${s}b`);
    assert.equal(out.replace(/\x1b\]|/g, ''), out);
    assert.doesNotMatch(out, /\x1bP|\x90|52|544e|\$q/, JSON.stringify(s));
  }
});

test('review6 held: hyperlinks to javascript:, data:, or with control bytes / spaces / non-ASCII in the URI are dropped', () => {
  for (const uri of [
    'javascript:alert(1)',
    'data:text/html,x',
    'https://a b/',
    'https://x/\x7f',
    'https://x/\xc3\xa9',
    'ssh://x',
    'https://x/\x1b[31m',
  ]) {
    const { out } = run(`\x1b]8;;${uri}\x1b\\link\x1b]8;;\x1b\\`);
    assert.doesNotMatch(out, /\x1b\]8;;[^\x1b]/, JSON.stringify(uri));
  }
});

test('review6 held: titles are rebuilt as text only: no escape, C0, C1 or DEL, bounded', () => {
  // ESC inside the title ends the string (no title), and the CSI after it is dropped.
  assert.equal(run('\x1b]2;a\x1b[21tb\x07', { answerQueries: true }).out, 'b\x07');
  const { out } = run('\x1b]2;a\x01\x9b21t\xc2\x8521t\x7fb\x07');
  const m = /\x1b\]2;(.*)\x1b\\/s.exec(out);
  assert.ok(m, JSON.stringify(out));
  assert.doesNotMatch(m[1]!, /[\x00-\x1f\x7f\x80-\x9f]|\xc2[\x80-\x9f]/);
  const long = run(`\x1b]0;${'x'.repeat(100_000)}\x07`).out;
  assert.ok(long.length < 1024);
});

test('review6 held: colour changes (OSC 4/10/11/12/17/104/110) never pass, so OSC 10/11 answers carry nothing the agent set', () => {
  for (const s of [
    '\x1b]10;#ff0000\x07',
    '\x1b]11;rgb:ff/00/00\x07',
    '\x1b]12;red\x07',
    '\x1b]4;1;#000000\x07',
    '\x1b]17;red\x07',
    '\x1b]104\x07',
    '\x1b]110\x07',
    '\x1b]10;?;?\x07',
    '\x1b]10;?\x07',
  ]) {
    assert.equal(run(s).out, '', JSON.stringify(s));
  }
  assert.equal(run('\x1b]10;?\x07', { answerQueries: true }).out, '\x1b]10;?\x1b\\');
});

test('review6 held: reports that echo data (CSI 21 t, 13/14/18/19 t, DECRQSS, XTVERSION, DECXCPR, DECRQCRA, ENQ) are dropped even for a live agent', () => {
  for (const s of [
    '\x1b[21t',
    '\x1b[20t',
    '\x1b[13t',
    '\x1b[14t',
    '\x1b[18t',
    '\x1b[19t',
    '\x1b[>q',
    '\x1b[>0q',
    '\x1b[?6$p'.replace('?6', '?6;1'),
    '\x1b[1;1;1;1;1*y',
    '\x1b[?15n',
    '\x1b[?25n',
    '\x1b[5;1n',
    '\x05',
    '\x1bZ',
    '\x9aZ',
    '\x1b[=c',
    '\x1b[1$w',
    '\x1b[2$u',
    '\x1b[?996n',
    '\x1b[?1$p;',
  ]) {
    const { out } = run(s, { answerQueries: true });
    assert.doesNotMatch(out, /\x1b\[.*[tqynwu]$|\x05|\x1bZ|\x1b\[=c/, JSON.stringify(s));
  }
});

test("review6 held: huge counts are clamped and thousands of parameters drop the sequence (no DoS of the human's terminal)", () => {
  assert.equal(run('x\x1b[2147483647b').out, 'x\x1b[9999b');
  assert.equal(run('\x1b[99999999999999999999999999999999@').out, '\x1b[9999@');
  assert.equal(run(`\x1b[${'1;'.repeat(5000)}m`).out, '');
  assert.equal(run(`\x1b[${'9'.repeat(100_000)}L`).out, '');
  assert.equal(run(`\x1b[?${'1049;'.repeat(2000)}h`).out, '');
  // The fast path and the parser agree on a REP with sub-parameters.
  assert.equal(run('x\x1b[99999:1b').out, byteByByte('x\x1b[99999:1b'));
  assert.equal(run('x\x1b[9999;9999;9999b').out, byteByByte('x\x1b[9999;9999;9999b'));
});

test('review6 held: invalid UTF-8 never decodes to a C1 control (overlong C1, surrogates, lone continuation)', () => {
  for (const s of ['\xc0\x9b', '\xc1\x9b', '\xe0\x82\x9b', '\xf0\x80\x82\x9b', '\xed\xa0\x80', '\x9b', '\xc2', '\xc2\x1b[31m']) {
    const { out } = run(`${s}21t`);
    assert.doesNotMatch(out, /\x9b|\xc2\x9b|\xc0|\xc1/, JSON.stringify(s));
  }
  // Combining characters and ZWJ are text, passed as they are.
  const text = Buffer.from('e\u0301\u200d\u0489x', 'utf8');
  const f = new TerminalOutputFilter();
  assert.deepEqual(Buffer.concat([f.push(text), f.end()]), text);
});

test('review6 held: a DEC mode outside the allowlist is dropped from a list that also has allowed ones', () => {
  const { out } = run('\x1b[?1049;1001;1036;1048;69;2031;1070;8452h');
  assert.equal(out, '\x1b[?1049h');
});

// ---- State left on the human's terminal after the agent ends (the restore must undo it) ----

test('review6: G1 designated line drawing, then SO (shift out), is undone at the end', () => {
  const { out, restore } = run('\x1b)0\x0e');
  assert.equal(out, '\x1b)0\x0e', 'both pass');
  // Undoing needs SI (back to G0) or G1 re-designated to ASCII.
  assert.match(restore, /\x0f|\x1b\)B/);
});

test('review6: SO alone (G1 is line drawing by default on some terminals) is undone at the end', () => {
  assert.match(run('\x0e').restore, /\x0f/);
});

test('review6: G0 line drawing is undone at the end (control: tracked)', () => {
  assert.match(run('\x1b(0').restore, /\x1b\(B/);
});

test('review6: insert mode (SM 4, IRM) left on is undone at the end', () => {
  const { out, restore } = run('\x1b[4h');
  assert.equal(out, '\x1b[4h');
  assert.match(restore, /\x1b\[4l/);
});

test('review6: newline mode (SM 20, LNM) left on is undone at the end', () => {
  const { out, restore } = run('\x1b[20h');
  assert.equal(out, '\x1b[20h');
  assert.match(restore, /\x1b\[20l/);
});

test("review6: tab stops cleared (TBC) or moved (HTS) never reach the human's terminal (nothing to restore)", () => {
  // Fixed: TBC and HTS are dropped (no TUI needs them; the human's tab stops would outlive au).
  for (const s of ['\x1b[3g', '\x1b[0g', '\x1b[g', '\x1bH', '\x88', '\xc2\x88']) {
    assert.equal(run(`a${s}b`).out, 'ab', JSON.stringify(s));
    assert.equal(byteByByte(`a${s}b`), 'ab', JSON.stringify(s));
  }
});

test('review6 held: cursor blink (DECSET 12) left on is undone at the end', () => {
  assert.match(run('\x1b[?12h').restore, /\x1b\[\?12l/);
});

test('review6: the window title set by the agent is given back at the end', () => {
  const { out, restore } = run('\x1b]0;sudo: enter your password\x07');
  assert.match(out, /\x1b\]0;sudo/);
  assert.match(restore, /\x1b\[23/);
});

test('review6: more kitty keyboard pushes than the tracker counts are all popped at the end', () => {
  // Fixed: pushes beyond the cap are dropped, so every push that passed is popped.
  const { out, restore } = run('\x1b[>1u'.repeat(200));
  assert.equal(out, '\x1b[>1u'.repeat(MAX_KITTY_PUSHES));
  assert.equal(restore, `\x1b[<${MAX_KITTY_PUSHES}u`);
  // Nor can the agent pop more than it pushed (the human's own entries).
  assert.equal(run('\x1b[>1u\x1b[<5u\x1b[<u').out, '\x1b[>1u\x1b[<1u');
});

test('review6 held: DECSTR / RIS then modes set again are all undone', () => {
  const { restore } = run('\x1bc\x1b[?1000;2004;1049h\x1b(0\x1b[1m\x1b[!p\x1b[?1h');
  for (const s of ['\x1b[?1000l', '\x1b[?2004l', '\x1b[?1049l', '\x1b(B', '\x1b[0m', '\x1b[?1l'])
    assert.ok(restore.includes(s), JSON.stringify(s));
});

test('review6 held: fuzz: random escape-heavy bytes in random chunks never throw, and what passes is canonical and carries no string or 8-bit control', () => {
  let seed = 0x6a09e667;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pieces = [
    '\x1b',
    '[',
    ']',
    'P',
    '_',
    '^',
    'X',
    '\\',
    '\x07',
    '\x9c',
    '\x9b',
    '\x9d',
    '\x90',
    '\xc2',
    '\x18',
    '\x1a',
    ';',
    '?',
    '>',
    '$',
    ' ',
    '5',
    '2',
    '0',
    '8',
    'c',
    'q',
    't',
    'h',
    'l',
    'm',
    'u',
    'p',
    '\x0e',
    '\xe2\x80',
    '\xf0',
    'a',
  ];
  for (let round = 0; round < 300; round++) {
    let input = '';
    for (let k = 0; k < 400; k++) input += pieces[rand(pieces.length)];
    const options = { answerQueries: rand(2) === 0 };
    const f = new TerminalOutputFilter(options);
    const parts: Buffer[] = [];
    const data = bytes(input);
    for (let at = 0; at < data.length;) {
      const size = 1 + rand(17);
      parts.push(f.push(data.subarray(at, at + size)));
      at += size;
    }
    parts.push(f.end());
    const out = Buffer.concat(parts);
    const text = out.toString('latin1');
    assert.doesNotMatch(text, /\x1b[P_^X]|\x1b\]0*5+2/, JSON.stringify(input));
    // No raw C1 byte outside a valid UTF-8 character, and no UTF-8-encoded C1.
    assert.doesNotMatch(out.toString('utf8'), /[\x80-\x9f]/, JSON.stringify(input));
    assert.deepEqual(run(text, options).out, text, 'fixed point');
  }
});

test('review6: XTMODKEYS for resources other than 4 (modifyCursorKeys 1, modifyFunctionKeys 2, modifyKeyboard 0) are undone at the end', () => {
  const { out, restore } = run('\x1b[>1;3m\x1b[>2;3m\x1b[>0;15m');
  assert.equal(out, '\x1b[>1;3m\x1b[>2;3m\x1b[>0;15m');
  for (const resource of ['0', '1', '2']) assert.ok(restore.includes(`\x1b[>${resource}m`), resource);
});

test("review6: XTSMPOINTER (CSI > 2 p, hide the mouse pointer) and XTMODKEYS disable (CSI > 4 n) never reach the human's terminal", () => {
  // Fixed: both are dropped (untracked state that would outlive au).
  const { out, restore } = run('\x1b[>3p\x1b[>4n\x1b[>2p\x1b[>n');
  assert.equal(out, '');
  assert.equal(restore, '');
});

test('review6: scrollback erase (ED 3, DECSED 3) never passes, screen erases do (fast path and parser agree)', () => {
  for (const s of ['\x1b[3J', '\x1b[?3J', '\x1b[03J', '\x1b[2;3J', '\x9b3J']) {
    assert.equal(run(`a${s}b`).out, 'ab', JSON.stringify(s));
    assert.equal(byteByByte(`a${s}b`), 'ab', JSON.stringify(s));
  }
  for (const s of ['\x1b[J', '\x1b[0J', '\x1b[1J', '\x1b[2J', '\x1b[?2J']) assert.equal(run(`a${s}b`).out, `a${s}b`, JSON.stringify(s));
});

test("review6: the agent's own title push/pop never passes (it could pop the human's title); au pushes once before the first title", () => {
  assert.equal(run('\x1b[23;0t\x1b[23t\x1b[22;2t').out, '');
  const { out, restore } = run('\x1b]2;a\x07\x1b]2;b\x07');
  assert.equal(out, '\x1b[22;0t\x1b]2;a\x1b\\\x1b]2;b\x1b\\');
  assert.equal(restore, '\x1b[23;0t');
  assert.equal(run('plain').restore, '');
});

test("review6: after a stop and resume, the human's title is pushed again, so every pop has its push", () => {
  const f = new TerminalOutputFilter();
  f.push(bytes('\x1b]2;agent\x07'));
  assert.match(f.modes.restoreSequence(), /\x1b\[23;0t/);
  assert.match(f.modes.reapplySequence(), /\x1b\[22;0t/);
});
