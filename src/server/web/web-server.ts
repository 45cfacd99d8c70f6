// The web observer: an HTTP server for the page and its JSON API, and a WebSocket transport for
// the sessions. It is a second transport to the same sessions as the Unix socket: a browser
// client is a SessionClient like a socket client, with the role its token grants (observer or
// operator), the same bounded send queue, and the same audit. Every API call and the WebSocket
// need a token; the WebSocket also needs the server's own Origin. Refusals are audited (never
// the token itself). Input and resizes of observers are refused by the session, whatever the
// page does.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { networkInterfaces } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../config/store.js';
import { runFindings } from '../../launch/prepare.js';
import { type AuditLog, escapeBytes } from '../audit.js';
import { WEB_CONNECTIONS_PER_ADDRESS, fdBudget } from '../fd-budget.js';
import { logQuietly } from '../line-file.js';
import type { Role } from '../auth.js';
import {
  FrameDecoder,
  FrameType,
  PROTOCOL_VERSION,
  WEB_CLIENT_FRAME_TYPES,
  decodeResize,
  encodeFrame,
  encodeJson,
} from '../protocol/frames.js';
import type { WebAgent, WebState, Welcome } from '../protocol/messages.js';
import { recordingsDir } from '../paths.js';
import type { Session, SessionClient } from '../session.js';
import { type WebAddress, urlHost } from './address.js';
import { type Asset, loadAssets } from './assets.js';
import { ReviewCounts, countWithChild } from './review-counts.js';
import { type WebRole, type WebTokens, roleOfToken } from './tokens.js';

/** What the web transport needs of the session server. */
export interface SessionHost {
  readonly sessions: ReadonlyMap<string, Session>;
  readonly auditLog: AuditLog;
  readonly configPath: string;
  readonly ownerName: string;
  readonly clientQueueBytes: number;
  readonly clientsPerSession: number;
}

export interface WebServerOptions {
  address: WebAddress;
  tokens: WebTokens;
  host: SessionHost;
  log?: (line: string) => void;
  assetsDir?: string;
}

const MAX_MESSAGE_BYTES = 128 * 1024;
const HEADERS_TIMEOUT_MS = 5000;
const RECORDING_NAME = /^\d{8}T\d{6}-[A-Za-z0-9_.-]{1,64}\.cast$/;
const MAX_RECORDING_BYTES = 64 * 1024 * 1024;

class WebClient implements SessionClient {
  readonly uid = -1;
  private closed = false;

  constructor(
    readonly socket: WebSocket,
    readonly user: string,
    readonly role: Role,
    private readonly queueBytes: number,
    private readonly onDrop: (reason: string) => void,
  ) {}

  send(frames: readonly Buffer[]): void {
    if (this.isClosed) return;
    this.socket.send(frames.length === 1 ? frames[0]! : Buffer.concat(frames), { binary: true });
    if (this.socket.bufferedAmount > this.queueBytes) {
      this.closed = true;
      this.socket.terminate();
      this.onDrop('too slow: send queue full');
    }
  }

  finish(frame: Buffer): void {
    this.close(frame);
  }

  close(frame?: Buffer, code = 1000): void {
    if (this.isClosed) return;
    this.closed = true;
    if (frame) this.socket.send(frame, { binary: true });
    this.socket.close(code);
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  get isClosed(): boolean {
    return this.closed || this.socket.readyState !== WebSocket.OPEN;
  }
}

export class WebServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly assets: Map<string, Asset>;
  private readonly clients = new Set<WebClient>();
  private readonly perAddress = new Map<string, number>();
  private readonly log: (line: string) => void;
  private port = 0;
  private readonly reviewCounts: ReviewCounts;

  constructor(private readonly options: WebServerOptions) {
    this.reviewCounts = new ReviewCounts(countWithChild(options.host.configPath));
    this.assets = loadAssets(options.assetsDir);
    this.log = options.log ?? logQuietly;
    // Bounded against a slowloris (the agent reaches this port): a connection must finish its
    // headers within HEADERS_TIMEOUT_MS (checked every second), at most fdBudget().web are held
    // (past it, accepted and closed at once), WEB_CONNECTIONS_PER_ADDRESS per remote address.
    this.http = createServer(
      { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 30_000, connectionsCheckingInterval: 1000 },
      (req, res) => this.request(req, res),
    );
    this.http.maxConnections = fdBudget().web;
    this.http.on('connection', (socket: Socket) => this.admitConnection(socket));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** At most WEB_CONNECTIONS_PER_ADDRESS open connections per remote address; the rest closed at once. */
  private admitConnection(socket: Socket): void {
    const remote = socket.remoteAddress ?? '?';
    const open = this.perAddress.get(remote) ?? 0;
    if (open >= WEB_CONNECTIONS_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    this.perAddress.set(remote, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(remote) ?? 1) - 1;
      if (left > 0) this.perAddress.set(remote, left);
      else this.perAddress.delete(remote);
    });
  }

  async start(): Promise<void> {
    const { host, port } = this.options.address;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const bound = this.http.address();
    this.port = typeof bound === 'object' && bound ? bound.port : port;
  }

  /** http://HOST:PORT/ as a browser on this machine would open it. */
  get url(): string {
    const { host, wildcard } = this.options.address;
    return `http://${urlHost(wildcard ? '127.0.0.1' : host)}:${this.port}/`;
  }

  /** The Origins of the page this server serves: its own http://host:port, for every name it answers on. */
  allowedOrigins(): Set<string> {
    const { host, loopback, wildcard } = this.options.address;
    const hosts = new Set<string>([host]);
    if (loopback || wildcard) for (const h of ['127.0.0.1', 'localhost', '::1']) hosts.add(h);
    if (wildcard) {
      for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) hosts.add(info.address.replace(/%.*$/, ''));
    }
    return new Set([...hosts].map((h) => `http://${urlHost(h)}:${this.port}`));
  }

  private audit(): AuditLog {
    return this.options.host.auditLog;
  }

  private remoteOf(req: IncomingMessage): string {
    return req.socket.remoteAddress ?? '?';
  }

  private tokenOf(req: IncomingMessage, url: URL): string | undefined {
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7).trim();
    return url.searchParams.get('token') ?? undefined;
  }

  /** The role of the request's token; refusals audited (without the token). */
  private authorize(req: IncomingMessage, url: URL): { role?: WebRole; status: number; reason: string } {
    const origin = req.headers.origin;
    if (url.pathname === '/ws' || origin !== undefined) {
      if (typeof origin !== 'string' || !this.allowedOrigins().has(origin)) {
        // The header's bytes (node gives them as latin1) as printable ASCII: the reason goes to the audit a human reads.
        return this.refusal(
          req,
          url,
          403,
          origin === undefined ? 'no Origin header' : `foreign Origin "${escapeBytes(Buffer.from(origin.slice(0, 200), 'latin1'))}"`,
        );
      }
    }
    const token = this.tokenOf(req, url);
    const role = roleOfToken(this.options.tokens, token);
    if (!role) return this.refusal(req, url, 401, token ? 'wrong token' : 'no token');
    return { role, status: 200, reason: '' };
  }

  private refusal(req: IncomingMessage, url: URL, status: number, reason: string): { status: number; reason: string } {
    // Counted per remote address past a small budget (see refusals.ts): the agent reaches this port.
    const remote = this.remoteOf(req);
    this.audit().refused(remote, { event: 'web-refused', remote, path: url.pathname.slice(0, 200), status, reason });
    return { status, reason };
  }

  private headers(type: string): Record<string, string> {
    return {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    };
  }

  private reply(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.writeHead(status, this.headers(type));
    res.end(body);
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    this.reply(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return this.json(res, 400, { error: 'bad request' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { error: 'method not allowed' });
    const asset = this.assets.get(url.pathname);
    if (asset) return this.reply(res, 200, asset.type, asset.body);
    if (!url.pathname.startsWith('/api/')) return this.json(res, 404, { error: 'not found' });
    const { role, status, reason } = this.authorize(req, url);
    if (!role) return this.json(res, status, { error: `${status === 401 ? 'unauthorized' : 'forbidden'}: ${reason}` });
    try {
      if (url.pathname === '/api/state') return this.json(res, 200, this.state(role));
      const recording = /^\/api\/recordings\/([^/]+)$/.exec(url.pathname);
      if (recording) {
        const name = decodeURIComponent(recording[1]!);
        if (!RECORDING_NAME.test(name)) return this.json(res, 404, { error: 'no such recording' });
        let body: Buffer;
        try {
          body = readFileSync(join(recordingsDir(), name));
        } catch {
          return this.json(res, 404, { error: 'no such recording' });
        }
        if (body.length > MAX_RECORDING_BYTES)
          return this.json(res, 413, { error: `recording over ${MAX_RECORDING_BYTES} bytes: play it with au sessions replay` });
        return this.reply(res, 200, 'application/x-asciicast; charset=utf-8', body);
      }
    } catch (error) {
      return this.json(res, 500, { error: (error as Error).message });
    }
    return this.json(res, 404, { error: 'not found' });
  }

  /** The agents (with health), the live sessions, the recordings. */
  state(role: WebRole): WebState {
    const host = this.options.host;
    let agents: WebAgent[] = [];
    let configError: string | undefined;
    try {
      const config = loadConfig(host.configPath).agents;
      const reviewing = config.filter((a) => a.mounts.some((m) => m.review !== undefined)).map((a) => a.userName);
      const review = this.reviewCounts.current(reviewing, [...host.sessions.keys()]);
      agents = config.map((agent) => {
        const problems = agent.bootstrapped ? runFindings(agent).map((f) => f.detail) : ['not fully set up (au new)'];
        return { name: agent.userName, healthy: problems.length === 0, problems, awaitingReview: review.get(agent.userName) ?? 0 };
      });
    } catch (error) {
      configError = (error as Error).message;
    }
    const sessions = [...host.sessions.values()].map((s) => s.summary());
    const live = new Set([...host.sessions.values()].map((s) => s.recordingName));
    let recordings: { name: string; session: string; startedAt: string; live: boolean }[] = [];
    try {
      recordings = readdirSync(recordingsDir())
        .filter((n) => RECORDING_NAME.test(n))
        .sort()
        .reverse()
        .slice(0, 200)
        .map((name) => {
          const stamp = name.slice(0, 15);
          const startedAt = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
          return { name, session: name.slice(16, -5), startedAt, live: live.has(name) };
        });
    } catch {
      /* no recordings yet */
    }
    return { role, owner: host.ownerName, protocol: PROTOCOL_VERSION, agents, configError, sessions, recordings };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      socket.destroy();
      return;
    }
    const { role, status, reason } = url.pathname === '/ws' ? this.authorize(req, url) : { status: 404, reason: 'not found' };
    if (!role) {
      const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found';
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, role, url.searchParams.get('session') ?? '', this.remoteOf(req)));
  }

  private connected(ws: WebSocket, role: WebRole, sessionId: string, remote: string): void {
    ws.on('error', () => ws.terminate());
    const host = this.options.host;
    const client = new WebClient(ws, `web ${role}@${remote}`, role, host.clientQueueBytes, (reason) => leave(reason));
    const session = host.sessions.get(sessionId);
    if (!session || session.isEnded)
      return client.close(encodeJson(FrameType.Error, { message: `no live session ${JSON.stringify(sessionId.slice(0, 64))}` }), 4404);
    if (session.summary().clients.length >= host.clientsPerSession)
      return client.close(encodeJson(FrameType.Error, { message: `session ${session.id} is full` }), 4409);
    this.clients.add(client);
    let joined = true;
    const leave = (reason: string): void => {
      this.clients.delete(client);
      if (!joined) return;
      joined = false;
      session.leave(client, reason);
    };
    const summary = session.summary();
    const welcome: Welcome = {
      protocol: PROTOCOL_VERSION,
      session: session.id,
      role,
      created: false,
      agent: session.agent,
      cols: summary.cols,
      rows: summary.rows,
    };
    client.send([encodeJson(FrameType.Welcome, welcome)]);
    session.join(client);
    const decoder = new FrameDecoder(WEB_CLIENT_FRAME_TYPES);
    ws.on('close', () => leave('disconnected'));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (client.isClosed) return;
      try {
        if (!isBinary) throw new Error('text messages are not part of the protocol');
        const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        for (const frame of decoder.push(chunk)) {
          switch (frame.type) {
            case FrameType.Input:
              session.input(client, frame.payload);
              break;
            case FrameType.Resize: {
              const { cols, rows } = decodeResize(frame.payload);
              session.resize(client, cols, rows);
              break;
            }
            case FrameType.Ping:
              client.send([encodeFrame(FrameType.Pong, frame.payload)]);
              break;
            case FrameType.Pong:
              break;
            case FrameType.Detach:
              leave('detached');
              client.close();
              return;
          }
        }
      } catch (error) {
        const message = (error as Error).message;
        host.auditLog.record({ event: 'protocol-error', uid: -1, user: client.user, reason: message });
        leave(`protocol error: ${message}`);
        client.close(encodeJson(FrameType.Error, { message: `protocol error: ${message}` }), 1002);
      }
    });
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close(undefined, 1001);
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
