// One session: an agent command on a PTY made here, started through the agent's setuid
// entrypoint exactly as `au run` starts it; a headless screen for late joiners; an asciicast
// recording; and the clients attached to it. The session never waits for a client: output is
// handed to each client's bounded queue (the connection drops a client that falls behind).
import { basename } from 'node:path';
import type { IPty } from 'node-pty';
import type { AgentConfig } from '../config/schema.js';
import { loadNative } from '../system/native.js';
import { exitStatusOf } from '../run/launch.js';
import { prepareLaunch } from '../launch/prepare.js';
import { noteReviewShares } from '../review/note-run.js';
import { currentHuman } from '../system/human.js';
import { type AuditLog, escapeBytes } from './audit.js';
import type { Role } from './auth.js';
import { FrameType, encodeChunked, encodeJson, outputFrames } from './protocol/frames.js';
import type { EndMessage, SessionSummary } from './protocol/messages.js';
import { Recording, type RecordingLoss } from './recording.js';
import { ScreenModel } from './screen.js';
import { PresenceLimiter } from './presence.js';
import { isOnlyTerminalReports } from './protocol/terminal-reports.js';
import { type Size, SessionSizes } from './session-size.js';

/** A connected client as the session sees it. */
export interface SessionClient {
  readonly user: string;
  readonly uid: number;
  readonly role: Role;
  readonly isClosed: boolean;
  /** Queues frames (or frame parts, written back to back); the connection drops the client when its queue passes its bound. */
  send(frames: readonly Buffer[]): void;
  /** Sends a last frame and closes. */
  finish(frame: Buffer): void;
}

export interface SessionStart {
  id: string;
  agent: AgentConfig;
  agentUid: number;
  command: string[];
  owner: string;
  cols: number;
  rows: number;
  /** The client's working directory: the session starts in the matching share, else the agent home. */
  cwd?: string;
  recordingPath: string;
  /** The recording's size cap in bytes ([server] max_recording_mb). */
  maxRecordingBytes?: number;
  audit: AuditLog;
}

const KILL_GRACE_MS = 5000;
/** Input waiting for an agent that does not read it: beyond this, input is refused. */
const MAX_PENDING_INPUT_BYTES = 1024 * 1024;
const REFUSAL_NOTICE_INTERVAL_MS = 2000;
/**
 * A size is applied (PTY, screen model, recording, audit) at most once per this: a client
 * sending resizes in a loop costs one resize a second, the last size it asked for.
 */
const RESIZE_INTERVAL_MS = 1000;

export class Session {
  readonly id: string;
  readonly agent: string;
  readonly agentUid: number;
  readonly command: string[];
  readonly owner: string;
  readonly startedAt = new Date();
  readonly pid: number;
  /** The recording's file name (in the recordings directory). */
  readonly recordingName: string;
  private readonly pty: IPty;
  private readonly screen: ScreenModel;
  private readonly recording: Recording;
  private readonly audit: AuditLog;
  private readonly clients = new Set<SessionClient>();
  private readonly lastRefusal = new Map<SessionClient, number>();
  private cols: number;
  private rows: number;
  private endReason = 'the agent command exited';
  private killTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** When a size was last applied, and the size asked for since (applied when the interval ends). */
  private resizedAt = Number.NEGATIVE_INFINITY;
  private wantedSize: (Size & { by: string; reason?: string }) | undefined;
  private resizeTimer: NodeJS.Timeout | undefined;
  /** Whose size is in effect; a leaving client's size is undone (session-size.ts). */
  private readonly sizes: SessionSizes<SessionClient>;
  private readonly presence = new PresenceLimiter(({ user, joins, leaves, since }) => {
    this.audit.record({ event: 'presence', session: this.id, user, joins, leaves, since: since.toISOString() });
    if (!this.ended) this.notify(`${user} joined ${joins} and left ${leaves} more times since ${since.toISOString()}`);
  });
  private readonly endWaiters: (() => void)[] = [];
  onEnd: ((end: { exitCode: number; reason: string; durationMs: number }) => void) | undefined;

  constructor(pty: typeof import('node-pty'), start: SessionStart) {
    this.id = start.id;
    this.agent = start.agent.userName;
    this.agentUid = start.agentUid;
    this.command = start.command;
    this.owner = start.owner;
    this.cols = start.cols;
    this.rows = start.rows;
    this.sizes = new SessionSizes({ cols: start.cols, rows: start.rows });
    this.audit = start.audit;
    // The same launch as `au run`: limits, the network policy checked fail-closed, the repo's
    // .au.toml of the client's directory, the environment rules (TERM is the server's PTY's).
    const human = currentHuman();
    const plan = prepareLaunch(
      {
        agent: start.agent,
        command: start.command,
        via: 'login-shell',
        interactive: true,
        cwd: start.cwd ?? human.home,
        shares: 'configured',
        env: [],
        term: 'xterm-256color',
      },
      human,
    );
    const { args, env } = plan;
    noteReviewShares(start.agent.userName, plan.mounts, human); // before the agent can re-create its staged files (review/base.ts)
    this.recordingName = basename(start.recordingPath);
    this.recording = new Recording(
      start.recordingPath,
      { cols: this.cols, rows: this.rows, command: start.command.join(' '), title: `au session ${this.id} (${this.agent})` },
      start.maxRecordingBytes,
    );
    this.recording.onCapped = () =>
      this.audit.record({
        event: 'recording-capped',
        session: this.id,
        recording: this.recordingName,
        maxBytes: start.maxRecordingBytes ?? 0,
      });
    this.screen = new ScreenModel(this.cols, this.rows);
    this.screen.onFailure = () =>
      this.notify(`the server's screen of session ${this.id} failed on the agent's output and was reset (live output goes on)`);
    // No fd of the server reaches the entrypoint (and so its init, which runs as the agent):
    // node-pty's PTY masters are not close-on-exec, nor is what the server's parent leaked.
    const native = loadNative();
    if (!native) throw new Error('the native addon (au_native.node) is missing: cannot close the server fds before starting the agent');
    native.closeOnExecFrom(3);
    this.pty = pty.spawn(start.agent.entrypoint, args, {
      name: 'xterm-256color',
      cols: this.cols,
      rows: this.rows,
      cwd: '/',
      env,
      encoding: null,
    });
    this.pid = this.pty.pid;
    this.audit.record({ event: 'start', session: this.id, owner: this.owner, agent: this.agent, command: this.command, pid: this.pid });
    this.pty.onData((data: string | Buffer) => this.output(typeof data === 'string' ? Buffer.from(data) : data));
    this.pty.onExit(({ exitCode, signal }) => this.finish(exitStatusOf(signal ? null : exitCode, signal ? signal : null)));
  }

  private output(data: Buffer): void {
    // The recording first: nothing the agent printed is lost, whatever fails downstream.
    this.recording.output(data);
    if (this.clients.size > 0) {
      const frames = outputFrames(data);
      for (const client of this.clients) client.send(frames);
    }
    this.screen.write(data);
  }

  /** Adds a client: it gets the current screen at once, then live output. */
  join(client: SessionClient): void {
    const reported = this.presence.admit(client.user, 'join');
    if (reported) this.audit.record({ event: 'join', session: this.id, user: client.user, uid: client.uid, role: client.role });
    this.screen.snapshot((snapshot) => {
      if (this.ended || client.isClosed) return;
      client.send([...encodeChunked(FrameType.Output, Buffer.from(snapshot.screen)), ...encodeChunked(FrameType.Output, snapshot.follow)]);
      this.clients.add(client);
    });
    if (reported) this.notify(`${client.user} joined as ${client.role}`, client);
  }

  leave(client: SessionClient, reason: string): void {
    if (!this.clients.delete(client) && this.ended) return;
    this.lastRefusal.delete(client);
    this.forgetSize(client);
    if (!this.presence.admit(client.user, 'leave')) return;
    this.audit.record({ event: 'leave', session: this.id, user: client.user, uid: client.uid, role: client.role, reason });
    if (!this.ended) this.notify(`${client.user} left (${reason})`, client);
  }

  private notify(message: string, except?: SessionClient): void {
    const frame = encodeJson(FrameType.Notice, { message });
    for (const other of this.clients) if (other !== except) other.send([frame]);
  }

  private refuse(client: SessionClient, what: string, bytes: number): void {
    const now = Date.now();
    const last = this.lastRefusal.get(client) ?? 0;
    if (now - last < REFUSAL_NOTICE_INTERVAL_MS) return;
    this.lastRefusal.set(client, now);
    this.audit.record({ event: 'input-refused', session: this.id, user: client.user, bytes, reason: `${client.role} may not ${what}` });
    client.send([
      encodeJson(FrameType.Error, {
        message: `read-only: you are an ${client.role} of session ${this.id}; your ${what === 'type' ? 'input was' : 'resize was'} not sent to the agent`,
      }),
    ]);
  }

  input(client: SessionClient, data: Buffer): void {
    if (this.ended) return;
    if (client.role === 'observer') {
      // A terminal's own reports (focus, answers to queries, mouse) are not the viewer typing:
      // dropped, and no refusal for them.
      if (isOnlyTerminalReports(data)) return;
      return this.refuse(client, 'type', data.length);
    }
    if (this.pendingInputBytes() + data.length > MAX_PENDING_INPUT_BYTES) {
      this.audit.record({
        event: 'input-refused',
        session: this.id,
        user: client.user,
        bytes: data.length,
        reason: 'the agent is not reading its input',
      });
      client.send([
        encodeJson(FrameType.Error, {
          message: `input dropped: the agent is not reading its input (over ${MAX_PENDING_INPUT_BYTES} bytes waiting)`,
        }),
      ]);
      return;
    }
    this.audit.record({ event: 'input', session: this.id, user: client.user, bytes: data.length, data: escapeBytes(data) });
    this.pty.write(data);
  }

  /**
   * Bytes node-pty still holds for the PTY (it queues what the kernel does not take yet, without
   * a bound of its own). Read from its write queue, an internal of node-pty 1.x: when that
   * changes, the e2e test of this bound fails.
   */
  private pendingInputBytes(): number {
    const stream = (this.pty as unknown as { _writeStream?: { _writeQueue?: { buffer: Buffer; offset: number }[] } })._writeStream;
    const queue = stream?._writeQueue;
    if (!Array.isArray(queue)) return 0;
    let bytes = 0;
    for (const task of queue) bytes += task.buffer.length - task.offset;
    return bytes;
  }

  resize(client: SessionClient, cols: number, rows: number): void {
    if (this.ended) return;
    if (client.role === 'observer') return this.refuse(client, 'resize', 0);
    this.sizes.request(client, { cols, rows }, client.role === 'owner');
    this.requestSize({ by: client.user, cols, rows });
  }

  /** A leaving client's size is undone when it was the one in effect. */
  private forgetSize(client: SessionClient): void {
    const back = this.sizes.leave(client);
    if (back && !this.ended)
      this.requestSize({ ...back, by: client.user, reason: `${client.user} left: the size before its resize is back` });
  }

  private requestSize(wanted: Size & { by: string; reason?: string }): void {
    const wait = this.resizedAt + RESIZE_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.wantedSize = wanted;
      this.resizeTimer ??= setTimeout(() => this.applyWantedSize(), wait);
      return;
    }
    this.applySize(wanted);
  }

  private applyWantedSize(): void {
    this.resizeTimer = undefined;
    const wanted = this.wantedSize;
    this.wantedSize = undefined;
    if (wanted && !this.ended) this.applySize(wanted);
  }

  private applySize({ by, cols, rows, reason }: Size & { by: string; reason?: string }): void {
    if (cols === this.cols && rows === this.rows) return;
    this.resizedAt = performance.now();
    this.cols = cols;
    this.rows = rows;
    this.pty.resize(cols, rows);
    this.screen.resize(cols, rows);
    this.recording.resize(cols, rows);
    this.audit.record({ event: 'resize', session: this.id, user: by, cols, rows, ...(reason ? { reason } : {}) });
  }

  /** Ends the whole agent process tree: SIGTERM to the entrypoint (which ends its pid namespace), SIGKILL after a grace period. */
  kill(by: string, reason = `killed by ${by}`): void {
    if (this.ended || this.killTimer) return;
    this.endReason = reason;
    this.audit.record({ event: 'kill', session: this.id, by });
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    this.killTimer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, KILL_GRACE_MS);
  }

  private finish(exitCode: number): void {
    if (this.ended) return;
    this.ended = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.presence.flush();
    const durationMs = Date.now() - this.startedAt.getTime();
    this.recording.close(exitCode);
    this.screen.dispose();
    this.audit.record({ event: 'end', session: this.id, exitCode, durationMs, reason: this.endReason });
    const end: EndMessage = { session: this.id, exitCode, reason: this.endReason, durationMs };
    const frame = encodeJson(FrameType.End, end);
    for (const client of this.clients) client.finish(frame);
    this.clients.clear();
    this.onEnd?.({ exitCode, reason: this.endReason, durationMs });
    for (const waiter of this.endWaiters.splice(0)) waiter();
  }

  /** What the recording could not write (a full disk). */
  get recordingLoss(): RecordingLoss {
    return this.recording.loss;
  }

  /**
   * The server is dying (last-resort handler): the recording is flushed, the end recorded, the
   * agent's process tree told to end. Synchronous, and never throws: it runs for every session.
   */
  abandon(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const step of [
      () => this.recording.close(),
      () => this.audit.record({ event: 'end', session: this.id, exitCode: -1, durationMs: Date.now() - this.startedAt.getTime(), reason }),
      () => process.kill(this.pid, 'SIGTERM'),
    ]) {
      try {
        step();
      } catch {
        /* the next step still runs */
      }
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** The visible screen text (status, tests). */
  screenText(): string {
    return this.screen.text();
  }

  summary(): SessionSummary {
    return {
      id: this.id,
      agent: this.agent,
      command: this.command,
      owner: this.owner,
      pid: this.pid,
      startedAt: this.startedAt.toISOString(),
      cols: this.cols,
      rows: this.rows,
      clients: [...this.clients].map((c) => ({ user: c.user, role: c.role })),
    };
  }
}
