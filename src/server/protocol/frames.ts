// The session protocol for Node code (server, CLI client): the wire format of wire.ts (which the
// web page shares) with Buffer payloads, so that callers can write frames to sockets and read
// payloads as Buffers. The codec itself lives in wire.ts only.
import {
  FrameReader,
  FrameType,
  MAX_PAYLOAD,
  type WireFrame,
  frameHeader,
  parseJsonPayload,
  parseResizePayload,
  resizePayload,
} from './wire.js';

export {
  CLIENT_FRAME_TYPES,
  FrameType,
  HEADER_BYTES,
  MAX_PAYLOAD,
  PROTOCOL_VERSION,
  ProtocolError,
  SERVER_FRAME_TYPES,
  WEB_CLIENT_FRAME_TYPES,
} from './wire.js';

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([frameHeader(type, body.length), body]);
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
    parts.push(asBuffer(frameHeader(FrameType.Output, payload.length)), payload);
  }
  return parts;
}

export const encodeResize = (cols: number, rows: number): Buffer => encodeFrame(FrameType.Resize, asBuffer(resizePayload(cols, rows)));

export const decodeResize = (payload: Buffer): { cols: number; rows: number } => parseResizePayload(payload);

export const decodeJson = (frame: Frame): Record<string, unknown> => parseJsonPayload(frame);

/** wire.ts's FrameReader, with Buffer payloads. */
export class FrameDecoder {
  private readonly reader: FrameReader;

  constructor(accepts?: ReadonlySet<number>) {
    this.reader = new FrameReader(accepts);
  }

  /** Bytes received of a frame not complete yet. */
  get pendingBytes(): number {
    return this.reader.pendingBytes;
  }

  /** Memory held for them (within twice what was received, plus 4 KB). */
  get heldBytes(): number {
    return this.reader.heldBytes;
  }

  push(chunk: Buffer): Frame[] {
    return this.reader.push(chunk).map((frame: WireFrame) => ({ type: frame.type, payload: asBuffer(frame.payload) }));
  }
}
