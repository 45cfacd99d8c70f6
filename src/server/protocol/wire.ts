// The session protocol's wire format, as a pure codec: bytes in, frames out. No sockets and no
// Node API here: the server, the CLI client (through frames.ts, which adds Buffer helpers) and
// the web page (src/web/main.ts bundles this file) all speak through it, so they cannot drift.
//
// Every message, both ways, is a frame: 1 byte type, 4 bytes payload length (big-endian), the
// payload. Terminal bytes only ever travel as the payload of INPUT/OUTPUT frames, so nothing an
// agent prints or a human types can be read as a control message (Ctrl-A is just a byte).
// A connection starts with a HELLO frame from the client (JSON, with the protocol version),
// answered by WELCOME or ERROR (the web page's WebSocket carries its token and session id in
// the URL instead, and gets WELCOME). Lengths are bounded per type: a frame announcing more is
// an error before a byte of its payload is buffered.
import { AuError } from '../../errors.js';

export const PROTOCOL_VERSION = 1;

export const FrameType = {
  /** client -> server, first frame: JSON {protocol, action, ...} */
  Hello: 0x01,
  /** server -> client: JSON answer to HELLO (session id, role...) */
  Welcome: 0x02,
  /** server -> client: JSON {message}; a refusal, or a visible error that does not end the connection */
  Error: 0x03,
  /** server -> client: JSON result of a one-shot request (list, kill, status) */
  Result: 0x04,
  /** client -> server: keystrokes for the agent (raw bytes) */
  Input: 0x10,
  /** server -> client: the agent's terminal output (raw bytes) */
  Output: 0x11,
  /** client -> server: u16 cols, u16 rows */
  Resize: 0x20,
  Ping: 0x21,
  Pong: 0x22,
  /** client -> server: empty; answered by a Result frame */
  Status: 0x23,
  /** client -> server: end the session (owner only) */
  Kill: 0x24,
  /** client -> server: leave, the session goes on */
  Detach: 0x25,
  /** server -> client: JSON {exitCode, reason}: the session is over */
  End: 0x30,
  /** server -> client: JSON {message}: someone joined, left, resized... */
  Notice: 0x31,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const HEADER_BYTES = 5;

/** Largest payload accepted per type (bytes). Output frames are cut to this size when sent. */
export const MAX_PAYLOAD: Readonly<Record<FrameType, number>> = {
  [FrameType.Hello]: 16 * 1024,
  [FrameType.Welcome]: 16 * 1024,
  [FrameType.Error]: 4 * 1024,
  [FrameType.Result]: 1024 * 1024,
  [FrameType.Input]: 64 * 1024,
  [FrameType.Output]: 256 * 1024,
  [FrameType.Resize]: 4,
  [FrameType.Ping]: 64,
  [FrameType.Pong]: 64,
  [FrameType.Status]: 0,
  [FrameType.Kill]: 0,
  [FrameType.Detach]: 0,
  [FrameType.End]: 4 * 1024,
  [FrameType.Notice]: 4 * 1024,
};

export const KNOWN_FRAME_TYPES: ReadonlySet<number> = new Set<number>(Object.values(FrameType));

/** Types a client may send, and a server may send: each side's decoder refuses the other's. */
export const CLIENT_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.Hello,
  FrameType.Input,
  FrameType.Resize,
  FrameType.Ping,
  FrameType.Pong,
  FrameType.Status,
  FrameType.Kill,
  FrameType.Detach,
]);
export const SERVER_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.Welcome,
  FrameType.Error,
  FrameType.Result,
  FrameType.Output,
  FrameType.Ping,
  FrameType.Pong,
  FrameType.End,
  FrameType.Notice,
]);
/** A browser may send only these, after the WebSocket opens (the token and session id came with it). */
export const WEB_CLIENT_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.Input,
  FrameType.Resize,
  FrameType.Ping,
  FrameType.Pong,
  FrameType.Detach,
]);

export class ProtocolError extends AuError {}

export interface WireFrame {
  type: FrameType;
  payload: Uint8Array;
}

/** A payload's first buffer: room for what already arrived, twice; it doubles as more arrives (so memory held stays within twice what was received, plus 4 KB). */
const INITIAL_PAYLOAD_BYTES = 4096;
const firstCapacity = (length: number, arrived: number): number => Math.min(length, Math.max(INITIAL_PAYLOAD_BYTES, 2 * arrived));

const hex = (type: number): string => `0x${type.toString(16).padStart(2, '0')}`;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8');

/** Why a header cannot start an acceptable frame, or undefined when it can. */
export function headerProblem(type: number, length: number, accepts: ReadonlySet<number>): string | undefined {
  if (!accepts.has(type) || !KNOWN_FRAME_TYPES.has(type)) return `unexpected frame type ${hex(type)}`;
  const max = MAX_PAYLOAD[type as FrameType];
  if (length > max) return `frame type ${hex(type)} announces ${length} bytes (limit ${max})`;
  return undefined;
}

/** The 5 header bytes of a frame of `type` carrying `length` bytes. */
export function frameHeader(type: FrameType, length: number): Uint8Array {
  if (length > MAX_PAYLOAD[type])
    throw new ProtocolError(`frame type ${hex(type)}: payload of ${length} bytes exceeds ${MAX_PAYLOAD[type]}`);
  const header = new Uint8Array(HEADER_BYTES);
  header[0] = type;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/** One whole frame (header and payload). */
export function frameBytes(type: FrameType, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  frame.set(frameHeader(type, body.length));
  frame.set(body, HEADER_BYTES);
  return frame;
}

export const jsonFrameBytes = (type: FrameType, value: unknown): Uint8Array => frameBytes(type, JSON.stringify(value));

export function resizePayload(cols: number, rows: number): Uint8Array {
  const payload = new Uint8Array(4);
  const view = new DataView(payload.buffer);
  view.setUint16(0, cols);
  view.setUint16(2, rows);
  return payload;
}

export function parseResizePayload(payload: Uint8Array): { cols: number; rows: number } {
  if (payload.length !== 4) throw new ProtocolError('resize: payload must be 4 bytes');
  const view = new DataView(payload.buffer, payload.byteOffset, 4);
  const cols = view.getUint16(0);
  const rows = view.getUint16(2);
  if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000) throw new ProtocolError(`resize: ${cols}x${rows} is out of range`);
  return { cols, rows };
}

export function parseJsonPayload(frame: WireFrame): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8.decode(frame.payload));
  } catch {
    throw new ProtocolError(`frame type ${hex(frame.type)}: payload is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`frame type ${hex(frame.type)}: payload is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Incremental decoder: push whatever arrived (one byte or many frames), get the complete
 * frames. Holds at most one header and the part of one payload received so far, in a buffer
 * that grows (doubling, up to the announced length, which is within its type's bound) as bytes
 * arrive: a frame sent one byte at a time costs about its own size, not a list of one-byte
 * chunks, and a header alone announcing 64 KB costs no 64 KB. A frame that lies whole in a
 * pushed chunk is returned as a view of that chunk (no copy). After an error it is unusable.
 */
export class FrameReader {
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private current: { type: FrameType; length: number; payload: Uint8Array; fill: number } | undefined;
  private failed: ProtocolError | undefined;

  constructor(private readonly accepts: ReadonlySet<number> = KNOWN_FRAME_TYPES) {}

  /** Bytes received of a frame not complete yet. */
  get pendingBytes(): number {
    return this.headerFill + (this.current ? HEADER_BYTES + this.current.fill : 0);
  }

  /** Memory held for them (the header and the payload buffer's capacity). */
  get heldBytes(): number {
    return HEADER_BYTES + (this.current?.payload.length ?? 0);
  }

  push(chunk: Uint8Array): WireFrame[] {
    if (this.failed) throw this.failed;
    const frames: WireFrame[] = [];
    let at = 0;
    while (at < chunk.length || (this.current && this.current.fill === this.current.length)) {
      const current = this.current;
      if (current) {
        const take = Math.min(current.length - current.fill, chunk.length - at);
        if (current.fill + take > current.payload.length) {
          const grown = new Uint8Array(Math.min(current.length, Math.max(current.fill + take, current.payload.length * 2)));
          grown.set(current.payload.subarray(0, current.fill));
          current.payload = grown;
        }
        current.payload.set(chunk.subarray(at, at + take), current.fill);
        current.fill += take;
        at += take;
        if (current.fill < current.length) break;
        frames.push({ type: current.type, payload: current.payload });
        this.current = undefined;
        continue;
      }
      if (this.headerFill === 0 && chunk.length - at >= HEADER_BYTES) {
        // The common case: the header (and often the whole frame) is in this chunk.
        const view = new DataView(chunk.buffer, chunk.byteOffset + at, HEADER_BYTES);
        const type = view.getUint8(0);
        const length = view.getUint32(1);
        this.check(type, length);
        at += HEADER_BYTES;
        if (chunk.length - at >= length) {
          frames.push({ type: type as FrameType, payload: chunk.subarray(at, at + length) });
          at += length;
        } else
          this.current = { type: type as FrameType, length, payload: new Uint8Array(firstCapacity(length, chunk.length - at)), fill: 0 };
        continue;
      }
      const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + take), this.headerFill);
      this.headerFill += take;
      at += take;
      if (this.headerFill < HEADER_BYTES) break;
      this.headerFill = 0;
      const view = new DataView(this.header.buffer);
      const type = view.getUint8(0);
      const length = view.getUint32(1);
      this.check(type, length);
      this.current = { type: type as FrameType, length, payload: new Uint8Array(firstCapacity(length, chunk.length - at)), fill: 0 };
    }
    return frames;
  }

  private check(type: number, length: number): void {
    const problem = headerProblem(type, length, this.accepts);
    if (!problem) return;
    this.failed = new ProtocolError(problem);
    this.current = undefined;
    this.headerFill = 0;
    throw this.failed;
  }
}
