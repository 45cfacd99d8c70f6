// The JSON messages carried by HELLO, WELCOME, RESULT, END, NOTICE and ERROR frames, and the web
// page's API, validated into types. Anything unexpected is a ProtocolError: the server never
// acts on a half-understood request. No Node API here: the web page bundles this file too.
import { PROTOCOL_VERSION, ProtocolError } from './wire.js';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type Hello =
  | {
      action: 'attach';
      /** Join this session, or create it under this id when it does not exist (owner only). */
      session?: string;
      /** Create: which agent and which command (default: the agent's login shell). */
      agent?: string;
      command?: string[];
      /** The client's working directory: a new session starts in the matching share. */
      cwd?: string;
      readOnly: boolean;
      cols: number;
      rows: number;
    }
  | { action: 'list' }
  | { action: 'kill'; session: string }
  | { action: 'status'; session: string };

export interface SessionSummary {
  id: string;
  agent: string;
  command: string[];
  owner: string;
  pid: number;
  startedAt: string;
  cols: number;
  rows: number;
  clients: { user: string; role: string }[];
}

export interface Welcome {
  protocol: number;
  session: string;
  role: 'owner' | 'operator' | 'observer';
  created: boolean;
  agent: string;
  cols: number;
  rows: number;
}

/** END: the session is over. */
export interface EndMessage {
  session: string;
  exitCode: number;
  reason: string;
  /** How long the session ran. */
  durationMs: number;
}

/** NOTICE (someone joined, left...) and ERROR (a refusal, a visible error). */
export interface TextMessage {
  message: string;
}

export interface WebAgent {
  name: string;
  healthy: boolean;
  problems: string[];
  awaitingReview: number;
}

/** "N changes await review", or nothing when N is not a positive count (the page shows it as is). */
export function awaitingReviewText(count: unknown): string | undefined {
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0) return undefined;
  return `${count} change${count === 1 ? '' : 's'} await${count === 1 ? 's' : ''} review`;
}

/** What the web page's GET /api/state answers. */
export interface WebState {
  role: 'observer' | 'operator';
  owner: string;
  protocol: number;
  /** awaitingReview: how many changes the agent staged in its review shares (a count, 0 when none). */
  agents: WebAgent[];
  configError?: string;
  sessions: SessionSummary[];
  recordings: { name: string; session: string; startedAt: string; live: boolean }[];
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ProtocolError(`hello: "${name}" must be a string`);
  return value;
}

function sessionId(value: unknown): string {
  if (typeof value !== 'string' || !SESSION_ID_PATTERN.test(value))
    throw new ProtocolError('hello: invalid session id (letters, digits, _ . -; at most 64)');
  return value;
}

function dimension(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000)
    throw new ProtocolError('hello: cols/rows must be integers in 1..1000');
  return value;
}

export function parseHello(data: Record<string, unknown>): Hello {
  if (data.protocol !== PROTOCOL_VERSION) {
    throw new ProtocolError(`unsupported protocol version ${JSON.stringify(data.protocol)} (this server speaks ${PROTOCOL_VERSION})`);
  }
  switch (data.action) {
    case 'list':
      return { action: 'list' };
    case 'kill':
      return { action: 'kill', session: sessionId(data.session) };
    case 'status':
      return { action: 'status', session: sessionId(data.session) };
    case 'attach': {
      const command = data.command;
      if (
        command !== undefined &&
        (!Array.isArray(command) ||
          command.length === 0 ||
          command.length > 256 ||
          !command.every((a) => typeof a === 'string' && !a.includes('\0')))
      ) {
        throw new ProtocolError('hello: "command" must be a non-empty array of strings');
      }
      if (data.readOnly !== undefined && typeof data.readOnly !== 'boolean')
        throw new ProtocolError('hello: "readOnly" must be true or false');
      return {
        action: 'attach',
        session: data.session === undefined ? undefined : sessionId(data.session),
        agent: optionalString(data.agent, 'agent'),
        command: command as string[] | undefined,
        cwd: optionalString(data.cwd, 'cwd'),
        readOnly: data.readOnly === true,
        cols: dimension(data.cols, 80),
        rows: dimension(data.rows, 24),
      };
    }
    default:
      throw new ProtocolError(`hello: unknown action ${JSON.stringify(data.action)}`);
  }
}
