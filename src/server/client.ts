// The client side of the protocol: connect to a server, say HELLO, read its answer. Used by
// `au attach` and `au sessions`, and by the tests.
import { AuError } from '../errors.js';
import { type Socket, connect } from 'node:net';
import { type Frame, FrameDecoder, FrameType, PROTOCOL_VERSION, SERVER_FRAME_TYPES, decodeJson, encodeJson } from './protocol/frames.js';

export class ClientError extends AuError {}

export interface OpenConnection {
  socket: Socket;
  /** The answer to HELLO: WELCOME or RESULT. */
  answer: Record<string, unknown>;
  answerType: FrameType;
  /** Frames that arrived right after the answer, in the same read. */
  early: Frame[];
  decoder: FrameDecoder;
}

const ANSWER_TIMEOUT_MS = 15_000;

export function openConnection(socketPath: string, hello: Record<string, unknown>): Promise<OpenConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const decoder = new FrameDecoder(SERVER_FRAME_TYPES);
    let done = false;
    const fail = (message: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new ClientError(message));
    };
    const timer = setTimeout(() => fail(`no answer from the server on ${socketPath}`), ANSWER_TIMEOUT_MS);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'no server is running there (start one with `au server run`)' : error.code === 'EACCES' ? 'permission denied (are you in the sharing group? see `au server init`)' : error.message;
      fail(`cannot connect to ${socketPath}: ${why}`);
    });
    socket.on('close', () => fail('the server closed the connection'));
    const onData = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        fail(`bad answer from the server: ${(error as Error).message}`);
        return;
      }
      const index = frames.findIndex((f) => f.type === FrameType.Welcome || f.type === FrameType.Result || f.type === FrameType.Error);
      if (index < 0) return;
      const frame = frames[index]!;
      const answer = decodeJson(frame);
      if (frame.type === FrameType.Error) {
        fail(String(answer.message ?? 'refused'));
        return;
      }
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      resolve({ socket, answer, answerType: frame.type, early: frames.slice(index + 1), decoder });
    };
    socket.on('data', onData);
    socket.write(encodeJson(FrameType.Hello, { protocol: PROTOCOL_VERSION, ...hello }));
  });
}

/** A one-shot request (list, kill, status): the RESULT. */
export async function request(socketPath: string, hello: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { socket, answer } = await openConnection(socketPath, hello);
  socket.destroy();
  return answer;
}
