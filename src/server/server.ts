// The session server: listens on a Unix socket, admits each connection by its kernel
// credentials, speaks the framed protocol, and owns the sessions. It runs as the human (never
// root), holds a lock next to its socket so only one server uses it, and on SIGTERM ends every
// session's process tree, tells the clients, and removes its socket.
import { AuError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { type Stats, chmodSync, closeSync, lstatSync, mkdirSync, unlinkSync, writeSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config/store.js';
import { findAgent } from '../config/schema.js';
import { DEFAULT_AGENT } from '../agents/names.js';
import { entrypointProblems } from '../entrypoint/verify.js';
import { ensureAgentProxy } from '../launch/prepare.js';
import { holdsGroup } from '../run/driver-group.js';
import { AuditLog } from './audit.js';
import { logQuietly } from './line-file.js';
import { SOCKET_CONNECTIONS, fdBudget } from './fd-budget.js';
import {
  type Peer,
  type Role,
  agentUidsOf,
  decideRole,
  knownUserName,
  namedPeer,
  peerCredentialsOf,
  rolesStamp,
  userNameOf,
} from './auth.js';
import {
  CLIENT_FRAME_TYPES,
  type Frame,
  FrameDecoder,
  FrameType,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeJson,
  decodeResize,
  encodeFrame,
  encodeJson,
} from './protocol/frames.js';
import { type Hello, parseHello } from './protocol/messages.js';
import { recordingPath } from './paths.js';
import { pruneRecords, retentionOf } from './retention.js';
import { Session, type SessionClient } from './session.js';
import { directoryStat, openOwnFile, readPidFileAt } from './safe-files.js';

/** The pid in a server's pid file (for messages only; a planted FIFO or symlink reads as none). */
function readPidFile(path: string): string | undefined {
  const pid = readPidFileAt(path);
  return pid === undefined ? undefined : String(pid);
}

export class ServerError extends AuError {}

/** 4 s, 3 min 20 s, 2 h 5 min: how long a session ran, for the server's log. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Bounds: whatever clients do, the server's memory stays within these. */
export const LIMITS = {
  handshakeMs: 5000,
  /** Bytes queued to one client before it is dropped as too slow. */
  clientQueueBytes: 4 * 1024 * 1024,
  connections: SOCKET_CONNECTIONS,
  /**
   * Connections open at once per uid other than the owner's (a member's flood must not take
   * the descriptors and memory the others need): past it, a connection is refused at accept,
   * before any lookup, and the refusal audited through the refusal limiter.
   */
  connectionsPerUser: 64,
  /** How often the roles of connected clients are checked against the config and the group database. */
  roleCheckMs: 1000,
  sessions: 200,
  clientsPerSession: 64,
};

export interface ServerOptions {
  socketPath: string;
  configPath: string;
  audit?: AuditLog;
  log?: (line: string) => void;
}

class Connection implements SessionClient {
  /** The peer's name, looked up again when roles are (an account renamed while connected). */
  user: string;
  readonly uid: number;
  role: Role;
  session: Session | undefined;
  /** Joined with --read-only: an observer whatever the config grants. */
  readOnly = false;
  /** The config and user databases the role was decided on (rolesStamp()). */
  decidedOn = '';
  private closed = false;

  constructor(
    readonly socket: Socket,
    readonly peer: Peer,
    role: Role,
    private readonly onDrop: (connection: Connection, reason: string) => void,
  ) {
    this.user = peer.user;
    this.uid = peer.uid;
    this.role = role;
  }

  send(frames: readonly Buffer[]): void {
    if (this.closed) return;
    if (frames.length > 1) this.socket.cork();
    for (const frame of frames) this.socket.write(frame);
    if (frames.length > 1) this.socket.uncork();
    if (this.socket.writableLength > LIMITS.clientQueueBytes) {
      this.close(
        encodeJson(FrameType.Error, {
          message: `dropped: more than ${LIMITS.clientQueueBytes} bytes of output waiting for you (not reading fast enough)`,
        }),
        true,
      );
      this.onDrop(this, 'too slow: send queue full');
    }
  }

  finish(frame: Buffer): void {
    this.close(frame);
  }

  /** Sends a last frame (best effort) and closes; `now` discards whatever is still queued. */
  close(frame?: Buffer, now = false): void {
    if (this.closed) return;
    this.closed = true;
    if (now) {
      this.socket.destroy();
      return;
    }
    if (frame) this.socket.end(frame);
    else this.socket.end();
    // A client that does not read its last frame does not keep the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }
}

export class SessionServer {
  readonly sessions = new Map<string, Session>();
  private readonly listener: Server;
  private readonly audit: AuditLog;
  private readonly ownerUid = process.getuid!();
  readonly ownerName: string;
  private readonly log: (line: string) => void;
  private connections = 0;
  /** Open connections per uid (counted from accept, admitted or not). */
  private readonly openPerUid = new Map<number, number>();
  /** Open connections of everyone but the owner (counted from accept), and what they may reach. */
  private openOfOthers = 0;
  private readonly othersBudget: number;
  /** Admitted connections, whose roles follow the config. */
  private readonly admitted = new Set<Connection>();
  private roleTimer: NodeJS.Timeout | undefined;
  private checkingRoles = false;
  private lockFd: number | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private ptyModule: typeof import('node-pty') | undefined;

  constructor(private readonly options: ServerOptions) {
    if (this.ownerUid === 0) throw new ServerError('the session server runs as a human, never as root');
    this.ownerName = userNameOf(this.ownerUid) ?? `uid ${this.ownerUid}`;
    this.audit = options.audit ?? new AuditLog();
    this.log = options.log ?? logQuietly;
    // Paused until admitted: what a client sends before the decision stays in the kernel's
    // socket buffer (bounded there), not in chunks in ours.
    this.listener = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    // Past it, a connection is accepted and closed at once (its descriptor never held): fd-budget.ts.
    // (a backstop: accept() keeps a reserve of it for the owner, whom members must never lock out).
    const budget = Math.min(LIMITS.connections, fdBudget().socket);
    this.listener.maxConnections = budget;
    this.othersBudget = budget - Math.max(8, Math.floor(budget / 8));
  }

  get auditLog(): AuditLog {
    return this.audit;
  }

  get configPath(): string {
    return this.options.configPath;
  }

  readonly clientQueueBytes = LIMITS.clientQueueBytes;
  readonly clientsPerSession = LIMITS.clientsPerSession;

  /** Runs on stop once the sessions ended, before the audit log closes (the web observer closes there). */
  beforeStop: (() => Promise<void>) | undefined;

  get socketPath(): string {
    return this.options.socketPath;
  }

  /**
   * Checks the socket's directory, takes the lock, removes a stale socket, listens, writes the
   * pid file. Every file is opened without following symlinks and checked after opening.
   */
  async start(): Promise<void> {
    const path = this.options.socketPath;
    const dir = dirname(path);
    const shared = this.prepareDirectory(dir);
    this.lockFd = openOwnFile(`${path}.lock`, 'lock', 0o600, this.ownerUid);
    const lock = spawnSync('flock', ['--exclusive', '--nonblock', '3'], { stdio: ['ignore', 'ignore', 'pipe', this.lockFd] });
    if (lock.status !== 0) {
      closeSync(this.lockFd);
      this.lockFd = undefined;
      throw new ServerError(`a server is already running on ${path} (pid ${readPidFile(`${path}.pid`) ?? '?'})`);
    }
    // We hold the lock, in a directory nobody else may write: a socket or pid file left there
    // is from a server that died (unlink removes a name, it never follows a symlink).
    for (const stale of [path, `${path}.pid`]) {
      try {
        unlinkSync(stale);
      } catch {
        /* none */
      }
    }
    this.ptyModule = await import('node-pty');
    // The socket is made with its final mode (no chmod by name afterwards): 0600, or 0660 in an
    // owner's shared directory, whose setgid bit gives it the sharing group.
    const previousMask = process.umask(shared ? 0o117 : 0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.listener.once('error', reject);
        this.listener.listen(path, () => {
          this.listener.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousMask);
    }
    const socketStat = lstatSync(path);
    if (!socketStat.isSocket() || socketStat.uid !== this.ownerUid) {
      this.listener.close();
      throw new ServerError(`${path} is not the socket this server made: refusing to serve`);
    }
    const pidFd = openOwnFile(`${path}.pid`, 'create-new', 0o644, this.ownerUid);
    try {
      writeSync(pidFd, `${process.pid}\n`);
    } finally {
      closeSync(pidFd);
    }
    // Next to the socket (not in the state directory, which may be the full one): loss-file.ts.
    this.audit.keepLossIn(`${path}.loss`);
    this.audit.record({ event: 'server-start', pid: process.pid, socket: path, user: this.ownerName });
    this.log(`au: session server of ${this.ownerName} listening on ${path} (pid ${process.pid})`);
    this.pruneOldRecords();
    this.roleTimer = setInterval(() => void this.recheckRoles(), LIMITS.roleCheckMs).unref();
  }

  /** [server] keep_days: what is older goes at every start and once a day after. */
  private pruneOldRecords(): void {
    try {
      const { keepDays } = retentionOf(loadConfig(this.options.configPath));
      const removed = pruneRecords(keepDays);
      if (removed.length > 0) this.log(`au: removed ${removed.length} record file(s) older than ${keepDays} days`);
    } catch (error) {
      this.log(`au: could not prune old records: ${(error as Error).message}`);
    }
    this.pruneTimer ??= setInterval(() => this.pruneOldRecords(), 24 * 60 * 60 * 1000).unref();
  }

  /**
   * The socket's directory must be ours and writable by nobody else. Private (made 0700), or an
   * owner's directory in the shared socket directory (`au server init`: ours, setgid to the
   * sharing group, mode 2750): returns whether it is shared.
   */
  private prepareDirectory(dir: string): boolean {
    const oldLayout = (path: string, st: Stats): ServerError | undefined =>
      st.uid === 0 && (st.mode & 0o1000) !== 0 && (st.mode & 0o020) !== 0
        ? new ServerError(
            `${path} is a shared socket directory of the old layout, where any member of its group can take your socket's name (and pose as your server): run \`au server init\` again (it gives you ${join(path, this.ownerName)}/, yours alone), then \`au server run --shared\``,
          )
        : undefined;
    let st = directoryStat(dir);
    if (!st) {
      const parent = directoryStat(dirname(dir));
      const old = parent && oldLayout(dirname(dir), parent);
      if (old) throw old;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
        throw new ServerError(`cannot create ${dir} (permission denied): a shared server's directory is made by \`au server init\``);
      }
      st = directoryStat(dir)!;
    }
    if (st.uid !== this.ownerUid) {
      const old = oldLayout(dir, st);
      if (old) throw old;
      throw new ServerError(
        `${dir} is not yours (owner uid ${st.uid}): a server's socket goes in a directory of its own owner (see \`au server init\` for a shared one)`,
      );
    }
    const shared = (st.mode & 0o2000) !== 0 && directoryStat(dirname(dir))?.uid === 0;
    const unwanted = shared ? 0o022 : 0o077;
    if ((st.mode & unwanted) !== 0) chmodSync(dir, st.mode & 0o7777 & ~unwanted);
    return shared;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    let credentials: { pid: number; uid: number; gid: number };
    try {
      credentials = peerCredentialsOf(socket);
    } catch (error) {
      this.log(`au: refusing a connection: ${(error as Error).message}`);
      socket.destroy();
      return;
    }
    const { uid } = credentials;
    const open = this.openPerUid.get(uid) ?? 0;
    const owner = uid === this.ownerUid;
    const reason = owner
      ? undefined
      : open >= LIMITS.connectionsPerUser
        ? `more than ${LIMITS.connectionsPerUser} connections at once from this user`
        : this.openOfOthers >= this.othersBudget
          ? 'the server has too many connections at once (the rest is kept for its owner)'
          : undefined;
    if (reason) {
      this.audit.refused(`uid ${uid}`, { event: 'refused', uid, pid: credentials.pid, user: knownUserName(uid) ?? `uid ${uid}`, reason });
      // Closed as soon as the refusal is out (not kept for a grace period: a flood of them
      // must not hold descriptors).
      socket.end(encodeJson(FrameType.Error, { message: `refused: ${reason}` }), () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.openPerUid.set(uid, open + 1);
    if (!owner) this.openOfOthers++;
    socket.once('close', () => {
      if (!owner) this.openOfOthers--;
      const left = (this.openPerUid.get(uid) ?? 1) - 1;
      if (left > 0) this.openPerUid.set(uid, left);
      else this.openPerUid.delete(uid);
    });
    // The name and role lookups do not block the server; what the client sends meanwhile waits
    // in the socket's buffer (the socket is paused until the decision).
    void this.admit(socket, credentials).catch(() => socket.destroy());
  }

  private async admit(socket: Socket, credentials: { pid: number; uid: number; gid: number }): Promise<void> {
    const peer = await namedPeer(credentials);
    let role: Role | undefined;
    let reason: string;
    const decidedOn = rolesStamp(this.options.configPath);
    try {
      ({ role, reason } = await decideRole(peer, this.ownerUid, loadConfig(this.options.configPath)));
    } catch (error) {
      reason = `cannot read the roles: ${(error as Error).message}`;
    }
    if (socket.destroyed) return;
    if (!role || this.stopping) {
      if (this.stopping) reason = 'the server is stopping';
      this.audit.refused(`uid ${peer.uid}`, { event: 'refused', uid: peer.uid, pid: peer.pid, user: peer.user, reason });
      socket.end(encodeJson(FrameType.Error, { message: `refused: ${reason}` }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.connections++;
    socket.once('close', () => this.connections--);
    const connection = new Connection(socket, peer, role, (c, why) => this.dropped(c, why));
    connection.decidedOn = decidedOn;
    this.admitted.add(connection);
    const decoder = new FrameDecoder(CLIENT_FRAME_TYPES);
    let greeted = false;
    const handshakeTimer = setTimeout(
      () => this.protocolError(connection, `no handshake within ${LIMITS.handshakeMs} ms`),
      LIMITS.handshakeMs,
    );
    socket.on('close', () => {
      this.admitted.delete(connection);
      clearTimeout(handshakeTimer);
      if (connection.session) connection.session.leave(connection, connection.isClosed ? 'closed' : 'disconnected');
      connection.session = undefined;
    });
    socket.on('data', (chunk: Buffer) => {
      if (connection.isClosed) return;
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.protocolError(connection, (error as Error).message);
        return;
      }
      for (const frame of frames) {
        if (connection.isClosed) return;
        try {
          if (!greeted) {
            if (frame.type !== FrameType.Hello) throw new ProtocolError('the first frame must be HELLO');
            greeted = true;
            clearTimeout(handshakeTimer);
            this.hello(connection, parseHello(decodeJson(frame)));
          } else {
            this.frame(connection, frame);
          }
        } catch (error) {
          if (error instanceof ProtocolError) this.protocolError(connection, error.message);
          else this.protocolError(connection, `internal error: ${(error as Error).message}`);
          return;
        }
      }
    });
    socket.resume();
  }

  /**
   * Roles follow the config while clients are connected: a client whose role was decided on
   * another config (or user and group databases) than the current one is decided again; a
   * demoted operator is an observer from then on (its input refused), one with no role left is
   * disconnected. Checked every LIMITS.roleCheckMs (a stat of three files when nothing changed).
   */
  private async recheckRoles(): Promise<void> {
    if (this.checkingRoles || this.stopping) return;
    const stamp = rolesStamp(this.options.configPath);
    const stale = [...this.admitted].filter((c) => c.decidedOn !== stamp && c.role !== 'owner' && !c.isClosed);
    if (stale.length === 0) return;
    this.checkingRoles = true;
    try {
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig(this.options.configPath);
      } catch (error) {
        // Being edited, or broken: the roles stay as they are (none is raised), checked again next time.
        this.log(`au: cannot read the roles in ${this.options.configPath}: ${(error as Error).message}`);
        return;
      }
      for (const connection of stale) {
        // The name again from the uid (cached until /etc/passwd changes): an account renamed
        // while connected must not keep the role of the name it had.
        const peer = await namedPeer(connection.peer);
        const { role, reason } = await decideRole(peer, this.ownerUid, config);
        if (connection.isClosed) continue;
        connection.user = peer.user;
        connection.decidedOn = stamp;
        const now = role && connection.readOnly ? 'observer' : role;
        if (now === connection.role) continue;
        const was = connection.role;
        this.audit.record({
          event: 'role-change',
          uid: connection.uid,
          user: connection.user,
          session: connection.session?.id ?? null,
          from: was,
          to: now ?? 'none',
          reason,
        });
        if (!now) {
          const session = connection.session;
          connection.session = undefined;
          session?.leave(connection, 'no role on this server any more');
          connection.close(encodeJson(FrameType.Error, { message: `refused: your access to this server was withdrawn (${reason})` }));
          continue;
        }
        connection.role = now;
        const may = now === 'observer' ? 'you may watch, no longer type' : 'you may type';
        connection.send([encodeJson(FrameType.Notice, { message: `your role on this server is now ${now} (${reason}): ${may}` })]);
      }
    } finally {
      this.checkingRoles = false;
    }
  }

  private protocolError(connection: Connection, message: string): void {
    if (connection.isClosed) return;
    this.audit.record({ event: 'protocol-error', uid: connection.uid, user: connection.user, reason: message });
    connection.close(encodeJson(FrameType.Error, { message: `protocol error: ${message}` }));
  }

  private dropped(connection: Connection, reason: string): void {
    const session = connection.session;
    connection.session = undefined;
    session?.leave(connection, reason);
  }

  private hello(connection: Connection, hello: Hello): void {
    switch (hello.action) {
      case 'list':
        connection.close(
          encodeJson(FrameType.Result, {
            sessions: [...this.sessions.values()].map((s) => ({ ...s.summary(), recordingLoss: s.recordingLoss })),
            audit: this.audit.loss,
          }),
        );
        return;
      case 'status': {
        const session = this.sessions.get(hello.session);
        if (!session) return connection.close(encodeJson(FrameType.Error, { message: `no session ${hello.session}` }));
        connection.close(encodeJson(FrameType.Result, { session: session.summary(), screen: session.screenText() }));
        return;
      }
      case 'kill': {
        const session = this.sessions.get(hello.session);
        if (!session) return connection.close(encodeJson(FrameType.Error, { message: `no session ${hello.session}` }));
        if (connection.role !== 'owner')
          return connection.close(
            encodeJson(FrameType.Error, { message: `refused: only the owner may kill a session (you are an ${connection.role})` }),
          );
        session.kill(connection.user);
        void session.whenEnded().then(() => connection.close(encodeJson(FrameType.Result, { killed: session.id })));
        return;
      }
      case 'attach':
        this.attach(connection, hello);
        return;
    }
  }

  private attach(connection: Connection, hello: Extract<Hello, { action: 'attach' }>): void {
    let session = hello.session ? this.sessions.get(hello.session) : undefined;
    let created = false;
    if (!session) {
      if (connection.role !== 'owner') {
        return connection.close(
          encodeJson(FrameType.Error, {
            message: hello.session ? `no session ${hello.session}` : 'refused: only the owner may start sessions',
          }),
        );
      }
      if (hello.readOnly)
        return connection.close(encodeJson(FrameType.Error, { message: `no session ${hello.session ?? ''} to observe`.trim() }));
      try {
        session = this.create(connection, hello);
      } catch (error) {
        return connection.close(encodeJson(FrameType.Error, { message: (error as Error).message }));
      }
      created = true;
    }
    if (session.agentUid === connection.uid)
      return connection.close(encodeJson(FrameType.Error, { message: 'refused: agents are never admitted' }));
    if (session.summary().clients.length >= LIMITS.clientsPerSession)
      return connection.close(encodeJson(FrameType.Error, { message: `session ${session.id} is full` }));
    if (hello.readOnly) {
      connection.readOnly = true;
      connection.role = 'observer';
    }
    const summary = session.summary();
    connection.socket.write(
      encodeJson(FrameType.Welcome, {
        protocol: PROTOCOL_VERSION,
        session: session.id,
        role: connection.role,
        created,
        agent: session.agent,
        cols: summary.cols,
        rows: summary.rows,
      }),
    );
    connection.session = session;
    session.join(connection);
    if (created) session.resize(connection, hello.cols, hello.rows);
  }

  private create(connection: Connection, hello: Extract<Hello, { action: 'attach' }>): Session {
    if (this.sessions.size >= LIMITS.sessions) throw new ServerError(`too many sessions (${LIMITS.sessions})`);
    const config = loadConfig(this.options.configPath);
    const name = hello.agent ?? DEFAULT_AGENT;
    const agent = findAgent(config, name);
    if (!agent) throw new ServerError(`no agent ${name} in ${this.options.configPath}`);
    if (!agent.bootstrapped) throw new ServerError(`agent ${name} is not fully set up: run \`au new -a ${name}\``);
    const problems = entrypointProblems({ path: agent.entrypoint, sha256: agent.entrypointSha256, groupGid: agent.groupGid });
    if (problems.length > 0) throw new ServerError(`refusing to start: ${problems.join('; ')}`);
    if (agent.groupGid !== undefined && !holdsGroup(agent.groupGid)) {
      throw new ServerError(`the server does not hold group ${agent.group} yet (added by au new): restart it from a new login`);
    }
    const agentUid = [...agentUidsOf({ ...config, agents: [agent] })][0] ?? agent.uid ?? -1;
    // A domains policy needs its proxy. Not awaited (sessions start synchronously, so two
    // attaches cannot race for one id): until it listens, the agent's web requests just fail.
    ensureAgentProxy(agent, this.options.configPath).catch((error: unknown) => this.log(`au: ${(error as Error).message}`));
    let id = hello.session;
    while (!id || this.sessions.has(id)) id = randomBytes(3).toString('hex');
    const session = new Session(this.ptyModule!, {
      id,
      agent,
      agentUid,
      command: hello.command ?? ['bash'],
      owner: connection.user,
      cols: hello.cols,
      rows: hello.rows,
      cwd: hello.cwd,
      recordingPath: recordingPath(`${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '')}-${id}`),
      maxRecordingBytes: retentionOf(config).maxRecordingBytes,
      audit: this.audit,
    });
    this.sessions.set(id, session);
    session.onEnd = ({ exitCode, reason, durationMs }) => {
      this.sessions.delete(id);
      this.log(`au: session ${id} ended: exit code ${exitCode} (${reason}) after ${formatDuration(durationMs)}`);
      // The record says the recording is incomplete (au doctor reads it), whether or not its own gap marker could be written.
      const loss = session.recordingLoss;
      if (loss.lostBytes > 0)
        this.audit.record({
          event: 'record-incomplete',
          session: id,
          recording: session.recordingName,
          lostBytes: loss.lostBytes,
          error: loss.error ?? '?',
        });
    };
    this.log(`au: session ${id} started: agent ${agent.userName}, ${session.command.join(' ')} (pid ${session.pid})`);
    return session;
  }

  private frame(connection: Connection, frame: Frame): void {
    const session = connection.session;
    switch (frame.type) {
      case FrameType.Ping:
        connection.send([encodeFrame(FrameType.Pong, frame.payload)]);
        return;
      case FrameType.Pong:
        return;
      case FrameType.Detach:
        connection.session = undefined;
        session?.leave(connection, 'detached');
        connection.close();
        return;
      case FrameType.Status:
        if (session) connection.send([encodeJson(FrameType.Result, { session: session.summary() })]);
        return;
      case FrameType.Kill:
        if (!session) return;
        if (connection.role !== 'owner') {
          connection.send([
            encodeJson(FrameType.Error, { message: `refused: only the owner may kill the session (you are an ${connection.role})` }),
          ]);
          return;
        }
        session.kill(connection.user);
        return;
      case FrameType.Input:
        session?.input(connection, frame.payload);
        return;
      case FrameType.Resize: {
        const { cols, rows } = decodeResize(frame.payload);
        session?.resize(connection, cols, rows);
        return;
      }
      default:
        throw new ProtocolError(`frame type 0x${frame.type.toString(16)} is not allowed after the handshake`);
    }
  }

  /**
   * The last resort, when the server is about to die of an error nothing caught: every live
   * session's end and the server's stop are recorded (synchronously, each step on its own).
   */
  recordCrash(reason: string): void {
    for (const session of this.sessions.values()) session.abandon(`the server crashed (${reason})`);
    for (const file of [this.options.socketPath, `${this.options.socketPath}.pid`]) {
      try {
        unlinkSync(file);
      } catch {
        /* gone */
      }
    }
    try {
      this.audit.record({ event: 'server-stop', pid: process.pid, reason: `crashed: ${reason}` });
      // The window's refusal counts are written too (and everything synced): the process ends next.
      this.audit.close();
    } catch {
      /* nothing more can be done */
    }
  }

  /** Ends every session (whole process trees), tells the clients, removes the socket. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log(`au: stopping (${reason})`);
      this.listener.close();
      clearInterval(this.roleTimer);
      const sessions = [...this.sessions.values()];
      for (const session of sessions) session.kill('server', `the server stopped (${reason})`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(sessions.map((s) => s.whenEnded())), new Promise((r) => (timer = setTimeout(r, 8000)))]);
      clearTimeout(timer);
      await this.beforeStop?.().catch(() => undefined);
      const path = this.options.socketPath;
      for (const file of [path, `${path}.pid`]) {
        try {
          unlinkSync(file);
        } catch {
          /* gone */
        }
      }
      this.audit.record({ event: 'server-stop', pid: process.pid, reason });
      this.audit.close();
      if (this.lockFd !== undefined) closeSync(this.lockFd);
    })();
    return this.stopping;
  }
}
