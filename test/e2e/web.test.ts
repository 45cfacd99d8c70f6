// The web observer end to end: a real server of a real human (au server run -d --web), a
// session started by `au attach` in tmux, and clients over the WebSocket.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { FrameType } from '../../src/server/protocol/frames.js';
import { type Human, createHuman, packageForHumans, sh } from '../helpers/system.js';
import { eventually } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';


const frame = (type: number, payload: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
};

/** A WebSocket client of the server: every frame it got, decoded. */
class Probe {
  readonly frames: { type: number; payload: Buffer }[] = [];
  private pending = Buffer.alloc(0);
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, token: string, session: string) {
    const origin = url.replace(/\/$/, '');
    this.ws = new WebSocket(`${origin.replace('http', 'ws')}/ws?session=${session}&token=${token}`, { headers: { Origin: origin } });
    this.ws.on('message', (data: Buffer) => {
      let buffer = Buffer.concat([this.pending, data]);
      while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt32BE(1)) {
        const length = buffer.readUInt32BE(1);
        this.frames.push({ type: buffer[0]!, payload: buffer.subarray(5, 5 + length) });
        buffer = buffer.subarray(5 + length);
      }
      this.pending = buffer;
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  output(): string {
    return Buffer.concat(this.frames.filter((f) => f.type === FrameType.Output).map((f) => f.payload)).toString();
  }

  messages(type: number): string[] {
    return this.frames.filter((f) => f.type === type).map((f) => f.payload.toString());
  }

  type(text: string): void {
    this.ws.send(frame(FrameType.Input, Buffer.from(text)));
  }

  resize(cols: number, rows: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(cols, 0);
    payload.writeUInt16BE(rows, 2);
    this.ws.send(frame(FrameType.Resize, payload));
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('web observer', () => {
  let owner: Human;
  let agent: string;
  let au: string;
  let stateDir: string;
  let url: string;
  let tokens: { observer: string; operator: string };
  const terminals: Terminal[] = [];
  const probes: Probe[] = [];

  const audit = (): Record<string, any>[] => {
    const lines: Record<string, any>[] = [];
    for (const name of readdirSync(stateDir).filter((n) => n.startsWith('audit-')).sort()) {
      for (const line of readFileSync(join(stateDir, name), 'utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, any>);
    }
    return lines;
  };
  const serverPid = (): number => {
    try {
      return Number(readFileSync(join(stateDir, 'server.sock.pid'), 'utf8').trim());
    } catch {
      return 0;
    }
  };
  const terminal = (): Terminal => {
    const t = new Terminal(owner, 120, 36);
    terminals.push(t);
    return t;
  };
  const probe = async (token: string, session: string): Promise<Probe> => {
    const p = new Probe(url, token, session);
    probes.push(p);
    await p.opened;
    return p;
  };

  before(() => {
    owner = createHuman();
    agent = owner.newAgent();
    au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    stateDir = join(owner.home, '.local/state/agent-as-unix-user');
    const refused = owner.au(['server', 'run', '--web', '0.0.0.0:0']);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /not a loopback address.*--web-public/);
    const started = owner.au(['server', 'run', '-d', '--web', '127.0.0.1:0']);
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stdout + started.stderr, /au server token/);
    const printed = owner.au(['server', 'token', '--json']);
    assert.equal(printed.status, 0, printed.stderr);
    ({ url, ...tokens } = JSON.parse(printed.stdout) as { url: string; observer: string; operator: string });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const mode = sh(['stat', '-c', '%a %U', join(stateDir, 'web-tokens.json')]).stdout.trim();
    assert.equal(mode, `600 ${owner.name}`);
    const log = readFileSync(join(stateDir, 'server.log'), 'utf8');
    assert.ok(log.includes(`${url}#token=${tokens.observer}`), 'the server prints the observer link');
  });

  after(async () => {
    for (const p of probes) p.close();
    for (const t of terminals) t.close();
    const pid = serverPid();
    if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops').catch(() => undefined);
    owner?.cleanup();
  });

  test('refusals: no token, a wrong token (401) and a foreign Origin (403) are refused and audited', async () => {
    const origin = url.replace(/\/$/, '');
    assert.equal((await fetch(`${origin}/api/state`)).status, 401);
    assert.equal((await fetch(`${origin}/api/state`, { headers: { Authorization: 'Bearer not-the-token' } })).status, 401);
    assert.equal((await fetch(`${origin}/api/state?token=${tokens.observer}`, { headers: { Origin: 'http://attacker.example' } })).status, 403);
    const status = (query: string, headers: Record<string, string>): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws${query}`, { headers });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => {
          resolve(101);
          ws.terminate();
        });
        ws.once('error', () => resolve(-1));
      });
    assert.equal(await status('?session=x', { Origin: origin }), 401);
    assert.equal(await status('?session=x&token=wrong', { Origin: origin }), 401);
    assert.equal(await status(`?session=x&token=${tokens.operator}`, { Origin: 'http://attacker.example' }), 403);
    assert.equal(await status(`?session=x&token=${tokens.operator}`, { Origin: origin }), 101);
    const refused = audit().filter((e) => e.event === 'web-refused');
    assert.ok(refused.filter((e) => e.status === 401 && e.reason === 'no token').length >= 2, JSON.stringify(refused));
    assert.ok(refused.some((e) => e.status === 401 && e.reason === 'wrong token' && e.path === '/ws'));
    assert.ok(refused.some((e) => e.status === 403 && /attacker\.example/.test(e.reason) && e.path === '/ws'));
    const text = readdirSync(stateDir).filter((n) => n.startsWith('audit-')).map((n) => readFileSync(join(stateDir, n), 'utf8')).join('');
    assert.ok(!text.includes(tokens.operator) && !text.includes(tokens.observer), 'tokens never reach the audit');
  });

  test('over the WebSocket: an observer sees the session and cannot type or resize; an operator types into it', async () => {
    const tmux = terminal();
    tmux.type(`${au} attach -a ${agent} -n wsprobe`);
    await tmux.waitFor(/session wsprobe \(started/);
    tmux.type('PS1="agent$ "; echo ready-$((40+2))');
    await tmux.waitFor(/^ready-42/m);
    const observer = await probe(tokens.observer, 'wsprobe');
    await eventually(() => /ready-42/.test(observer.output()), () => `the observer gets the current screen: ${observer.output()}`);
    const welcome = JSON.parse(observer.messages(FrameType.Welcome)[0] ?? '{}') as Record<string, unknown>;
    assert.equal(welcome.role, 'observer');
    observer.type('echo observer-ws-typed\r');
    observer.resize(50, 10);
    await eventually(() => observer.messages(FrameType.Error).some((m) => /read-only: you are an observer of session wsprobe/.test(m)), 'the observer is told it is read-only');
    const operator = await probe(tokens.operator, 'wsprobe');
    operator.type('echo from-ws-$((6*7))\r');
    await tmux.waitFor(/^from-ws-42/m);
    await eventually(() => /from-ws-42/.test(observer.output()), 'the observer sees what the operator typed');
    assert.doesNotMatch(tmux.screen(), /observer-ws-typed/);
    const events = audit().filter((e) => e.session === 'wsprobe');
    assert.ok(events.some((e) => e.event === 'join' && e.role === 'observer' && /^web observer@/.test(e.user)));
    assert.ok(events.some((e) => e.event === 'input-refused' && /^web observer@/.test(e.user)));
    assert.ok(events.some((e) => e.event === 'input' && /^web operator@/.test(e.user) && /from-ws/.test(e.data)));
    assert.ok(!events.some((e) => e.event === 'resize' && /^web observer@/.test(e.user)));
    tmux.type('exit');
    await tmux.waitFor(/session wsprobe ended/);
    await eventually(() => observer.messages(FrameType.End).length === 1, 'the observer is told the session ended');
  });
});
