// One protocol for the server, the CLI client and the web page: the page's bundle is built from
// the server's own protocol modules (no copy of the frame types or the codec in src/web), and
// those modules, bundled for a browser and run where Node's Buffer, process and require do not
// exist, encode frames the server decodes and decode frames the server encodes. The same
// asciicast reader reads recordings for `au sessions replay` and the page. Also: the terminal
// reports an observer's terminal sends by itself, and whose size a session has.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import vm from 'node:vm';
import { build } from 'esbuild';
import {
  FrameDecoder,
  FrameType,
  SERVER_FRAME_TYPES,
  WEB_CLIENT_FRAME_TYPES,
  decodeJson,
  decodeResize,
  encodeFrame,
  encodeJson,
  encodeResize,
  outputFrames,
} from '../../src/server/protocol/frames.js';
import type * as Wire from '../../src/server/protocol/wire.js';
import type * as Asciicast from '../../src/server/protocol/asciicast.js';
import { FrameReader } from '../../src/server/protocol/wire.js';
import { Recording, readRecording } from '../../src/server/recording.js';
import { isOnlyTerminalReports } from '../../src/server/protocol/terminal-reports.js';
import { SessionSizes } from '../../src/server/session-size.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = ['src/server/protocol/wire.ts', 'src/server/protocol/asciicast.ts', 'src/server/protocol/terminal-reports.ts'];

/** The shared modules as the browser gets them, evaluated in a context with no Node API. */
async function browserModules(): Promise<typeof Wire & typeof Asciicast> {
  const bundle = await build({
    stdin: {
      contents: SHARED.slice(0, 2)
        .map((m) => `export * from './${m}';`)
        .join('\n'),
      resolveDir: REPO,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    globalName: 'shared',
    logLevel: 'silent',
  });
  const context = vm.createContext({ TextEncoder, TextDecoder });
  vm.runInContext(`${bundle.outputFiles[0]!.text}; globalThis.shared = shared;`, context);
  return (context as { shared: typeof Wire & typeof Asciicast }).shared;
}

let seed = 7;
const random = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
/** The bytes cut at random places, as a network delivers them. */
function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + random(random(3) === 0 ? 3 : 200);
    out.push(bytes.slice(at, at + size));
    at += size;
  }
  return out;
}
const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

describe('one protocol for the server, the CLI client and the web page', () => {
  test("the page is built from the server's protocol modules, and re-types none of it", async () => {
    const built = await build({
      entryPoints: [join(REPO, 'src/web/main.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'browser',
      format: 'iife',
      logLevel: 'silent',
    });
    const inputs = Object.keys(built.metafile.inputs);
    for (const module of SHARED)
      assert.ok(inputs.includes(module), `the page's bundle includes ${module}: ${inputs.filter((i) => i.startsWith('src')).join(', ')}`);
    for (const file of ['src/web/main.ts', 'src/web/input.ts', 'src/web/fit.ts']) {
      const source = readFileSync(join(REPO, file), 'utf8');
      assert.doesNotMatch(source, /\b0x(0[1-4]|1[01]|2[0-5]|3[01])\b/, `${file} spells a frame type`);
      assert.doesNotMatch(source, /setUint32|getUint32|version !== 2/, `${file} has a codec or a recording parser of its own`);
    }
  });

  test("frames the page encodes decode on the server, and the server's decode in the page, in any chunking", async () => {
    const page = await browserModules();
    // Page -> server: what a browser sends.
    const sent: { type: number; payload: Uint8Array }[] = [];
    const wire: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const kind = random(4);
      const payload =
        kind === 0
          ? page.resizePayload(1 + random(1000), 1 + random(1000))
          : kind === 1
            ? new Uint8Array(0)
            : Uint8Array.from({ length: random(300) }, () => random(256));
      const type = [FrameType.Resize, FrameType.Detach, FrameType.Input, FrameType.Ping][kind]!;
      sent.push({ type, payload });
      wire.push(page.frameBytes(type, payload));
    }
    const server = new FrameDecoder(WEB_CLIENT_FRAME_TYPES);
    const got = chunks(concat(wire)).flatMap((c) => server.push(Buffer.from(c)));
    assert.deepEqual(
      got.map((f) => [f.type, [...f.payload]]),
      sent.map((f) => [f.type, [...f.payload]]),
    );
    assert.deepEqual(decodeResize(got.find((f) => f.type === FrameType.Resize)!.payload), {
      ...page.parseResizePayload(sent.find((f) => f.type === FrameType.Resize)!.payload),
    });

    // Server -> page: what a session sends (zero-copy output frames included).
    const output = Buffer.from(Array.from({ length: 300_000 }, () => random(256)));
    const frames = [
      encodeJson(FrameType.Welcome, { protocol: 1, session: 's', role: 'observer', created: false, agent: 'a', cols: 200, rows: 50 }),
      ...outputFrames(output),
      encodeJson(FrameType.Error, { message: 'read-only: é' }),
      encodeFrame(FrameType.Ping, 'x'),
      encodeJson(FrameType.End, { session: 's', exitCode: 3, reason: 'exited', durationMs: 1234 }),
    ];
    for (const split of [chunks, (b: Uint8Array) => [...b].map((x) => Uint8Array.of(x))]) {
      const reader = new page.FrameReader(SERVER_FRAME_TYPES);
      const decoded = split(concat(frames)).flatMap((c) => reader.push(c));
      assert.deepEqual(
        decoded.map((f) => f.type),
        [FrameType.Welcome, FrameType.Output, FrameType.Output, FrameType.Error, FrameType.Ping, FrameType.End],
      );
      assert.deepEqual(Buffer.concat(decoded.filter((f) => f.type === FrameType.Output).map((f) => Buffer.from(f.payload))), output);
      assert.deepEqual(
        { ...page.parseJsonPayload(decoded[5]!) },
        decodeJson({ type: FrameType.End, payload: Buffer.from(frames[frames.length - 1]!.subarray(5)) }),
      );
      assert.equal(page.parseJsonPayload(decoded[3]!).message, 'read-only: é');
      assert.equal(reader.pendingBytes, 0);
    }
    // The page refuses what the server refuses: a type not for it, a length over the bound.
    assert.throws(() => new page.FrameReader(SERVER_FRAME_TYPES).push(encodeResize(1, 1)), /unexpected frame type 0x20/);
    assert.throws(
      () => new FrameDecoder(WEB_CLIENT_FRAME_TYPES).push(Buffer.from(page.frameBytes(FrameType.Hello, '{}'))),
      /unexpected frame type 0x01/,
    );
  });

  test('a frame sent one byte at a time costs its own size, not a list of chunks; a header alone costs no payload', () => {
    const header = new FrameReader(WEB_CLIENT_FRAME_TYPES);
    header.push(encodeFrame(FrameType.Input, Buffer.alloc(60_000)).subarray(0, 6));
    assert.ok(header.heldBytes <= 5 + 4096, `a header and one byte hold ${header.heldBytes} bytes`);
    const decoder = new FrameDecoder(WEB_CLIENT_FRAME_TYPES);
    const frame = encodeFrame(FrameType.Input, Buffer.alloc(60_000, 0x61));
    for (const byte of frame.subarray(0, frame.length - 1)) assert.deepEqual(decoder.push(Buffer.of(byte)), []);
    assert.equal(decoder.pendingBytes, frame.length - 1);
    assert.equal(decoder.push(frame.subarray(frame.length - 1))[0]!.payload.length, 60_000);
  });

  test('one asciicast reader: au sessions replay (readRecording) and the page (parseCast) read the same events and exit code', async () => {
    const page = await browserModules();
    const dir = mkdtempSync(join(tmpdir(), 'aut-cast-'));
    try {
      const path = join(dir, 'x.cast');
      const recording = new Recording(path, { cols: 200, rows: 50, command: 'bash', title: 't' });
      recording.output(Buffer.from('hello 👋\r\n'));
      recording.resize(120, 40);
      recording.close(7);
      const node = readRecording(path);
      const text = readFileSync(path, 'utf8');
      const browser = page.parseCast(`${text}[1.5, "o", "torn`);
      assert.deepEqual(JSON.parse(JSON.stringify(browser)), JSON.parse(JSON.stringify(node)));
      assert.deepEqual(
        node.events.map((e) => e.type),
        ['o', 'r', 'x'],
      );
      assert.equal(page.castExitCode(browser), 7);
      assert.deepEqual({ ...page.castResize(browser.events[1]!) }, { cols: 120, rows: 40 });
      assert.deepEqual([node.header.width, node.header.height], [200, 50]);
      assert.throws(() => page.parseCast('{"version": 1}\n'), /not an asciicast v2 recording/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('terminal reports are not typing', () => {
  const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
  test('focus, device attributes, cursor position, status, modes, window, OSC/DCS answers and mouse reports, alone or together', () => {
    for (const report of [
      '\x1b[I',
      '\x1b[O',
      '\x1b[?1;2c',
      '\x1b[>0;276;0c',
      '\x1b[12;40R',
      '\x1b[0n',
      '\x1b[?2004;1$y',
      '\x1b[8;50;200t',
      '\x1b]11;rgb:0000/0000/0000\x1b\\',
      '\x1b]10;rgb:ffff/ffff/ffff\x07',
      '\x1bP1$r0m\x1b\\',
      '\x1b[M !!',
      '\x1b[<0;10;5M',
      '\x1b[<0;10;5m',
      '\x1b[32;10;5M',
      '\x1b[I\x1b[?6c\x1b[O',
    ]) {
      assert.equal(isOnlyTerminalReports(bytes(report)), true, JSON.stringify(report));
    }
  });
  test('keys, text and anything mixed with them are typing', () => {
    for (const typed of [
      'a',
      '\r',
      '\x03',
      '\x1b',
      '\x1b[A',
      '\x1b[15~',
      '\x1b[1;5D',
      '\x1bOP',
      '\x1b[Iecho x',
      'x\x1b[O',
      '\x1b[<0;10;5',
      '\x1b]11;rgb',
      '\x1b[200~pasted\x1b[201~',
      '',
    ]) {
      assert.equal(isOnlyTerminalReports(bytes(typed)), false, JSON.stringify(typed));
    }
  });
});

describe('whose size a session has', () => {
  test("the latest request is in effect; when its client leaves, the previous one still attached, else the owner's", () => {
    const sizes = new SessionSizes<string>({ cols: 120, rows: 36 });
    sizes.request('owner', { cols: 150, rows: 40 }, true);
    sizes.request('web-operator', { cols: 90, rows: 30 }, false);
    assert.deepEqual(sizes.leave('web-operator'), { cols: 150, rows: 40 }, 'the operator leaving gives the owner its size back');
    sizes.request('web-operator', { cols: 90, rows: 30 }, false);
    sizes.request('cli-operator', { cols: 100, rows: 20 }, false);
    assert.equal(sizes.leave('web-operator'), undefined, 'a size not in effect is just forgotten');
    assert.deepEqual(sizes.leave('cli-operator'), { cols: 150, rows: 40 });
    assert.deepEqual(sizes.leave('owner'), { cols: 150, rows: 40 });
    sizes.request('web-operator', { cols: 80, rows: 24 }, false);
    assert.deepEqual(sizes.leave('web-operator'), { cols: 150, rows: 40 }, 'the owner detached: its last size');
    assert.equal(sizes.leave('never-resized'), undefined);
  });
});
