// The guard in front of every terminal emulator au feeds with agent output, and the server's
// screen model behind it: hostile sequences are clamped or dropped, whatever the chunking, and
// a failing model costs only itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import xtermHeadless from '@xterm/headless';
import { MAX_MARKS_PER_CELL, ScreenGuard, isZeroWidth } from '../../src/server/screen-guard.js';
import { SNAPSHOT_BYTES, ScreenModel, type Snapshot } from '../../src/server/screen.js';
import { REPEAT_BLOCK, REPEAT_CRASH, hostileStream } from '../helpers/hostile-output.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const show = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

function filterAll(guard: ScreenGuard, chunks: Uint8Array[]): string {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    const r = guard.filter(chunk);
    assert.equal(r.consumed, chunk.length);
    out.push(r.output);
  }
  return show(Buffer.concat(out));
}
const once = (input: Uint8Array, cols = 80, rows = 24): string => filterAll(new ScreenGuard(cols, rows), [input]);

describe('screen guard', () => {
  test('counts are clamped to the screen: REP to a line, IL/DL/SU/SD to the rows, cursor motions and erasures too', () => {
    assert.equal(once(bytes('a\x1b[2147483647b')), 'a\x1b[80b');
    assert.equal(once(bytes('a\x1b[99999999999999999999999b'), 132, 50), 'a\x1b[132b');
    assert.equal(once(bytes('\x1b[2147483647L\x1b[2147483647M\x1b[2147483647S\x1b[2147483647T')), '\x1b[24L\x1b[24M\x1b[24S\x1b[24T');
    assert.equal(
      once(bytes('\x1b[2147483647I\x1b[2147483647Z\x1b[2147483647@\x1b[2147483647X\x1b[2147483647 A')),
      '\x1b[80I\x1b[80Z\x1b[80@\x1b[80X\x1b[80 A',
    );
    assert.equal(once(bytes('\x1b[2147483647;2147483647H\x1b[000005C')), '\x1b[80;80H\x1b[5C');
    // Sub-parameters are clamped too; what needs no clamp passes as it is.
    assert.equal(
      once(bytes('\x1b[5:2147483647b\x1b[38;2;255;0;0m\x1b[?1049h\x1b[3;20r')),
      '\x1b[5:80b\x1b[38;2;255;0;0m\x1b[?1049h\x1b[3;20r',
    );
  });

  test(`combining marks: at most ${MAX_MARKS_PER_CELL} after each character, across chunks and escape sequences`, () => {
    const mark = '\u0301';
    assert.equal(once(utf8(`a${mark.repeat(2200)}b${mark}`)), `a${mark.repeat(MAX_MARKS_PER_CELL)}b${mark}`);
    assert.equal(once(utf8(`a${mark.repeat(3)}\x1b[m${mark.repeat(3)}`)), `a${mark.repeat(3)}\x1b[m${mark}`);
    assert.equal(once(utf8('한\u1161\u11a8')), '한\u1161\u11a8');
    // After a reset (a cut in the stream), marks wait for a character of their own.
    const guard = new ScreenGuard(80, 24);
    guard.reset();
    assert.equal(filterAll(guard, [utf8(`${mark}${mark}x${mark}`)]), `x${mark}`);
  });

  test('the guard counts as zero-width every code point xterm.js joins to the previous cell', () => {
    const terminal = new xtermHeadless.Terminal({ allowProposedApi: true });
    const unicode = (terminal as unknown as { _core: { unicodeService: { wcwidth(cp: number): number } } })._core.unicodeService;
    const missed: string[] = [];
    for (let cp = 0xa0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (unicode.wcwidth(cp) === 0 && !isZeroWidth(cp)) missed.push(cp.toString(16));
    }
    terminal.dispose();
    assert.deepEqual(missed, []);
  });

  test('strings (OSC, DCS, SOS, PM, APC), raw C1 bytes, DEL, invalid UTF-8 and unneeded C0 controls are dropped; UTF-8 C1 controls act as in xterm.js', () => {
    assert.equal(once(bytes('a\x1b]8;;http://evil/\x07b\x1b]8;;\x1b\\c')), 'abc');
    assert.equal(once(bytes('\x1b]52;c;SGVsbG8=\x07\x1bPq#0;2\x1b\\\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\ok')), 'ok');
    // An unterminated string is dropped up to the ESC that starts the next sequence.
    assert.equal(once(bytes('\x1b]0;title \x1b[2147483647b')), '\x1b[80b');
    // A UTF-8 encoded C1 acts as in xterm.js (here CSI, passed in 7-bit form and clamped); a raw 8-bit one is invalid UTF-8, dropped.
    assert.equal(once(bytes('x\xc2\x9b2147483647b\x9b5L\x7f\x00\x05\x1b\x18')), 'x\x1b[80b5L');
    // Strings end where xterm.js ends them: an OSC on BEL or on C1 ST (C2 9C), SOS/PM/APC and DCS not on BEL.
    assert.equal(once(bytes('\x1b]0;x\xc2\x9cy\x1bPq\xc2\x9cz')), 'yz');
    assert.equal(once(bytes('\x1b_x\x07y\x1b^x\x07y\x1bXx\x07y\x1bPqx\x07y')), '');
    assert.equal(once(bytes('\x1b]0;x\xe2\xc2\x9cy\x1b]0;\xc2\x85z')), 'y\x1bEz');
    assert.equal(once(bytes('\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82v\xff')), 'v');
    assert.equal(once(utf8('é漢😀\u00a0\t\r\n\x07\x08')), 'é漢😀\u00a0\t\r\n\x07\x08');
    // A control inside a sequence drops the sequence; the control itself is read afresh.
    assert.equal(once(bytes('\x1b[12\n3b\x1b(\rB')), '\n3b\rB');
    assert.equal(once(bytes(`\x1b[${'1'.repeat(100)}b!`)), '!');
  });

  test('split at every byte (and byte by byte), the output is the same as in one piece', () => {
    for (const seed of [1, 2, 3]) {
      const input = hostileStream(seed, 60);
      const whole = once(input);
      for (let at = 0; at <= input.length; at++) {
        assert.equal(
          filterAll(new ScreenGuard(80, 24), [input.subarray(0, at), input.subarray(at)]),
          whole,
          `seed ${seed}, split at ${at}`,
        );
      }
      assert.equal(
        filterAll(
          new ScreenGuard(80, 24),
          Array.from(input, (b) => Uint8Array.of(b)),
        ),
        whole,
      );
    }
  });

  test('a work budget stops at a token boundary; resuming gives the same output', () => {
    const input = hostileStream(9, 400);
    const whole = once(input);
    const guard = new ScreenGuard(80, 24);
    const out: Uint8Array[] = [];
    let at = 0;
    let slices = 0;
    while (at < input.length) {
      const r = guard.filter(input.subarray(at), 500);
      assert.ok(r.consumed > 0);
      at += r.consumed;
      out.push(r.output);
      slices++;
    }
    assert.ok(slices > 10, `${slices} slices`);
    assert.equal(show(Buffer.concat(out)), whole);
  });
});

describe('screen model behind the guard', () => {
  const settled = (model: ScreenModel): Promise<Snapshot> =>
    new Promise((resolve) => {
      const wait = (): void => model.snapshot((s) => (s.follow.length === 0 ? resolve(s) : void setTimeout(wait, 20)));
      wait();
    });

  test(
    'the 22-byte and 14-byte sequences and a fuzzed stream: the model survives and shows the clamped result',
    { timeout: 120_000 },
    async () => {
      const model = new ScreenModel(80, 24);
      model.write(REPEAT_CRASH);
      await settled(model);
      assert.equal(model.failures, 0);
      assert.equal(model.text().split('\n')[0], 'a\u0301\u0301\u0301\u0301'.repeat(80));
      model.write(Buffer.from('\x1b[H\x1b[2J'));
      model.write(REPEAT_BLOCK);
      await settled(model);
      assert.equal(model.text().split('\n')[0], 'a'.repeat(80));
      for (let seed = 1; seed <= 20; seed++) model.write(Buffer.from(hostileStream(seed, 2000)));
      model.write(Buffer.from('\x1b[0m\x1b[H\x1b[2Jstill here'));
      const snapshot = await settled(model);
      assert.equal(model.text().split('\n')[0], 'still here');
      assert.equal(snapshot.kind, 'full');
      model.dispose();
    },
  );

  test('many flooded models share the parse budget and each still ends on its right screen', { timeout: 120_000 }, async () => {
    const models = Array.from({ length: 10 }, () => new ScreenModel(80, 24));
    for (const [i, model] of models.entries()) {
      for (let seed = 1; seed <= 3; seed++) model.write(Buffer.from(hostileStream(seed * 100 + i, 3000)));
      model.write(Buffer.from(`\x1bc model-${i}`));
    }
    await Promise.all(models.map((model) => settled(model)));
    for (const [i, model] of models.entries()) {
      assert.equal(model.text().split('\n')[0], ` model-${i}`);
      model.dispose();
    }
  });

  test('a terminal that throws is replaced; the session goes on with the next output', async () => {
    const model = new ScreenModel(80, 24);
    const inner = (model as unknown as { terminal: InstanceType<typeof xtermHeadless.Terminal> }).terminal;
    inner.parser.registerCsiHandler({ final: 'y' }, () => {
      throw new RangeError('Invalid typed array length');
    });
    const failures: unknown[] = [];
    model.onFailure = (error) => failures.push(error);
    model.write(Buffer.from('before\x1b[y'));
    await settled(model);
    assert.equal(model.failures, 1);
    assert.ok(failures[0] instanceof RangeError);
    model.write(Buffer.from('after'));
    await settled(model);
    assert.equal(model.text().split('\n')[0], 'after');
    model.dispose();
  });

  /** Output in pieces the model parses whole (a flood would be cut to its tail). */
  const feed = async (model: ScreenModel, data: Buffer): Promise<Snapshot> => {
    for (let at = 0; at < data.length; at += 32 * 1024) {
      model.write(data.subarray(at, at + 32 * 1024));
      while (!model.idle) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return settled(model);
  };

  test(
    'a screen too large to send whole degrades to text, then to a blank screen; never over the snapshot bound',
    { timeout: 120_000 },
    async () => {
      const size = 400;
      const model = new ScreenModel(size, size);
      // Every cell its own colour: attributes make the full serialization far larger than the text.
      let fill = '';
      for (let y = 0; y < size; y++) {
        fill += `\x1b[${y + 1};1H`;
        for (let x = 0; x < size; x++) fill += `\x1b[38;5;${(x + y) % 256}m${String.fromCharCode(0x41 + (x % 26))}`;
      }
      const text = await feed(model, Buffer.from(fill));
      assert.ok(text.screen.length <= SNAPSHOT_BYTES, `${text.screen.length} bytes`);
      assert.equal(text.kind, 'text');
      assert.match(text.screen, /ABCDEFGHIJ/);
      // Five code points per cell (a letter and its marks) make even the text too large.
      const blank = await feed(model, Buffer.from(`\x1b[H${'e\u0301\u0302\u0303\u0304'.repeat(size * (size - 1))}`));
      assert.equal(blank.kind, 'blank');
      assert.ok(Buffer.byteLength(blank.screen) <= SNAPSHOT_BYTES);
      model.dispose();
    },
  );
});
