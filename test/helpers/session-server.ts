// Fixtures for the session-server tests: an owner with an agent and a shared server (au server
// init, au server allow, au server run -d), an operator, an observer (by group), a stranger;
// and a protocol probe run as any of them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Human, REPO, createHuman, packageForHumans, sh, uniqueName } from './system.js';

let probeDir: string | undefined;
function probePath(): string {
  if (!probeDir) {
    probeDir = mkdtempSync(join(tmpdir(), 'aut-probe-'));
    chmodSync(probeDir, 0o755);
    copyFileSync(join(REPO, 'test/helpers/session-probe.mjs'), join(probeDir, 'session-probe.mjs'));
    chmodSync(join(probeDir, 'session-probe.mjs'), 0o644);
    const dir = probeDir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(probeDir, 'session-probe.mjs');
}

/** Runs the protocol probe as a user; returns its JSON report. */
export function probe(
  user: string,
  socket: string,
  mode: string,
  params: Record<string, unknown> = {},
  timeoutMs = 180_000,
): Record<string, any> {
  const r = sh(['runuser', '-u', user, '--', process.execPath, probePath(), socket, mode, JSON.stringify(params)], { cwd: '/', timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    throw new Error(`probe ${mode} as ${user} printed no report (${r.status}): ${r.stdout} ${r.stderr}`);
  }
}

export interface SharedServer {
  owner: Human;
  operator: Human;
  observer: Human;
  stranger: Human;
  agent: string;
  group: string;
  observersGroup: string;
  dir: string;
  socket: string;
  au: string;
  stateDir: string;
  /** What `au server init --dir DIR` printed (its instructions). */
  initOutput: string;
  start(): void;
  stop(): void;
  /** SIGTERM, then waits until the server has exited (SIGKILL past its own stop grace). */
  stopAndWait(): void;
  serverPid(): number;
  audit(): Record<string, any>[];
  agentProcesses(): number[];
  cleanup(): void;
}

/** An owner with an agent and a shared server; an operator, an observer (by group) and a stranger. */
export function sharedServer(): SharedServer {
  const humans: Human[] = [];
  const make = (): Human => {
    const h = createHuman();
    humans.push(h);
    return h;
  };
  const owner = make();
  const operator = make();
  const observer = make();
  const stranger = make();
  const group = uniqueName('aut-g');
  const observersGroup = uniqueName('aut-o');
  const dir = `/run/${uniqueName('aut-s')}`;
  // The owner's own directory in the shared one (au server init makes it, mode 2750).
  const socket = join(dir, owner.name, 'server.sock');
  const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
  const stateDir = join(owner.home, '.local/state/agent-as-unix-user');
  let agent = '';
  const server: SharedServer = {
    owner,
    operator,
    observer,
    stranger,
    agent,
    group,
    observersGroup,
    dir,
    socket,
    au,
    stateDir,
    initOutput: '',
    start() {
      const r = owner.au(['server', 'run', '-d', '-s', socket]);
      assert.equal(r.status, 0, r.stderr);
    },
    stop() {
      const pid = server.serverPid();
      if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    },
    stopAndWait() {
      const pid = server.serverPid();
      if (pid > 0) stopProcess(pid);
    },
    serverPid() {
      try {
        return Number(readFileSync(`${socket}.pid`, 'utf8').trim());
      } catch {
        return 0;
      }
    },
    audit() {
      const lines: Record<string, any>[] = [];
      for (const name of readdirSync(stateDir)
        .filter((n) => n.startsWith('audit-'))
        .sort()) {
        for (const line of readFileSync(join(stateDir, name), 'utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      }
      return lines;
    },
    agentProcesses() {
      const r = sh(['pgrep', '-u', server.agent]);
      return r.stdout.split('\n').filter(Boolean).map(Number);
    },
    cleanup() {
      // The server is gone before its owner is: a server still stopping would write its last
      // audit lines into a home userdel just removed (recreating it, owned by a deleted uid).
      try {
        server.stopAndWait();
      } catch {
        /* best effort */
      }
      for (const h of humans) h.cleanup();
      sh(['groupdel', group]);
      sh(['groupdel', observersGroup]);
      rmSync(dir, { recursive: true, force: true });
      const tmpfiles = `agent-as-unix-user-${dir.slice(1).replace(/\//g, '_')}`;
      for (const name of readdirSync('/etc/tmpfiles.d'))
        if (name === `${tmpfiles}.conf` || name.startsWith(`${tmpfiles}-`)) rmSync(join('/etc/tmpfiles.d', name), { force: true });
    },
  };
  try {
    agent = owner.newAgent();
    server.agent = agent;
    sh(['groupadd', observersGroup]);
    sh(['usermod', '-aG', observersGroup, observer.name]);
    let r = owner.au(['server', 'init', '-g', group, '--dir', dir, operator.name, observer.name, stranger.name]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`\\$ sudo groupadd --system ${group}`));
    server.initOutput = r.stdout;
    r = owner.au(['server', 'allow', '--operator', operator.name, agent]);
    assert.equal(r.status, 0, r.stderr);
    r = owner.au(['server', 'allow', '--observer', `@${observersGroup}`]);
    assert.equal(r.status, 0, r.stderr);
    server.start();
  } catch (error) {
    server.cleanup();
    throw error;
  }
  return server;
}

/** SIGTERM to `pid` and a wait for its exit (the server's stop allows its sessions 8 s), SIGKILL after 15 s. */
export function stopProcess(pid: number): void {
  sh(['kill', '-TERM', String(pid)]);
  const gone = (): boolean => {
    try {
      return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 15_000;
  while (!gone() && Date.now() < deadline) sh(['sleep', '0.1']);
  if (!gone()) {
    sh(['kill', '-KILL', String(pid)]);
    while (!gone()) sh(['sleep', '0.1']);
  }
}

export interface ServerWithTwoAgents {
  s: SharedServer;
  /** The owner's second agent (the calm one beside a hostile s.agent). */
  agentB: string;
}

/**
 * Hooks of the enclosing describe: a shared server whose owner has two agents, restarted after
 * the second one is made so that it holds the new agent's group; removed after the tests.
 */
export function sharedServerWithTwoAgents(use: (made: ServerWithTwoAgents) => void): void {
  let s: SharedServer | undefined;
  before(async () => {
    s = sharedServer();
    const agentB = s.owner.newAgent();
    const pid = s.serverPid();
    s.stop();
    await eventually(() => !existsSync(`/proc/${pid}`), 'the server stops');
    s.start();
    use({ s, agentB });
  });
  after(() => s?.cleanup());
}

/** Waits until `check` is true (polling), or fails with `what`. */
export async function eventually(check: () => boolean, what: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The probe in the background (for clients that must run at the same time). */
export function probeAsync(user: string, socket: string, mode: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', user, '--', process.execPath, probePath(), socket, mode, JSON.stringify(params)], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, any>);
      } catch {
        reject(new Error(`probe ${mode} as ${user} printed no report (${code}): ${out} ${err}`));
      }
    });
  });
}
