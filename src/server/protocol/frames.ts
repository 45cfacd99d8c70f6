// The session protocol's wire format, as a pure codec: bytes in, frames out. No sockets here.
//
// Every message, both ways, is a frame: 1 byte type, 4 bytes payload length (big-endian), the
// payload. Terminal bytes only ever travel as the payload of INPUT/OUTPUT frames, so nothing an
// agent prints or a human types can be read as a control message (Ctrl-A is just a byte).
// A connection starts with a HELLO frame from the client (JSON, with the protocol version),
// answered by WELCOME or ERROR. Lengths are bounded per type: a frame announcing more is an
// error before a byte of its payload is buffered.
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

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

export class ProtocolError extends AuError {}

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > MAX_PAYLOAD[type]) throw new ProtocolError(`frame type 0x${type.toString(16)}: payload of ${body.length} bytes exceeds ${MAX_PAYLOAD[type]}`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

export const encodeJson = (type: FrameType, value: unknown): Buffer => encodeFrame(type, JSON.stringify(value));

/** Output or input of any length as a series of frames within the type's bound. */
export function encodeChunked(type: typeof FrameType.Output | typeof FrameType.Input, data: Buffer): Buffer[] {
  const max = MAX_PAYLOAD[type];
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += max) frames.push(encodeFrame(type, data.subarray(offset, offset + max)));
  return frames;
}

/**
 * Output as [header, payload, header, payload...] without copying the payload: written to
 * every client (corked), the same buffers serve them all.
 */
export function outputFrames(data: Buffer): Buffer[] {
  const max = MAX_PAYLOAD[FrameType.Output];
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += max) {
    const payload = data.subarray(offset, offset + max);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt8(FrameType.Output, 0);
    header.writeUInt32BE(payload.length, 1);
    parts.push(header, payload);
  }
  return parts;
}

export function encodeResize(cols: number, rows: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(cols, 0);
  payload.writeUInt16BE(rows, 2);
  return encodeFrame(FrameType.Resize, payload);
}

export function decodeResize(payload: Buffer): { cols: number; rows: number } {
  if (payload.length !== 4) throw new ProtocolError('resize: payload must be 4 bytes');
  const cols = payload.readUInt16BE(0);
  const rows = payload.readUInt16BE(2);
  if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000) throw new ProtocolError(`resize: ${cols}x${rows} is out of range`);
  return { cols, rows };
}

export function decodeJson(frame: Frame): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`frame type 0x${frame.type.toString(16)}: payload is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`frame type 0x${frame.type.toString(16)}: payload is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Incremental decoder: push whatever arrived (one byte or many frames), get the complete
 * frames. What waits for the rest of a frame is copied into the decoder's own buffer (never
 * kept as the chunks it came in: a frame sent one byte at a time would cost an object per
 * byte), grown as its bytes arrive and never past the announced length; so it holds at most
 * one header and one bounded payload (heldBytes). After an error it is unusable.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private type: FrameType = FrameType.Hello;
  private length = 0;
  private payload: Buffer | undefined;
  private payloadFill = 0;
  private framesSeen = 0;
  private failed: ProtocolError | undefined;

  /** `firstTypes`: what the first frame may be (a server accepts only HELLO before the handshake). */
  constructor(
    private readonly accepts: ReadonlySet<number> = KNOWN_TYPES,
    private readonly firstTypes: ReadonlySet<number> = accepts,
  ) {}

  /** Bytes received and waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  /** Bytes the decoder holds for it (header and payload buffer): at most HEADER_BYTES + the largest accepted payload. */
  get heldBytes(): number {
    return HEADER_BYTES + (this.payload?.length ?? 0);
  }

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    const frames: Frame[] = [];
    let offset = 0;
    for (;;) {
      if (this.headerFill < HEADER_BYTES) {
        // A whole frame in the chunk, with nothing waiting: handed out as a view of the chunk.
        if (this.headerFill === 0 && chunk.length - offset >= HEADER_BYTES) {
          const type = chunk.readUInt8(offset);
          const length = chunk.readUInt32BE(offset + 1);
          this.check(type, length);
          if (chunk.length - offset >= HEADER_BYTES + length) {
            frames.push({ type: type as FrameType, payload: chunk.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length) });
            offset += HEADER_BYTES + length;
            this.framesSeen++;
            continue;
          }
        }
        if (offset >= chunk.length) break;
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + n);
        this.headerFill += n;
        offset += n;
        if (this.headerFill < HEADER_BYTES) break;
        this.type = this.header.readUInt8(0) as FrameType;
        this.length = this.header.readUInt32BE(1);
        this.check(this.type, this.length);
        this.payloadFill = 0;
      }
      const n = Math.min(this.length - this.payloadFill, chunk.length - offset);
      if (n > 0) {
        this.reserve(this.payloadFill + n);
        chunk.copy(this.payload!, this.payloadFill, offset, offset + n);
        this.payloadFill += n;
        offset += n;
      }
      if (this.payloadFill < this.length) break;
      frames.push({ type: this.type, payload: this.payload ? this.payload.subarray(0, this.length) : Buffer.alloc(0) });
      this.framesSeen++;
      this.headerFill = 0;
      this.payloadFill = 0;
      this.payload = undefined;
    }
    return frames;
  }

  /** Room for `bytes` of the current payload: doubled as it fills, up to its announced length. */
  private reserve(bytes: number): void {
    const capacity = this.payload?.length ?? 0;
    if (bytes <= capacity) return;
    const grown = Buffer.allocUnsafeSlow(Math.min(this.length, Math.max(bytes, capacity * 2, 256)));
    this.payload?.copy(grown, 0, 0, this.payloadFill);
    this.payload = grown;
  }

  private check(type: number, length: number): void {
    const hex = `0x${type.toString(16).padStart(2, '0')}`;
    if (this.framesSeen === 0 && !this.firstTypes.has(type) && this.accepts.has(type)) this.fail(`frame type ${hex} before the handshake (the first frame must be HELLO)`);
    if (!this.accepts.has(type)) this.fail(`unexpected frame type ${hex}`);
    const max = MAX_PAYLOAD[type as FrameType];
    if (length > max) this.fail(`frame type ${hex} announces ${length} bytes (limit ${max})`);
  }

  private fail(message: string): never {
    this.failed = new ProtocolError(message);
    this.headerFill = 0;
    this.payloadFill = 0;
    this.payload = undefined;
    throw this.failed;
  }
}

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
/** What a client may send before the handshake is done. */
export const HELLO_ONLY: ReadonlySet<number> = new Set([FrameType.Hello]);
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
