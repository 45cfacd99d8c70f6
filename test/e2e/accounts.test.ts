// Agent accounts, for real on this machine: they are not login accounts (A30: sshd with a key the
// agent installs, port forwarding, cron, at, lingering), and deleting one never hands its files to
// another account (A28). Each attack first proves that it works where au is not in the way (the
// human, a normal account, through the same sshd, cron or atd), then that it fails for the agent.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { humanWithAgent, undoSteps } from '../helpers/fixtures.js';
import { type Human, createHuman, must, packageForHumans, sh, uidOf, uniqueName, userExists } from '../helpers/system.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const gidOf = (user: string): number => Number(must(['id', '-g', user]).trim());
const shadowOf = (user: string): string[] => must(['getent', 'shadow', user]).trim().split(':');
const linesOf = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n') : []);

/** Polls `ready` until it is true or the deadline passes; returns the last answer. */
async function until(ready: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ready()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What a TCP connection to `port` receives first ('' when it cannot connect). */
function firstWords(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (): void => {
      socket.destroy();
      resolve(data);
    };
    socket.setTimeout(1000, done);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

describe('agent accounts are not login accounts (A30)', () => {
  let human: Human;
  let agent: string;
  const undo = undoSteps();
  humanWithAgent((made) => ({ human, agent } = made));

  test('au new: login shell nologin (runs still get SHELL=/bin/bash), password locked, account expired, denied by cron and at, no lingering; au doctor PASSes each', () => {
    assert.match(must(['getent', 'passwd', agent]), /:\/usr\/sbin\/nologin\n$/);
    const shadow = shadowOf(agent);
    assert.match(shadow[1]!, /^[!*]/, 'password locked');
    assert.equal(shadow[7], '1', 'expired on 1970-01-02');
    assert.equal(must(['id', '-G', agent]).trim(), String(gidOf(agent)), 'no supplementary groups');
    if (existsSync('/usr/bin/crontab')) assert.ok(linesOf('/etc/cron.deny').includes(agent), 'listed in /etc/cron.deny');
    if (existsSync('/usr/bin/at')) assert.ok(linesOf('/etc/at.deny').includes(agent), 'listed in /etc/at.deny');
    assert.equal(existsSync(`/var/lib/systemd/linger/${agent}`), false);
    // Runs never use the passwd shell: the agent's programs still get bash.
    assert.equal(human.au(['run', '-a', agent, '--', 'sh', '-c', 'echo "$SHELL"']).stdout, '/bin/bash\n');
    const checks = JSON.parse(human.au(['doctor', '--json']).stdout) as { status: string; check: string; detail: string }[];
    for (const item of ['login shell', 'password', 'expiry', 'cron', 'at', 'linger']) {
      const line = checks.find((c) => c.check === `agent ${agent} ${item}`);
      assert.ok(line, `au doctor reports ${item}`);
      assert.equal(line.status, 'PASS', `${item}: ${line.detail}`);
    }
  });

  test('sshd: a key the agent installs from inside a run gets neither a command nor a port forward', async (t) => {
    if (!existsSync('/usr/sbin/sshd')) return t.skip('openssh-server is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'aut-sshd-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/host_key`]);
    must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/key`]);
    const publicKey = readFileSync(`${dir}/key.pub`, 'utf8');
    // The attack: the agent makes its home acceptable to sshd's StrictModes and installs the key.
    const plant = human.au(
      [
        'run',
        '-a',
        agent,
        '--',
        'sh',
        '-c',
        'chmod 755 ~ && mkdir -p ~/.ssh && chmod 700 ~/.ssh && cat > ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys',
      ],
      { input: publicKey },
    );
    assert.equal(plant.status, 0, plant.stderr);
    // The control: the same key for the human, a normal account.
    mkdirSync(`${human.home}/.ssh`, { mode: 0o700 });
    writeFileSync(`${human.home}/.ssh/authorized_keys`, publicKey, { mode: 0o600 });
    must(['chown', '-R', `${human.name}:${human.name}`, `${human.home}/.ssh`]);

    const port = await freePort();
    writeFileSync(
      `${dir}/sshd_config`,
      [
        'ListenAddress 127.0.0.1',
        `HostKey ${dir}/host_key`,
        `PidFile ${dir}/sshd.pid`,
        'UsePAM yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'AuthorizedKeysFile .ssh/authorized_keys',
        'AllowTcpForwarding yes',
        '',
      ].join('\n'),
    );
    if (!existsSync('/run/sshd')) {
      mkdirSync('/run/sshd', { mode: 0o755 });
      undo.push(() => rmSync('/run/sshd', { recursive: true, force: true }));
    }
    let log = '';
    const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-p', String(port), '-f', `${dir}/sshd_config`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    sshd.stderr.on('data', (chunk) => (log += chunk.toString()));
    undo.push(() => sshd.kill('SIGTERM'));
    assert.ok(await until(async () => (await firstWords(port)).startsWith('SSH-'), 10_000), `sshd listens: ${log}`);

    const sshArgs = (user: string): string[] => [
      '-F',
      '/dev/null',
      '-i',
      `${dir}/key`,
      '-p',
      String(port),
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      `${user}@127.0.0.1`,
    ];
    const control = sh(['ssh', ...sshArgs(human.name), 'echo', 'in']);
    assert.equal(control.status, 0, `set-up: the human logs in with the key: ${control.stderr}\n${log}`);
    const login = sh(['ssh', ...sshArgs(agent), 'echo', 'in']);
    assert.notEqual(login.status, 0, 'the agent must not log in');
    assert.doesNotMatch(login.stdout, /in/);
    const refusal = new RegExp(`Access denied for user ${agent} by PAM account configuration`);
    assert.ok(await until(() => refusal.test(log), 5_000), `refused by the account check (expired): ${log}`);

    // Port forwarding needs no shell at all, so nologin alone would not stop it.
    const target = createServer((socket) => socket.end('reached\n'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    undo.push(() => target.close());
    const targetPort = (target.address() as AddressInfo).port;
    const forward = async (user: string): Promise<{ reached: boolean; child: ChildProcess }> => {
      const local = await freePort();
      const child = spawn(
        'ssh',
        ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${local}:127.0.0.1:${targetPort}`, ...sshArgs(user)],
        { stdio: 'ignore' },
      );
      let reached = false;
      await until(async () => exited(child) || (reached = (await firstWords(local)) === 'reached\n'), 15_000);
      child.kill('SIGTERM');
      return { reached, child };
    };
    assert.equal((await forward(human.name)).reached, true, 'set-up: the human can forward a port');
    const agentForward = await forward(agent);
    assert.equal(agentForward.reached, false, 'the agent must not forward a port');
    assert.ok(exited(agentForward.child), 'ssh gave up: no session was opened');
  });

  test('crontab and at refuse the agent, inside a run and outside one (a process it got some other way)', () => {
    const uid = uidOf(agent);
    const gid = gidOf(agent);
    undo.push(() => rmSync(`/var/spool/cron/crontabs/${agent}`, { force: true }));
    undo.push(() => removeAtJobsOf(uid));
    // The input is piped by a shell of the agent's: a tool that refuses before reading it must not make the test's own write fail (EPIPE).
    const outside = (argv: string[], input: string) =>
      sh(['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'sh', '-c', 'printf "%s" "$0" | "$@"', input, ...argv], {
        cwd: '/',
      });
    if (existsSync('/usr/bin/crontab')) {
      const inRun = human.au(['run', '-a', agent, '--', 'sh', '-c', 'echo "* * * * * true" | crontab -']);
      assert.notEqual(inRun.status, 0, 'crontab inside a run');
      const r = outside(['crontab', '-'], '* * * * * true\n');
      assert.notEqual(r.status, 0, 'crontab outside a run');
      assert.match(r.stderr, /not allowed/, 'refused by /etc/cron.deny');
      assert.equal(existsSync(`/var/spool/cron/crontabs/${agent}`), false);
    }
    if (existsSync('/usr/bin/at')) {
      const inRun = human.au(['run', '-a', agent, '--', 'sh', '-c', 'echo true | at now + 5 minutes']);
      assert.notEqual(inRun.status, 0, 'at inside a run');
      const r = outside(['at', 'now', '+', '5', 'minutes'], 'true\n');
      assert.notEqual(r.status, 0, 'at outside a run');
      assert.match(r.stderr, /permission/, 'refused by /etc/at.deny');
      assert.deepEqual(atJobsOf(uid), []);
    }
  });

  test('cron runs nothing as the agent, even from a crontab planted in its spool', async (t) => {
    if (!existsSync('/usr/sbin/cron')) return t.skip('cron is not installed');
    const marks = mkdtempSync(join(tmpdir(), 'aut-cron-'));
    chmodSync(marks, 0o1777);
    undo.push(() => rmSync(marks, { recursive: true, force: true }));
    // @reboot runs as soon as cron starts (when this boot has not had a cron yet); otherwise the
    // every-minute line runs at the next full minute. The human's job sleeps first, so that when
    // its mark appears the agent's job would have run too.
    const plant = (user: string, delay: string): void => {
      const path = `/var/spool/cron/crontabs/${user}`;
      writeFileSync(path, `@reboot ${delay}touch ${marks}/${user}\n* * * * * ${delay}touch ${marks}/${user}\n`, { mode: 0o600 });
      chownSync(path, uidOf(user), Number(must(['getent', 'group', 'crontab']).split(':')[2]));
      undo.push(() => rmSync(path, { force: true }));
    };
    plant(agent, '');
    plant(human.name, 'sleep 3; ');
    let output = '';
    if (!daemonRunning('/run/crond.pid')) {
      const hadReboot = existsSync('/run/crond.reboot');
      const cron = spawn('/usr/sbin/cron', ['-f'], { stdio: ['ignore', 'pipe', 'pipe'] });
      cron.stdout.on('data', (c) => (output += c.toString()));
      cron.stderr.on('data', (c) => (output += c.toString()));
      undo.push(() => {
        cron.kill('SIGTERM');
        if (!hadReboot) rmSync('/run/crond.reboot', { force: true });
        rmSync('/run/crond.pid', { force: true });
      });
    }
    assert.ok(await until(() => existsSync(`${marks}/${human.name}`), 75_000), `set-up: cron runs the human's job: ${output}`);
    assert.equal(existsSync(`${marks}/${agent}`), false, "the agent's job must not run");
    if (output) assert.match(output, /Authentication failure/, 'refused by the account check (expired)');
  });

  test('atd runs nothing as the agent, even from a job planted in its spool', async (t) => {
    if (!existsSync('/usr/sbin/atd')) return t.skip('at is not installed');
    const marks = mkdtempSync(join(tmpdir(), 'aut-at-'));
    chmodSync(marks, 0o1777);
    undo.push(() => rmSync(marks, { recursive: true, force: true }));
    const minutes = Math.floor(Date.now() / 60_000)
      .toString(16)
      .padStart(8, '0');
    const daemonGid = Number(must(['getent', 'group', 'daemon']).split(':')[2]);
    // A job file as `at` writes it (queue a, job number, minute due), due now, owned by its user.
    const plant = (user: string): void => {
      const job = `a${(0xe0000 + randomBytes(2).readUInt16BE()).toString(16)}${minutes}`;
      const path = `/var/spool/cron/atjobs/${job}`;
      writeFileSync(
        path,
        `#!/bin/sh\n# atrun uid=${uidOf(user)} gid=${gidOf(user)}\n# mail ${user} 0\ncd / || exit 1\ntouch ${marks}/${user}\n`,
        { mode: 0o700 },
      );
      chownSync(path, uidOf(user), daemonGid);
      chmodSync(path, 0o700);
    };
    undo.push(() => removeAtJobsOf(uidOf(agent)));
    undo.push(() => removeAtJobsOf(uidOf(human.name)));
    plant(agent);
    plant(human.name);
    const running = daemonPid('/run/atd.pid');
    if (running)
      process.kill(running, 'SIGHUP'); // what `at` does to have a new job looked at
    else {
      const atd = spawn('/usr/sbin/atd', ['-f'], { stdio: 'ignore' });
      undo.push(() => atd.kill('SIGTERM'));
    }
    assert.ok(await until(() => existsSync(`${marks}/${human.name}`), 30_000), "set-up: atd runs the human's job");
    await until(() => atJobsOf(uidOf(agent)).every((name) => name.startsWith('=')), 5_000); // atd took the agent's job too
    await sleep(500);
    assert.equal(existsSync(`${marks}/${agent}`), false, "the agent's job must not run");
  });

  test('au doctor tells how to fix an agent made before this (a login account); the fixes work as pasted', () => {
    must(['usermod', '--shell', '/bin/bash', '--expiredate', '', agent]);
    for (const file of ['/etc/cron.deny', '/etc/at.deny']) if (existsSync(file)) must(['sed', '-i', `/^${agent}$/d`, file]);
    const checks = JSON.parse(human.au(['doctor', '--json']).stdout) as { status: string; check: string; fix: string | null }[];
    const failing = checks.filter((c) => c.check.startsWith(`agent ${agent} `) && c.status === 'FAIL');
    const expected = [
      'login shell',
      'expiry',
      ...(existsSync('/usr/bin/crontab') ? ['cron'] : []),
      ...(existsSync('/usr/bin/at') ? ['at'] : []),
    ];
    assert.deepEqual(failing.map((c) => c.check.slice(`agent ${agent} `.length)).sort(), expected.sort());
    for (const c of failing) {
      const r = human.run(['sh', '-c', c.fix!]);
      assert.equal(r.status, 0, `${c.fix}: ${r.stderr}`);
    }
    const again = JSON.parse(human.au(['doctor', '--json']).stdout) as { status: string; check: string }[];
    // What the login fixes cover (node and git keys are the agent's tools, reported apart).
    const tools = /^agent \S+ (node|git keys|git identity)$/;
    assert.deepEqual(
      again.filter((c) => c.check.startsWith(`agent ${agent} `) && !tools.test(c.check) && c.status !== 'PASS'),
      [],
    );
  });
});

/** Pid of a running daemon from its pid file, if any. */
function daemonPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
const daemonRunning = (pidFile: string): boolean => daemonPid(pidFile) !== undefined;

const AT_SPOOL = ['/var/spool/cron/atjobs', '/var/spool/cron/atspool'];
const atJobsOf = (uid: number): string[] =>
  readdirSync(AT_SPOOL[0]!).filter((name) => !name.startsWith('.') && statSync(join(AT_SPOOL[0]!, name)).uid === uid);
function removeAtJobsOf(uid: number): void {
  for (const dir of AT_SPOOL) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir))
      if (!name.startsWith('.') && statSync(join(dir, name)).uid === uid) rmSync(join(dir, name), { force: true });
  }
}

describe('delete and recreate: no silent uid reuse (A28)', () => {
  let human: Human;
  const others: string[] = [];
  before(() => {
    human = createHuman();
  });
  after(() => {
    for (const user of others) sh(['userdel', '--remove', user]);
    human.cleanup();
  });

  /** Every owner of every file under `dir` (uids), without following symlinks. */
  const ownersUnder = (dir: string): Set<number> =>
    new Set(must(['find', '-P', dir, '-xdev', '-printf', '%U\\n']).trim().split('\n').map(Number));
  const accountOf = (uid: number): string | undefined => {
    const r = sh(['getent', 'passwd', String(uid)]);
    return r.status === 0 ? r.stdout.split(':')[0] : undefined;
  };

  test("au delete keeps the account locked while its files exist, says so, and gives the agent's share files to the human", async (t) => {
    // A line of someone else's in /etc/cron.deny, to see that au new and au delete -H leave it.
    const foreign = `aut-x-${randomBytes(3).toString('hex')}`;
    if (existsSync('/usr/bin/crontab')) {
      must(['sh', '-c', `echo ${foreign} >> /etc/cron.deny`]);
      t.after(() => sh(['sed', '-i', `/^${foreign}$/d`, '/etc/cron.deny']));
    }
    const modeOf = (path: string): string => (existsSync(path) ? must(['stat', '-c', '%U:%G %a', path]) : 'missing');
    const modes = [modeOf('/etc/cron.deny'), modeOf('/etc/at.deny')];
    const agent = human.newAgent();
    const uid = uidOf(agent);
    const share = `${human.home}/proj`;
    mkdirSync(share);
    chownSync(share, human.uid, human.uid);
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', share]).status, 0);
    const work = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      'mkdir -p ~/.claude && echo state > ~/.claude/state && echo mine > ~/proj/by-agent && cp /bin/true ~/proj/tool && chmod 4755 ~/proj/tool && chmod 777 ~',
    ]);
    assert.equal(work.status, 0, work.stderr);
    // A run still going when the human deletes the agent.
    const running = spawn(
      'runuser',
      ['-u', human.name, '--', process.execPath, join(packageForHumans(), 'bin', 'au'), 'run', '-a', agent, '--', 'sleep', '60'],
      { stdio: 'ignore' },
    );
    try {
      assert.ok(await until(() => sh(['pgrep', '-u', String(uid)]).status === 0, 10_000), 'set-up: the agent is running');
      const del = human.au(['delete', '-y', '-a', agent]);
      assert.equal(del.status, 0, del.stderr);
      // What was kept, who owns it, and how to go on.
      assert.match(
        del.stderr,
        new RegExp(`^  account ${agent} \\(uid ${uid}, primary group ${agent} gid \\d+\\): locked: .*no processes`, 'm'),
      );
      assert.match(del.stderr, new RegExp(`^  group su-as-${agent} \\(gid \\d+\\), members ${human.name}: `, 'm'));
      assert.match(del.stderr, new RegExp(`^  home /home/${agent} and everything in it, owned by ${agent}$`, 'm'));
      assert.match(del.stderr, new RegExp(`^Take it back: au new -a ${agent}$`, 'm'));
      assert.match(del.stderr, new RegExp(`^Remove the account, its groups and its home: au delete -H -a ${agent}$`, 'm'));
      assert.match(del.stderr, new RegExp(`^2 files the agent left in ${share} are now yours$`, 'm'));
    } finally {
      running.kill('SIGKILL');
    }
    assert.equal(sh(['pgrep', '-u', String(uid)]).status, 1, 'no process of the agent is left');
    assert.ok(userExists(agent) && uidOf(agent) === uid, 'the account is kept with its uid');
    assert.match(must(['getent', 'passwd', agent]), /:\/usr\/sbin\/nologin\n$/);
    assert.equal(shadowOf(agent)[7], '1');
    assert.match(shadowOf(agent)[1]!, /^[!*]/);
    assert.equal(must(['id', '-G', agent]).trim(), String(gidOf(agent)), 'no supplementary groups');
    assert.equal(existsSync(`/usr/local/libexec/agent-as-unix-user/${agent}`), false, 'no entrypoint: nobody can become the agent');
    assert.equal(statSync(`/home/${agent}`).mode & 0o7777, 0o2770, 'the kept home is closed again, whatever mode the agent gave it');
    // Every file of the deleted agent belongs to an account: its own (kept) or the human.
    for (const owner of ownersUnder(`/home/${agent}`)) assert.ok(accountOf(owner), `uid ${owner} in the kept home has an account`);
    assert.deepEqual([...ownersUnder(share)], [human.uid], "the share holds only the human's files");
    assert.equal(statSync(`${share}/tool`).mode & 0o6000, 0, 'the setuid bit of a planted program is gone');
    // The next account the machine makes does not get the uid, and owns nothing of the agent's.
    const next = uniqueName('aut-u');
    must(['useradd', next]);
    others.push(next);
    assert.notEqual(uidOf(next), uid);
    for (const dir of [`/home/${agent}`, share]) assert.equal(must(['find', '-P', dir, '-xdev', '-uid', String(uidOf(next))]), '');
    const doctor = JSON.parse(human.au(['doctor', '--json']).stdout) as { status: string; check: string }[];
    assert.equal(doctor.find((c) => c.check === `kept ${agent}`)?.status, 'PASS');
    assert.deepEqual(
      doctor.filter((c) => c.check.startsWith(`kept ${agent}`) && c.status !== 'PASS'),
      [],
    );
    assert.doesNotMatch(JSON.stringify(doctor), new RegExp(`may drive su-as-${agent}`), 'the kept group is not a stray group');

    // au new takes back only what au delete left.
    must(['usermod', '--comment', 'someone else', agent]);
    const forged = human.au(['new', '-y', '-a', agent]);
    assert.equal(forged.status, 1);
    assert.match(forged.stderr, /is not the account au delete kept: it lacks au's marker/);
    assert.doesNotMatch(forged.stderr, /^\$ /m, 'nothing was run');
    must(['usermod', '--comment', 'agent-as-unix-user agent', agent]);

    // A second delete without -H says what to do; -H removes it all, and the deny lines with it.
    const again = human.au(['delete', '-y', '-a', agent]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /is deleted already; .*au delete -H -a .*au new -a /);
    const remove = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(remove.status, 0, remove.stderr);
    assert.equal(userExists(agent), false);
    assert.equal(existsSync(`/home/${agent}`), false);
    for (const file of ['/etc/cron.deny', '/etc/at.deny']) assert.ok(!linesOf(file).includes(agent), `${file} no longer lists ${agent}`);
    if (existsSync('/usr/bin/crontab')) assert.ok(linesOf('/etc/cron.deny').includes(foreign), "someone else's line is still there");
    assert.deepEqual([modeOf('/etc/cron.deny'), modeOf('/etc/at.deny')], modes, 'owner and mode of the deny files are kept');
  });

  test('in the same login shell as au new: au delete -y && au new -y takes the account back, files and uid included', () => {
    const agent = uniqueName();
    human.track(agent);
    const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    // One shell for everything: its groups are from before au new (no su-as-NAME).
    const r = human.run([
      'bash',
      '-lc',
      [
        'set -e',
        `${au} new -y -a ${agent}`,
        `${au} run -a ${agent} -- sh -c 'echo kept > ~/state; id -u'`,
        `${au} delete -y -a ${agent}`,
        `${au} new -y -a ${agent}`,
        `${au} run -a ${agent} -- sh -c 'cat ~/state; id -u'`,
      ].join('\n'),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const [uidBefore, state, uidAfter] = r.stdout.trim().split('\n');
    assert.equal(state, 'kept');
    assert.equal(uidAfter, uidBefore);
    assert.match(r.stderr, new RegExp(`^Took back agent ${agent} \\(uid ${uidBefore}\\) with its home$`, 'm'));
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 0, info.stdout);
    assert.match(must(['getent', 'passwd', agent]), /:\/usr\/sbin\/nologin\n$/);

    // An administrator removes the kept account by hand, leaving its home to a uid without an
    // account: au new refuses it, and au delete -H removes what is left.
    assert.equal(human.au(['delete', '-y', '-a', agent]).status, 0);
    must(['userdel', agent]);
    const refused = human.au(['new', '-y', '-a', agent]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /no longer exists; `au delete -H -a .*` removes what is left of it/);
    const cleanup = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(cleanup.status, 0, cleanup.stderr);
    assert.match(cleanup.stderr, new RegExp(`^\\$ sudo rm -rf --one-file-system /home/${agent}$`, 'm'));
    assert.equal(existsSync(`/home/${agent}`), false);
  });
});
