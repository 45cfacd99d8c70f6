// `au attach`'s terminal side: relays the human's terminal to a session over the protocol.
// The detach key is Ctrl-] followed by d; Ctrl-] twice sends one Ctrl-] to the agent. Every
// other byte (Ctrl-A, Ctrl-C...) goes to the agent as typed. Server errors and notices are
// shown on the terminal between brackets (never into a full-screen program's drawing); the
// session's end shows its exit code. The human's terminal is the one unit of src/terminal:
// the agent's output is filtered, and the modes it set are undone on detach or connection loss.
import { type Frame, FrameType, decodeJson, encodeChunked, encodeFrame, encodeResize } from '../server/protocol/frames.js';
import { type OpenConnection, type ServerTarget, openConnection } from './connection.js';
import type { Welcome } from '../server/protocol/messages.js';
import { HumanTerminal } from '../terminal/human-terminal.js';

export const DETACH_PREFIX = 0x1d; // Ctrl-]
export const DETACH_KEY = 'Ctrl-] d';

/** Splits typed bytes into what goes to the agent and whether the user asked to detach. */
export class DetachKeyFilter {
  private sawPrefix = false;

  feed(data: Buffer): { send: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of data) {
      if (this.sawPrefix) {
        this.sawPrefix = false;
        if (byte === 0x64 /* d */ || byte === 0x44) return { send: Buffer.from(out), detach: true };
        if (byte === DETACH_PREFIX) out.push(DETACH_PREFIX);
        else out.push(DETACH_PREFIX, byte);
      } else if (byte === DETACH_PREFIX) {
        this.sawPrefix = true;
      } else {
        out.push(byte);
      }
    }
    return { send: Buffer.from(out), detach: false };
  }
}

export interface AttachRequest {
  /** The socket, and who must be running the server on it (checked before a byte is sent). */
  server: ServerTarget;
  session?: string;
  agent?: string;
  command?: string[];
  readOnly: boolean;
}

export interface AttachOutcome {
  /** The session's exit code when it ended while attached; undefined when detached. */
  exitCode?: number;
  detached: boolean;
}

export async function attachTerminal(request: AttachRequest, announce: (welcome: Welcome) => void): Promise<AttachOutcome> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const conn: OpenConnection = await openConnection(request.server, {
    action: 'attach',
    session: request.session,
    agent: request.agent,
    command: request.command,
    cwd: process.cwd(),
    readOnly: request.readOnly,
    cols: stdout.columns || 80,
    rows: stdout.rows || 24,
  });
  const welcome = conn.answer as unknown as Welcome;
  announce(welcome);
  const socket = conn.socket;
  // An observer's keys are refused, so its terminal's answers would be too: no queries for it;
  // nor when stdin is no terminal (au reads no keys raw, so the answer would reach the prompt).
  const terminal = new HumanTerminal({
    output: stdout,
    input: stdin,
    filter: { answerQueries: welcome.role !== 'observer' && Boolean(stdin.isTTY) },
  });
  terminal.start();
  const filter = new DetachKeyFilter();
  const canResize = welcome.role !== 'observer';

  return new Promise((resolve) => {
    let outcome: AttachOutcome | undefined;
    const finish = (result: AttachOutcome, message?: string): void => {
      if (outcome) return;
      outcome = result;
      stdin.off('data', onInput);
      stopResize();
      stdin.pause();
      terminal.restore(message);
      socket.end();
      resolve(result);
    };
    const onInput = (data: Buffer): void => {
      const { send, detach } = stdin.isTTY ? filter.feed(data) : { send: data, detach: false };
      if (send.length > 0) for (const frame of encodeChunked(FrameType.Input, send)) socket.write(frame);
      if (detach) {
        socket.write(encodeFrame(FrameType.Detach));
        finish({ detached: true }, `detached from session ${welcome.session}; it goes on (au attach -n ${welcome.session})`);
      }
    };
    const onResize = (): void => {
      if (canResize) socket.write(encodeResize(terminal.columns, terminal.rows));
    };
    const onFrame = (frame: Frame): void => {
      switch (frame.type) {
        case FrameType.Output:
          terminal.show(frame.payload);
          return;
        case FrameType.Error:
        case FrameType.Notice:
          terminal.notice(String(decodeJson(frame).message));
          return;
        case FrameType.End: {
          const end = decodeJson(frame);
          const exitCode = typeof end.exitCode === 'number' ? end.exitCode : 1;
          finish({ exitCode, detached: false }, `session ${welcome.session} ended: ${String(end.reason)}, exit code ${exitCode}`);
          return;
        }
        case FrameType.Ping:
          socket.write(encodeFrame(FrameType.Pong, frame.payload));
          return;
        default:
          return;
      }
    };
    const stopResize = terminal.onResize(onResize);
    for (const frame of conn.early) onFrame(frame);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of conn.decoder.push(chunk)) onFrame(frame);
      } catch (error) {
        finish({ exitCode: 1, detached: false }, `protocol error from the server: ${(error as Error).message}`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish({ exitCode: 1, detached: false }, 'connection to the server lost'));
    stdin.on('data', onInput);
    stdin.resume();
  });
}
