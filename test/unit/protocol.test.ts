// The session protocol codec, without sockets: framing, fragmentation, bounds, bad input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CLIENT_FRAME_TYPES,
  FrameDecoder,
  FrameType,
  HEADER_BYTES,
  MAX_PAYLOAD,
  ProtocolError,
  decodeJson,
  decodeResize,
  encodeChunked,
  encodeFrame,
  encodeJson,
  encodeResize,
  outputFrames,
} from '../../src/server/protocol/frames.js';
import { parseHello } from '../../src/server/protocol/messages.js';

describe('frame codec', () => {
  test('round-trips frames, and terminal bytes stay data (0x01, Ctrl-A, fake headers)', () => {
    const tricky = Buffer.from([0x01, 0x00, 0x00, 0x00, 0x05, 0x01, 0x25, 0x24, 0xff]);
    const wire = Buffer.concat([encodeFrame(FrameType.Input, tricky), encodeFrame(FrameType.Detach), encodeResize(120, 40)]);
    const frames = new FrameDecoder(CLIENT_FRAME_TYPES).push(wire);
    assert.equal(frames.length, 3);
    assert.equal(frames[0]!.type, FrameType.Input);
    assert.deepEqual(frames[0]!.payload, tricky);
    assert.equal(frames[1]!.type, FrameType.Detach);
    assert.deepEqual(decodeResize(frames[2]!.payload), { cols: 120, rows: 40 });
  });

  test('one byte at a time gives the same frames', () => {
    const wire = Buffer.concat([
      encodeJson(FrameType.Hello, { protocol: 1, action: 'list' }),
      encodeFrame(FrameType.Input, 'echo hello\r'),
      encodeFrame(FrameType.Ping, 'x'),
    ]);
    const decoder = new FrameDecoder(CLIENT_FRAME_TYPES);
    const frames = [];
    for (const byte of wire) frames.push(...decoder.push(Buffer.from([byte])));
    assert.deepEqual(
      frames.map((f) => f.type),
      [FrameType.Hello, FrameType.Input, FrameType.Ping],
    );
    assert.equal(frames[1]!.payload.toString(), 'echo hello\r');
    assert.equal(decoder.pendingBytes, 0);
  });

  test('an oversize length is refused from its header, before any payload is buffered', () => {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(FrameType.Input, 0);
    header.writeUInt32BE(0xffffffff, 1);
    const decoder = new FrameDecoder(CLIENT_FRAME_TYPES);
    assert.throws(() => decoder.push(header), /announces 4294967295 bytes \(limit 65536\)/);
    assert.throws(() => decoder.push(Buffer.from([0])), ProtocolError, 'a failed decoder stays failed');
  });

  test('unknown and wrong-direction types are refused', () => {
    assert.throws(() => new FrameDecoder(CLIENT_FRAME_TYPES).push(Buffer.from([0x7f, 0, 0, 0, 0])), /unexpected frame type 0x7f/);
    assert.throws(() => new FrameDecoder(CLIENT_FRAME_TYPES).push(encodeFrame(FrameType.Output, 'x')), /unexpected frame type 0x11/);
  });

  test('the encoder refuses oversize payloads; chunking splits long output', () => {
    assert.throws(() => encodeFrame(FrameType.Input, Buffer.alloc(MAX_PAYLOAD[FrameType.Input] + 1)), ProtocolError);
    const data = Buffer.alloc(MAX_PAYLOAD[FrameType.Output] * 2 + 10, 0x61);
    const frames = encodeChunked(FrameType.Output, data);
    assert.equal(frames.length, 3);
    const decoded = new FrameDecoder().push(Buffer.concat(frames));
    assert.deepEqual(Buffer.concat(decoded.map((f) => f.payload)), data);
  });

  test('random bytes never crash the decoder with anything but ProtocolError, and memory stays bounded', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const decoder = new FrameDecoder(CLIENT_FRAME_TYPES);
      const bytes = Buffer.alloc(1 + (random() % 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() & 0xff;
      try {
        decoder.push(bytes);
        assert.ok(decoder.pendingBytes <= HEADER_BYTES + MAX_PAYLOAD[FrameType.Hello] + bytes.length);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, String(error));
      }
    }
  });

  test('resize and JSON payloads are validated', () => {
    assert.throws(() => decodeResize(Buffer.from([0, 0, 0, 1])), /out of range/);
    assert.throws(() => decodeResize(Buffer.from([0, 1])), /4 bytes/);
    assert.throws(() => decodeJson({ type: FrameType.Hello, payload: Buffer.from('{nope') }), /not JSON/);
    assert.throws(() => decodeJson({ type: FrameType.Hello, payload: Buffer.from('[1]') }), /not a JSON object/);
  });
});

describe('hello messages', () => {
  test('versioned: another protocol version is refused with a clear message', () => {
    assert.throws(() => parseHello({ protocol: 2, action: 'list' }), /unsupported protocol version 2 \(this server speaks 1\)/);
    assert.throws(() => parseHello({ action: 'list' }), /unsupported protocol version/);
  });

  test('attach defaults and validation', () => {
    assert.deepEqual(parseHello({ protocol: 1, action: 'attach' }), {
      action: 'attach',
      session: undefined,
      agent: undefined,
      command: undefined,
      cwd: undefined,
      readOnly: false,
      cols: 80,
      rows: 24,
    });
    assert.throws(() => parseHello({ protocol: 1, action: 'attach', session: '../x' }), /invalid session id/);
    assert.throws(() => parseHello({ protocol: 1, action: 'attach', command: [] }), /non-empty array/);
    assert.throws(() => parseHello({ protocol: 1, action: 'attach', cols: 0 }), /cols\/rows/);
    assert.throws(() => parseHello({ protocol: 1, action: 'nuke' }), /unknown action/);
  });
});

test('output frames share the payload buffer and decode like encoded ones', () => {
  const data = Buffer.alloc(MAX_PAYLOAD[FrameType.Output] + 3, 0x78);
  const parts = outputFrames(data);
  assert.equal(parts.length, 4);
  assert.equal(parts[1]!.buffer, data.buffer, 'no copy of the payload');
  const frames = new FrameDecoder().push(Buffer.concat(parts));
  assert.deepEqual(Buffer.concat(frames.map((f) => f.payload)), data);
});
