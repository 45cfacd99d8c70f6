// Adversarial review of the sharing / refusal / full-disk change (threat model A13, A14, A25, A29),
// written as the attacker: the agent (reaching only the web port, and its own home on the same
// filesystem as the owner's state directory) and a hostile colleague in the sharing group. Each
// test asserts the attack FAILS; an attack that succeeds is kept as a `todo` saying what it does.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { must, sh, uniqueName } from '../helpers/system.js';
import { type SharedServer, eventually, probe, sharedServer } from '../helpers/session-server.js';
import { Recording } from '../../src/server/recording.js';

/**
 * Run as the agent against the web port. Modes:
 *  refuse URL JSON  -> {requests:[{from, n, origin?, path?, token?}]}: raw HTTP/1.1 requests (latin1
 *                      bytes as given), each from a chosen loopback source address; prints the statuses.
 *  idle HOST PORT N FROM -> opens N TCP connections that never send a byte; prints how many opened, holds.
 */
const AGENT_WEB = `
const net = require('node:net');
const [mode, ...args] = process.argv.slice(2);
const once = (host, port, from, bytes) => new Promise((resolve) => {
  const s = net.connect({ host, port, localAddress: from });
  let said = Buffer.alloc(0);
  s.on('connect', () => s.write(bytes));
  s.on('data', (d) => { said = Buffer.concat([said, d]); if (said.includes('\\r\\n\\r\\n')) { s.destroy(); resolve(Number(said.toString('latin1').split(' ')[1])); } });
  s.on('error', () => resolve(-1));
  s.on('close', () => resolve(said.length ? Number(said.toString('latin1').split(' ')[1]) : -2));
});
(async () => {
  if (mode === 'refuse') {
    const url = new URL(args[0]);
    const plan = JSON.parse(args[1]);
    const statuses = [];
    for (const r of plan.requests) {
      for (let i = 0; i < (r.n ?? 1); i++) {
        const path = (r.path ?? '/api/state') + (r.token ? '?token=' + r.token : '');
        let head = 'GET ' + path + ' HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\n';
        if (r.origin !== undefined) head += 'Origin: ' + r.origin + '\\r\\n';
        if (r.upgrade) head += 'Connection: Upgrade\\r\\nUpgrade: websocket\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n';
        head += 'Connection: close\\r\\n\\r\\n';
        statuses.push(await once(url.hostname, Number(url.port), r.from ?? '127.0.0.1', Buffer.from(head, 'latin1')));
      }
    }
    console.log(JSON.stringify({ statuses }));
    return;
  }
  if (mode === 'idle') {
    const [host, port, count, from] = args;
    const held = [];
    let opened = 0, failed = 0;
    // Each connection is reopened when the server drops it (a real slowloris keeps its count).
    const one = () => new Promise((resolve) => {
      const s = net.connect({ host, port: Number(port), localAddress: from });
      s.on('connect', () => { opened++; resolve(); });
      s.on('error', () => { failed++; resolve(); });
      s.on('close', () => setTimeout(() => one(), 20));
      held.push(s);
    });
    for (let i = 0; i < Number(count); i += 500) await Promise.all(Array.from({ length: Math.min(500, Number(count) - i) }, one));
    console.log(JSON.stringify({ opened, failed }));
    setInterval(() => {}, 1000);
  }
})();
`;

describe('review: sharing, refusals and the record against the agent and a colleague', () => {
  let s: SharedServer;
  let work: string;
  let url = '';
  let tokens = { observer: '', operator: '' };
  const mounts: string[] = [];
  const children: ChildProcess[] = [];

  before(() => {
    s = sharedServer();
    work = mkdtempSync(join(tmpdir(), 'aut-review-'));
    chmodSync(work, 0o755);
    writeFileSync(join(work, 'agent-web.cjs'), AGENT_WEB, { mode: 0o644 });
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    try {
      s?.stop();
    } catch {
      /* not running */
    }
    for (const m of mounts.reverse()) {
      sh(['umount', '-l', m]);
      if (m.startsWith('/mnt/aut-')) rmSync(m, { recursive: true, force: true });
    }
    s?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const restart = async (web = false): Promise<void> => {
    const pid = s.serverPid();
    s.stop();
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops');
    const r = s.owner.au(['server', 'run', '-d', '-s', s.socket, ...(web ? ['--web', '127.0.0.1:0'] : [])]);
    assert.equal(r.status, 0, r.stderr);
    if (!web) return;
    const printed = JSON.parse(s.owner.au(['server', 'token', '--json']).stdout) as { url: string; observer: string; operator: string };
    ({ url, ...tokens } = printed);
  };
  const stopAndWait = async (): Promise<void> => {
    const pid = s.serverPid();
    s.stop();
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops');
  };
  const asAgentWeb = (args: string[], timeoutMs = 60_000): Record<string, any> => {
    const r = sh(['runuser', '-u', s.agent, '--', process.execPath, join(work, 'agent-web.cjs'), ...args], { cwd: '/', timeoutMs });
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, any>;
  };
  const auditBytes = (): Buffer =>
    Buffer.concat(
      readdirSync(s.stateDir)
        .filter((n) => n.startsWith('audit-'))
        .sort()
        .map((n) => readFileSync(join(s.stateDir, n))),
    );

  test("A29: the agent spends the window's detailed-refusal budget (3 loopback addresses) and its 8 reason slots (a 4th): a colleague's refused connection then leaves neither uid nor name in the audit", async () => {
    await restart(true);
    const before = s.audit().length;
    // 3 sources x 8 = 24 >= the 20 detailed lines of a window; then 8 distinct reasons fill the
    // 'other sources' line's reason slots (refusals.ts: MAX_REASONS), so the stranger's reason is 'other'.
    const requests: Record<string, unknown>[] = ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((from) => ({ from, n: 8 }));
    for (let i = 0; i < 8; i++) requests.push({ from: '127.0.0.4', origin: `http://decoy-${i}.example` });
    const flood = asAgentWeb(['refuse', url, JSON.stringify({ requests })]);
    assert.ok(
      flood.statuses.every((st: number) => st === 401 || st === 403),
      JSON.stringify(flood),
    );
    const refused = probe(s.stranger.name, s.socket, 'request', { action: 'list' });
    assert.equal(refused.type, 3, JSON.stringify(refused)); // Error: refused
    await stopAndWait(); // flushes the window
    const added = s.audit().slice(before);
    const strangerUid = s.stranger.uid;
    const text = JSON.stringify(added);
    const named =
      added.some(
        (e) => (e.event === 'refused' && e.uid === strangerUid) || (e.event === 'refusals' && e.source === `uid ${strangerUid}`),
      ) || text.includes(s.stranger.name);
    assert.ok(
      named,
      `the audit names the refused stranger (uid ${strangerUid}, ${s.stranger.name}): ${JSON.stringify(added.filter((e) => e.event === 'refusals'))}`,
    );
  });

  test('A22/A29: 8-bit C1 controls (CSI, OSC 52) in an Origin header reach the audit file as raw UTF-8 C1 characters', async () => {
    await restart(true);
    const origin = 'http://x\x9b2J\x9b31mOWNED\x9d52;c;cHduZWQ=\x9c';
    const r = asAgentWeb(['refuse', url, JSON.stringify({ requests: [{ path: '/ws', origin, upgrade: true, token: tokens.observer }] })]);
    assert.deepEqual(r.statuses, [403]);
    await stopAndWait();
    const bytes = auditBytes();
    // Every line still parses (JSON is fine) ...
    for (const line of bytes.toString('utf8').split('\n')) if (line) JSON.parse(line);
    // ... but no C1 control (U+0080..U+009F, UTF-8 C2 80..C2 9F) may be in a file a human views.
    const c1 = [...bytes.toString('utf8')].filter((ch) => ch.charCodeAt(0) >= 0x80 && ch.charCodeAt(0) <= 0x9f);
    assert.equal(c1.length, 0, `C1 controls in the audit: ${JSON.stringify(c1)}`);
  });

  test('A29: the agent maximises the bytes per refusal window (20 loopback sources, 200-char Origins, 8 reasons each): the audit grows by at most 12 KiB per 10-second window (~100 MB/day)', async (t) => {
    await restart(true);
    const before = auditBytes().length;
    // 8 distinct reasons of 200 characters (what refused() keeps), 20 sources (the most that get a
    // summary line of their own): first one refusal from each source (all 20 detailed), then 9 more
    // from each, counted into that source's own summary line.
    const long = (i: number): string => `http://${String(i).repeat(200)}`.slice(0, 180);
    const requests: Record<string, unknown>[] = [];
    const sources = Array.from({ length: 20 }, (_, k) => `127.0.${k + 1}.${k + 1}`);
    for (const from of sources) requests.push({ from, path: `/api/${'p'.repeat(195)}`, origin: long(9) });
    for (const from of sources) for (let i = 0; i < 9; i++) requests.push({ from, path: `/api/${'q'.repeat(195)}`, origin: long(i) });
    const started = Date.now();
    const r = asAgentWeb(['refuse', url, JSON.stringify({ requests })]);
    const elapsed = Date.now() - started;
    assert.ok(
      r.statuses.every((st: number) => st === 403),
      JSON.stringify(r.statuses.slice(0, 5)),
    );
    await stopAndWait();
    const added = auditBytes().length - before;
    t.diagnostic(`${added} audit bytes from ${requests.length} refusals in ${elapsed} ms (one window)`);
    assert.ok(elapsed < 9_000, 'one window');
    assert.ok(added <= 12 * 1024, `${added} bytes in one window`);
  });

  test('A29: after the budget is spent, a wrong token and a foreign Origin are still refused (the limiter only decides what is logged)', async () => {
    await restart(true);
    const spend = asAgentWeb([
      'refuse',
      url,
      JSON.stringify({ requests: ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((from) => ({ from, n: 8 })) }),
    ]);
    assert.ok(spend.statuses.every((st: number) => st === 401));
    const port = new URL(url).port;
    const r = asAgentWeb([
      'refuse',
      url,
      JSON.stringify({
        requests: [
          { token: 'x'.repeat(tokens.observer.length) }, // wrong token, same length
          { token: `${tokens.observer}x` },
          { token: tokens.observer.slice(0, -1) },
          { path: '/ws', upgrade: true, token: tokens.observer }, // no Origin on the WebSocket
          { path: '/ws', upgrade: true, token: tokens.observer, origin: 'null' },
          { path: '/ws', upgrade: true, token: tokens.observer, origin: `http://127.0.0.1:${port}.attacker.example` },
          { path: '/ws', upgrade: true, token: tokens.observer, origin: `http://127.0.0.1:${port}/` },
          { path: '/ws', upgrade: true, token: tokens.observer, origin: `http://attacker.example:${port}` },
          { path: '/api/state', token: tokens.observer, origin: 'http://attacker.example' }, // a token with a foreign Origin
          { path: '/api/state', token: tokens.observer }, // the control: a good token is served
        ],
      }),
    ]);
    assert.deepEqual(r.statuses, [401, 401, 401, 403, 403, 403, 403, 403, 403, 200]);
  });

  test("A25: a colleague tries to hard-link the owner's shared socket (0660, group rw) into a directory of theirs on the same filesystem, to give the owner a path that passes the socket-owner check", async () => {
    await restart();
    const colleague = s.stranger; // in the sharing group, no role
    const theirs = `/run/${uniqueName('aut-c')}`; // like the colleague's /run/user/UID: the same filesystem as the shared sockets
    must(['install', '-d', '-m', '0755', '-o', colleague.name, theirs]);
    try {
      const link = join(theirs, 'server.sock');
      const r = sh(['runuser', '-u', colleague.name, '--', 'ln', s.socket, link]);
      // fs.protected_hardlinks: only regular files may be linked by a non-owner.
      assert.notEqual(r.status, 0, "the colleague linked the owner's socket");
      assert.match(r.stderr, /Operation not permitted/);
      assert.equal(existsSync(link), false);
      // A symlink instead is refused by the client (lstat: not a socket), before a byte is sent.
      must(['runuser', '-u', colleague.name, '--', 'ln', '-s', s.socket, link]);
      const list = s.owner.au(['sessions', 'list', '-s', link], { timeoutMs: 20_000 });
      assert.equal(list.status, 1);
      assert.match(list.stderr, /is not a socket; nothing was sent to it/);
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
  });

  test("A29: the agent fills the filesystem of the owner's state directory from its own directory; a stranger's refusal, a session's end and the server's stop while full leave no trace once space is back", async () => {
    await stopAndWait();
    // One small filesystem holding the agent's directory and the owner's state directory (as /home does).
    const fs = `/mnt/${uniqueName('aut-fs')}`;
    must(['mkdir', '-p', fs]);
    must(['mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', fs]);
    mounts.push(fs);
    must(['install', '-d', '-m', '0700', '-o', s.owner.name, join(fs, 'owner-state')]);
    must(['install', '-d', '-m', '0700', '-o', s.agent, join(fs, 'agent-home')]);
    must(['mount', '--bind', join(fs, 'owner-state'), s.stateDir]);
    mounts.push(s.stateDir);
    // The agent fills it with its own files.
    sh(['runuser', '-u', s.agent, '--', 'dd', 'if=/dev/zero', `of=${join(fs, 'agent-home', 'fill')}`, 'bs=64k']);
    try {
      assert.notEqual(
        sh(['runuser', '-u', s.owner.name, '--', 'sh', '-c', `echo x >> ${join(s.stateDir, 'probe')}`]).status,
        0,
        'the disk is full',
      );
      s.start();
      const started = probe(s.owner.name, s.socket, 'run', {
        session: 'whilefull',
        agent: s.agent,
        command: ['bash', '-c', 'echo up-now; exec sleep 1000'],
        until: 'up-now',
        detach: true,
      });
      assert.equal(started.welcome?.created, true, JSON.stringify(started));
      const refused = probe(s.stranger.name, s.socket, 'request', { action: 'list' });
      assert.equal(refused.type, 3);
      assert.equal(s.owner.au(['sessions', 'kill', 'whilefull', '-s', s.socket]).status, 0);
      const list = s.owner.au(['sessions', 'list', '-s', s.socket]);
      assert.match(list.stdout, /The record is incomplete/, 'while it runs, the server says so');
      await stopAndWait();
      // The agent frees the space when it likes (after the server is gone), then the owner starts a server again.
      must(['runuser', '-u', s.agent, '--', 'rm', '-f', join(fs, 'agent-home', 'fill')]);
      s.start();
      await stopAndWait();
      const audit = s.audit();
      const traced = audit.some((e) => e.event === 'gap') || audit.some((e) => e.event === 'end' && e.session === 'whilefull');
      assert.ok(traced, `the record says what it lost: ${JSON.stringify(audit.map((e) => e.event))}`);
    } finally {
      // Whatever failed, the next tests get the owner's own state directory back (and a server stopped).
      await stopAndWait().catch(() => undefined);
      sh(['umount', s.stateDir]);
      mounts.splice(mounts.indexOf(s.stateDir), 1);
    }
  });

  test('A13/A29: slowloris on the web port: the agent holds more idle TCP connections than the server has file descriptors; the owner still reaches its server', async (t) => {
    await restart(true);
    const limits = readFileSync(`/proc/${s.serverPid()}/limits`, 'utf8');
    const soft = Number(/Max open files\s+(\d+)/.exec(limits)?.[1]);
    t.diagnostic(`the server may open ${soft} files`);
    assert.ok(soft > 0 && soft <= 65536, `a limit the agent can reach: ${soft}`);
    const port = new URL(url).port;
    const per = Math.ceil((soft + 2000) / 4);
    const opened: Promise<number>[] = [];
    for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      const child = spawn(
        'runuser',
        ['-u', s.agent, '--', process.execPath, join(work, 'agent-web.cjs'), 'idle', '127.0.0.1', port, String(per), from],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      opened.push(
        new Promise<number>((resolve) =>
          child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { opened: number }).opened)),
        ),
      );
    }
    let done = false;
    void Promise.all(opened).then((n) => {
      done = true;
      t.diagnostic(`the agent opened ${n.join(' + ')} idle connections (reopened when dropped)`);
    });
    try {
      const fdsOf = (): number => readdirSync(`/proc/${s.serverPid()}/fd`).length;
      // While the connections pile up: each time the server is at its limit, the owner tries its server.
      let most = 0;
      const failures: string[] = [];
      let tries = 0;
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline && tries < 6) {
        const fds = fdsOf();
        most = Math.max(most, fds);
        if (fds >= soft - 50) {
          tries++;
          const list = s.owner.au(['sessions', 'list', '-s', s.socket], { timeoutMs: 20_000 });
          if (list.status !== 0) failures.push(`${fds} files: ${list.stderr.trim()}`);
        } else if (done && Date.now() > deadline - 30_000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      t.diagnostic(`the server had at most ${most} open files; the owner tried ${tries} times at the limit`);
      assert.deepEqual(failures, [], "the owner's au sessions list while the agent holds the server's files");
    } finally {
      for (const c of children.splice(0)) c.kill('SIGKILL');
      sh(['pkill', '-KILL', '-u', s.agent]);
    }
  });

  test("A25: a colleague plants a symlink where the owner's --dir will be (in a team directory the group may write; also /tmp when fs.protected_symlinks=0): au server init (as root) follows it and re-owns the target", () => {
    const colleague = s.stranger;
    const target = `/var/lib/${uniqueName('aut-t')}`; // a directory of root the colleague wants changed
    must(['install', '-d', '-m', '0700', '-o', 'root', '-g', 'root', target]);
    const team = `/var/tmp/${uniqueName('aut-team')}`; // not sticky: fs.protected_symlinks does not apply
    must(['install', '-d', '-m', '2775', '-o', 'root', '-g', s.group, team]);
    const planted = join(team, 'sockets');
    must(['runuser', '-u', colleague.name, '--', 'ln', '-s', target, planted]);
    try {
      s.owner.au(['server', 'init', '-g', s.group, '--dir', planted], { timeoutMs: 60_000 });
      const st = lstatSync(target);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o700], 'the target was changed through the symlink');
      assert.equal(existsSync(join(target, s.owner.name)), false, 'an owner directory was made in the target');
    } finally {
      rmSync(team, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
      const base = `agent-as-unix-user-${planted.slice(1).replace(/[^A-Za-z0-9_.-]/g, '_')}`;
      for (const name of readdirSync('/etc/tmpfiles.d')) if (name.startsWith(base)) rmSync(join('/etc/tmpfiles.d', name), { force: true });
    }
  });

  test('A29: a stranger connects and resets at once while the server looks its uid up (a cold cache after a restart): the refusal is still recorded', async () => {
    await restart();
    const before = s.audit().length;
    const script = `const s = require('node:net').connect(process.argv[1], () => { s.write(Buffer.from([1,0,0,0,2,123,125])); s.resetAndDestroy ? s.resetAndDestroy() : s.destroy(); });`;
    sh(['runuser', '-u', s.stranger.name, '--', process.execPath, '-e', script, s.socket], { cwd: '/' });
    await new Promise((r) => setTimeout(r, 500));
    await stopAndWait();
    const added = s.audit().slice(before);
    const seen = added.some(
      (e) => (e.event === 'refused' && e.uid === s.stranger.uid) || (e.event === 'refusals' && JSON.stringify(e).includes(s.stranger.name)),
    );
    assert.ok(seen, `the stranger's attempt is in the audit: ${JSON.stringify(added.map((e) => e.event))}`);
  });

  test('A29: the agent prints multi-byte characters while the disk is full: the lost size the record reports is the bytes lost', () => {
    const fs = `/mnt/${uniqueName('aut-rec')}`;
    must(['mkdir', '-p', fs]);
    must(['mount', '-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', fs]);
    try {
      const rec = new Recording(join(fs, 'rec', 'x.cast'), { cols: 80, rows: 24, command: 'x', title: 'x' });
      sh(['dd', 'if=/dev/zero', `of=${join(fs, 'fill')}`, 'bs=4k']);
      const output = Buffer.from('€'.repeat(6000)); // 18,000 bytes
      rec.output(output);
      rec.close();
      const loss = rec.loss;
      assert.ok(loss.lostBytes > 0, JSON.stringify(loss));
      assert.ok(loss.lostBytes >= output.length, `${loss.lostBytes} bytes reported lost for ${output.length} bytes of output lost`);
    } finally {
      sh(['umount', '-l', fs]);
      rmSync(fs, { recursive: true, force: true });
    }
  });

  test("A25: a FIFO a colleague planted as the lock file (in a directory of the owner's that was world-writable before the server made it 0700): refused, no hang", () => {
    const dir = join('/var/tmp', uniqueName('aut-open'));
    must(['install', '-d', '-m', '0777', '-o', s.owner.name, dir]);
    const path = join(dir, 'x.sock');
    must(['runuser', '-u', s.stranger.name, '--', 'mkfifo', '-m', '0666', `${path}.lock`]);
    try {
      const r = s.owner.au(['server', 'run', '-s', path], { timeoutMs: 20_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /x\.sock\.lock is not a regular file: refusing to use it/);
      assert.equal(lstatSync(dir).mode & 0o777, 0o700, 'the directory is made private first');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('A25: a FIFO a colleague planted as the pid file (same directory): `au server run -d` returns', () => {
    const dir = join('/var/tmp', uniqueName('aut-open'));
    must(['install', '-d', '-m', '0777', '-o', s.owner.name, dir]);
    const path = join(dir, 'x.sock');
    must(['runuser', '-u', s.stranger.name, '--', 'mkfifo', '-m', '0666', `${path}.pid`]);
    let hung = false;
    try {
      try {
        const r = s.owner.au(['server', 'run', '-d', '-s', path], { timeoutMs: 15_000 });
        assert.equal(r.status, 0, r.stderr);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw error;
        hung = true;
      }
      assert.equal(hung, false, '`au server run -d` hung on the planted FIFO');
    } finally {
      sh(['pkill', '-TERM', '-u', s.owner.name, '-f', path]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
