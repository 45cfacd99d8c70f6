// The client side of the protocol: connect to a server, check who runs it, say HELLO, read its
// answer. Used by `au attach` and `au sessions`, and by the tests. Who runs the server comes
// from the kernel (SO_PEERCRED of the connected socket, and the socket file's owner), and is
// checked against the owner the user meant before a byte is sent: a server of anyone else
// (a colleague's impostor on a path the user was given) never sees what the user types.
import { lstatSync } from 'node:fs';
import { AuError } from '../errors.js';
import { type Socket, connect } from 'node:net';
import { loadNative } from '../system/native.js';
import {
  type Frame,
  FrameDecoder,
  FrameType,
  PROTOCOL_VERSION,
  SERVER_FRAME_TYPES,
  decodeJson,
  encodeJson,
} from '../server/protocol/frames.js';

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

/** The server a client means: a socket, and the user who must be running the server on it. */
export interface ServerTarget {
  socketPath: string;
  ownerUid: number;
  ownerName: string;
  /** Added to a refusal (e.g. how to name another owner). */
  hint?: string;
}

/** Why the server on this connected socket is not the one meant, or undefined when it is. */
export function serverIdentityProblem(socket: Socket, target: ServerTarget): string | undefined {
  const native = loadNative();
  if (!native) return 'the native addon (au_native.node) is missing: cannot check who runs the server';
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 'cannot read the connection file descriptor';
  const meant = `${target.ownerName} (uid ${target.ownerUid})`;
  const peer = native.peerCredentials(fd);
  if (peer.uid !== target.ownerUid) return `the server on it is run by uid ${peer.uid}, not by ${meant}`;
  try {
    const st = lstatSync(target.socketPath);
    if (!st.isSocket()) return `${target.socketPath} is not a socket`;
    if (st.uid !== target.ownerUid) return `the socket file belongs to uid ${st.uid}, not to ${meant}`;
  } catch (error) {
    return `cannot check the socket file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  return undefined;
}

export function openConnection(target: ServerTarget, hello: Record<string, unknown>): Promise<OpenConnection> {
  const { socketPath } = target;
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
      const why =
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? 'no server is running there (start one with `au server run`)'
          : error.code === 'EACCES'
            ? 'permission denied (are you in the sharing group? see `au server init`)'
            : error.message;
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
        fail(typeof answer.message === 'string' ? answer.message : 'refused');
        return;
      }
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      resolve({ socket, answer, answerType: frame.type, early: frames.slice(index + 1), decoder });
    };
    socket.once('connect', () => {
      const problem = serverIdentityProblem(socket, target);
      if (problem) {
        fail(
          `refusing to talk to the server on ${socketPath}: ${problem}; nothing was sent to it${target.hint ? ` (${target.hint})` : ''}`,
        );
        return;
      }
      socket.on('data', onData);
      socket.write(encodeJson(FrameType.Hello, { protocol: PROTOCOL_VERSION, ...hello }));
    });
  });
}

/** A one-shot request (list, kill, status): the RESULT. */
export async function request(target: ServerTarget, hello: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { socket, answer } = await openConnection(target, hello);
  socket.destroy();
  return answer;
}
