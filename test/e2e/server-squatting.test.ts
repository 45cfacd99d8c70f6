// A hostile colleague in the sharing group (threat model A25): they pre-create the owner's
// socket, pid and lock file names (symlinks to a file of the owner included), and run an
// impostor server on a path the owner is given. The owner's server starts or refuses with a
// clear message, never writes a file through a planted name, and the owner's clients refuse to
// talk to a server of another uid before sending it a byte.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, must, sh, uniqueName } from '../helpers/system.js';
import { eventually } from '../helpers/session-server.js';

/** A socket server of the colleague that answers nothing and counts the bytes it receives. */
const IMPOSTOR = `
const { createServer } = require('node:net');
const { appendFileSync, chmodSync } = require('node:fs');
const [path, log] = process.argv.slice(2);
const server = createServer((socket) => {
  socket.write('[sudo] password for you: ');
  socket.on('data', (d) => appendFileSync(log, String(d.length) + '\\n'));
  socket.on('error', () => {});
});
server.listen(path, () => { chmodSync(path, 0o777); console.log('listening'); });
`;

describe("sharing socket: a colleague cannot squat or impersonate the owner's server", () => {
  let owner: Human;
  let colleague: Human;
  let group: string;
  let dir: string;
  let work: string;
  const servers: ChildProcess[] = [];

  const ownerDir = (): string => join(dir, owner.name);
  const socket = (): string => join(ownerDir(), 'server.sock');
  /** A file of the owner that a planted symlink points at. */
  const precious = (): string => join(owner.home, 'precious.txt');
  const asColleague = (argv: string[]) => sh(['runuser', '-u', colleague.name, '--', ...argv], { cwd: '/' });
  const stopServer = (path: string): void => {
    try {
      const pid = Number(readFileSync(`${path}.pid`, 'utf8').trim());
      if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    } catch {
      /* not running */
    }
  };

  before(() => {
    owner = createHuman();
    colleague = createHuman();
    group = uniqueName('aut-g');
    dir = `/run/${uniqueName('aut-s')}`;
    work = mkdtempSync(join(tmpdir(), 'aut-imp-'));
    chmodSync(work, 0o755);
    writeFileSync(join(work, 'impostor.cjs'), IMPOSTOR, { mode: 0o644 });
    writeFileSync(precious(), 'the owner wrote this\n');
    must(['chown', `${owner.name}:`, precious()]);
    const r = owner.au(['server', 'init', '-g', group, '--dir', dir, colleague.name]);
    assert.equal(r.status, 0, r.stderr);
  });

  after(() => {
    for (const child of servers) child.kill('SIGKILL');
    if (owner) stopServer(socket());
    owner?.cleanup();
    colleague?.cleanup();
    if (group) sh(['groupdel', group]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    const prefix = `agent-as-unix-user-${dir.slice(1).replace(/\//g, '_')}`;
    for (const name of sh(['ls', '/etc/tmpfiles.d']).stdout.split('\n'))
      if (name === `${prefix}.conf` || name.startsWith(`${prefix}-`)) rmSync(join('/etc/tmpfiles.d', name), { force: true });
    rmSync(work, { recursive: true, force: true });
  });

  test('au server init: the shared directory is not writable by the group; each owner has a directory of their own', () => {
    const top = statSync(dir);
    assert.equal(top.uid, 0);
    assert.equal(top.mode & 0o7777, 0o755);
    const mine = lstatSync(ownerDir());
    assert.ok(mine.isDirectory());
    assert.equal(mine.uid, owner.uid);
    assert.equal(mine.mode & 0o7777, 0o2750);
    // The colleague (a member of the group) can create no name for the owner, nor a directory in its name.
    for (const name of ['server.sock', 'server.sock.pid', 'server.sock.lock']) {
      const planted = asColleague(['ln', '-s', precious(), join(ownerDir(), name)]);
      assert.notEqual(planted.status, 0, `${name} planted`);
      assert.match(planted.stderr, /Permission denied/);
    }
    const squat = asColleague(['mkdir', join(dir, `${owner.name}-2`)]);
    assert.notEqual(squat.status, 0);
    assert.match(squat.stderr, /Permission denied/);
  });

  test('names planted before (symlinks to a file of the owner): the server refuses clearly or replaces them, and writes nothing through them', async () => {
    // As left in the owner's directory from a time it was writable (root plants them for the test, owned by the colleague).
    const plant = (name: string): void => {
      must(['ln', '-s', precious(), join(ownerDir(), name)]);
      must(['chown', '-h', `${colleague.name}:`, join(ownerDir(), name)]);
    };
    plant('server.sock.lock');
    let r = owner.au(['server', 'run', '-s', socket()], { timeoutMs: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /server\.sock\.lock is a symlink \(planted by someone\?\): refusing to write through it; remove it/);
    rmSync(join(ownerDir(), 'server.sock.lock'));

    plant('server.sock.pid');
    plant('server.sock');
    r = owner.au(['server', 'run', '-d', '-s', socket()], { timeoutMs: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(precious(), 'utf8'), 'the owner wrote this\n');
    for (const name of ['server.sock.pid', 'server.sock.lock', 'server.sock']) {
      const st = lstatSync(join(ownerDir(), name));
      assert.equal(st.uid, owner.uid, name);
      assert.ok(!st.isSymbolicLink(), name);
    }
    assert.ok(lstatSync(socket()).isSocket());
    assert.equal(lstatSync(socket()).mode & 0o777, 0o660);
    // The owner's client talks to its own server.
    assert.equal(owner.au(['sessions', 'list', '-s', socket()]).status, 0);
    stopServer(socket());
    await eventually(() => !existsSync(socket()), 'server stopped');
  });

  test('the old layout (a group-writable sticky directory, where the colleague took the name): the server refuses with a clear message', () => {
    const old = `/run/${uniqueName('aut-s')}`;
    try {
      must(['install', '-d', '-m', '1770', '-o', 'root', '-g', group, old]);
      must(['ln', '-s', precious(), join(old, `${owner.name}.sock.pid`)]);
      must(['chown', '-h', `${colleague.name}:`, join(old, `${owner.name}.sock.pid`)]);
      const r = owner.au(['server', 'run', '-s', join(old, `${owner.name}.sock`)], { timeoutMs: 20_000 });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /is a shared socket directory of the old layout, where any member of its group can take your socket's name .*run `au server init` again/,
      );
      // Where `--shared` puts the socket now (the owner's own directory, not made there yet): the same.
      const shared = owner.au(['server', 'run', '-s', join(old, owner.name, 'server.sock')], { timeoutMs: 20_000 });
      assert.equal(shared.status, 1);
      assert.match(shared.stderr, /is a shared socket directory of the old layout/);
      assert.equal(existsSync(join(old, owner.name)), false);
      assert.equal(readFileSync(precious(), 'utf8'), 'the owner wrote this\n');
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  test("au server init over a name the colleague planted (a symlink to the owner's home): removed, never followed", () => {
    const old = `/run/${uniqueName('aut-s')}`;
    try {
      must(['install', '-d', '-m', '1770', '-o', 'root', '-g', group, old]);
      must(['ln', '-s', owner.home, join(old, owner.name)]);
      must(['chown', '-h', `${colleague.name}:`, join(old, owner.name)]);
      const home = statSync(owner.home);
      const r = owner.au(['server', 'init', '-g', group, '--dir', old]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`\\$ sudo rm -rf -- ${join(old, owner.name)}`));
      const after = statSync(owner.home);
      assert.deepEqual([after.uid, after.gid, after.mode], [home.uid, home.gid, home.mode], 'the home was not changed through the symlink');
      const mine = lstatSync(join(old, owner.name));
      assert.ok(mine.isDirectory() && !mine.isSymbolicLink());
      assert.equal(mine.uid, owner.uid);
      assert.equal(statSync(old).mode & 0o7777, 0o755);
    } finally {
      rmSync(old, { recursive: true, force: true });
      rmSync(`/etc/tmpfiles.d/agent-as-unix-user-${old.slice(1).replace(/\//g, '_')}.conf`, { force: true });
      rmSync(`/etc/tmpfiles.d/agent-as-unix-user-${old.slice(1).replace(/\//g, '_')}-${owner.name}.conf`, { force: true });
    }
  });

  test("the owner's clients refuse an impostor server of another uid before sending it a byte", async () => {
    const impostorDir = join(work, 'colleague');
    must(['install', '-d', '-m', '0755', '-o', colleague.name, impostorDir]);
    const path = join(impostorDir, 'server.sock');
    const log = join(impostorDir, 'received');
    must(['install', '-m', '0666', '-o', colleague.name, '/dev/null', log]);
    const child = spawn('runuser', ['-u', colleague.name, '--', process.execPath, join(work, 'impostor.cjs'), path, log], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push(child);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));

    // The owner given the impostor's path as their own server (-s), and as the owner's server
    // named with --of (what a colleague would do): both refused, with what was found.
    const attach = owner.au(['attach', '-s', path, '-n', 'pair'], { timeoutMs: 20_000 });
    assert.equal(attach.status, 1, attach.stdout);
    assert.match(
      attach.stderr,
      new RegExp(
        `refusing to talk to the server on ${path}: the server on it is run by uid ${colleague.uid}, not by ${owner.name} \\(uid ${owner.uid}\\); nothing was sent to it`,
      ),
    );
    const list = owner.au(['sessions', 'list', '-s', path, '--of', owner.name], { timeoutMs: 20_000 });
    assert.equal(list.status, 1);
    assert.match(list.stderr, /refusing to talk to the server on .*: the server on it is run by uid/);
    const kill = owner.au(['sessions', 'kill', 'x', '-s', path], { timeoutMs: 20_000 });
    assert.equal(kill.status, 1);
    assert.match(kill.stderr, /refusing to talk to the server/);
    assert.equal(readFileSync(log, 'utf8'), '', 'the impostor received nothing');
    assert.doesNotMatch(attach.stdout + attach.stderr, /password/);
  });
});
