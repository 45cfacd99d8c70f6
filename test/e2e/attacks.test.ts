// The attacks of THREAT-MODEL.md that a hostile agent can try from inside `au run`, each tried
// for real on this machine (as root: the fixtures create users, groups, setuid files). Every
// test first proves its set-up (the file exists, the human can read it, the attack works where
// au is not in the way), then that the attack fails, and for the reason the threat model gives.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type Human,
  type Result,
  REPO,
  auCommandLine,
  createHuman,
  groupExists,
  must,
  packageForHumans,
  packageWithoutNative,
  sh,
  uniqueName,
} from '../helpers/system.js';
import { TRY, describeResult, rand } from '../helpers/attempts.js';
import { undoSteps } from '../helpers/fixtures.js';
import { Terminal } from '../helpers/tmux.js';

const ENTRYPOINT_ROOT = '/usr/local/libexec/agent-as-unix-user';
const entrypointOf = (agent: string): string => `${ENTRYPOINT_ROOT}/${agent}/su_as_agent`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const idOf = (flag: '-u' | '-g', user: string): number => Number(must(['id', flag, user]).trim());

let human: Human | undefined;
/** World-readable directory (not under /tmp or /var/tmp, which the agent does not share) with the compiled attack programs. */
let fixtures = '';
/** Agents by role, created on first use; the human's cleanup deletes them. */
const agents = new Map<string, string>();
/** Undo steps for what tests create outside the human and its agents; run in reverse, even on failure. */
const undo = undoSteps();

function theHuman(): Human {
  if (!human) throw new Error('the human fixture was not created');
  return human;
}

function agentFor(role: string): string {
  let name = agents.get(role);
  if (!name) {
    name = theHuman().newAgent();
    agents.set(role, name);
  }
  return name;
}

/** Runs a shell script as the agent through `au run` (pipes: the test has no terminal). */
function asAgent(
  agent: string,
  script: string,
  options: { env?: Record<string, string>; auArgs?: string[]; timeoutMs?: number } = {},
): Result {
  return theHuman().au(['run', '-a', agent, ...(options.auArgs ?? []), '--', 'bash', '-c', script], {
    env: options.env,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

function mustSucceed(r: Result, what: string): Result {
  assert.equal(r.status, 0, `${what} failed (set-up, not the attack): ${describeResult(r)}`);
  return r;
}

function attemptLines(stdout: string): { succeeded: string[]; refused: string[] } {
  const lines = stdout.split('\n');
  return { succeeded: lines.filter((l) => l.startsWith('SUCCEEDED: ')), refused: lines.filter((l) => l.startsWith('refused: ')) };
}

interface MountLine {
  root: string;
  point: string;
  options: string[];
}

const unescapeMount = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

function parseMountinfo(text: string): MountLine[] {
  const mounts: MountLine[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 10 || !/^\d+$/.test(fields[0] ?? '')) continue;
    mounts.push({ root: unescapeMount(fields[3] ?? ''), point: unescapeMount(fields[4] ?? ''), options: (fields[5] ?? '').split(',') });
  }
  return mounts;
}

/** Lines "name: value" of /proc/PID/status as printed by the agent. */
function statusField(text: string, name: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

/** A snapshot of a directory tree's names, modes, owners and mtimes, to prove nothing changed. */
function snapshot(path: string): string {
  const entries: string[] = [];
  const walk = (p: string): void => {
    const st = lstatSync(p);
    entries.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.ino} ${st.mtimeMs} ${st.size}`);
    if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name));
  };
  walk(path);
  return entries.join('\n');
}

const agentProcesses = (agent: string): string => sh(['pgrep', '-a', '-u', agent]).stdout.trim();

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Background {
  child: ChildProcess;
  /** au's own exit (its output pipes may still be held open by processes it left behind). */
  exited: Promise<Ended>;
  /** au's exit and the end of its output. */
  done: Promise<Ended>;
}

/**
 * `au ARGS` as the human in the background. setpriv execs (no fork, unlike runuser), so the
 * child's pid is au's own: signals sent to it reach au, as they would from the human's shell.
 */
function auInBackground(args: readonly string[], pkg = packageForHumans()): Background {
  const h = theHuman();
  const env = Object.entries(h.env()).map(([k, v]) => `${k}=${v}`);
  const child = spawn(
    'setpriv',
    [
      '--reuid',
      String(h.uid),
      '--regid',
      String(idOf('-g', h.name)),
      '--init-groups',
      '--',
      'env',
      '-i',
      ...env,
      process.execPath,
      join(pkg, 'bin', 'au'),
      ...args,
    ],
    { cwd: h.home, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Ended>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const done = new Promise<Ended>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  undo.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited, done };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An outside directory the agent could write to if au followed its symlinks: the most tempting target. */
function outsideDir(): string {
  const dir = `/var/lib/aut-outside-${rand()}`;
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  must(['sh', '-c', `echo canary > ${dir}/canary`]);
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Types a line that prints a computed token, and waits for it: everything typed or injected before has run. */
async function checkpoint(terminal: Terminal): Promise<void> {
  const n = 1000 + Math.floor(Math.random() * 8000);
  terminal.type(`echo "checkpoint-$((${n}+1))"`);
  await terminal.waitFor(new RegExp(`checkpoint-${n + 1}`));
}

before(() => {
  assert.equal(process.getuid?.(), 0, 'the attack tests run as root (they create users, groups and setuid files)');
  fixtures = mkdtempSync('/var/lib/aut-fx-'); // not /tmp nor /var/tmp: each run has its own
  undo.push(() => rmSync(fixtures, { recursive: true, force: true }));
  chmodSync(fixtures, 0o755);
  for (const program of ['tiocsti', 'show-ids']) {
    must([
      'cc',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-o',
      join(fixtures, program),
      join(REPO, 'test', 'attacks-fixtures', `${program}.c`),
    ]);
  }
  human = createHuman();
});

after(() => human?.cleanup());

test('A1: TIOCSTI from inside au run does not reach the human shell (own PTY, and --no-pty)', async (t) => {
  const legacy = existsSync('/proc/sys/dev/tty/legacy_tiocsti')
    ? readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim()
    : '1 (no sysctl: older kernel)';
  if (legacy === '0') {
    t.skip('dev.tty.legacy_tiocsti is 0: the kernel refuses TIOCSTI to everyone, the attack cannot be tried here');
    return;
  }
  t.diagnostic(`dev.tty.legacy_tiocsti = ${legacy}: TIOCSTI is live on this machine`);
  const h = theHuman();
  const agent = agentFor('main');
  const injector = join(fixtures, 'tiocsti');
  const terminal = new Terminal(h);
  const markers: string[] = [];
  try {
    await checkpoint(terminal);

    // Control: the injector, run by the human on the terminal, does get its text run by the shell.
    const control = `/tmp/aut-control-${rand()}`;
    markers.push(control);
    terminal.type(`${injector} 'touch ${control}' -`);
    await checkpoint(terminal);
    await waitUntil(() => existsSync(control), 2000);
    assert.ok(
      existsSync(control),
      `control failed: TIOCSTI by the human's own process did not reach the shell, so the attack below proves nothing:\n${terminal.screen()}`,
    );

    for (const mode of ['pty', 'no-pty'] as const) {
      const marker = `/tmp/aut-pwned-${rand()}`;
      markers.push(marker);
      const report = `/home/${agent}/a1-${mode}-${rand()}.txt`;
      const flag = mode === 'no-pty' ? '--no-pty ' : '';
      terminal.type(`${auCommandLine()} run -a ${agent} ${flag}-- ${injector} 'touch ${marker}' ${report}; echo "au-${mode}-exit=$?"`);
      const screen = await terminal.waitFor(new RegExp(`au-${mode}-exit=\\d+`), 30_000);
      // Anything pushed into the human's terminal is queued before this line and would run first.
      await checkpoint(terminal);
      await sleep(300);
      assert.ok(existsSync(report), `${mode}: the injector did not run as the agent (set-up):\n${screen}`);
      const lines = readFileSync(report, 'utf8');
      assert.match(lines, /^done$/m, `${mode}: the injector did not finish:\n${lines}`);
      assert.match(screen, new RegExp(`au-${mode}-exit=0`), `${mode}: au run failed:\n${screen}`);
      assert.ok(
        !existsSync(marker),
        `${mode}: the agent's keystrokes were run by the human's shell (${marker} exists). Injector report:\n${lines}`,
      );
      if (mode === 'no-pty') {
        // --no-pty: pipes relayed (and filtered) by au; the agent holds no terminal at all (A23).
        for (const fd of [0, 1, 2]) {
          assert.match(lines, new RegExp(`^fd${fd} isatty no$`, 'm'), `--no-pty: fd ${fd} must not be a terminal:\n${lines}`);
          assert.match(lines, new RegExp(`^fd${fd} TIOCSTI ENOTTY$`, 'm'), `--no-pty: TIOCSTI on fd ${fd} must fail:\n${lines}`);
        }
        assert.match(lines, /^devtty open ENXIO$/m, `--no-pty: the agent must have no controlling tty:\n${lines}`);
        assert.match(lines, /^steal TIOCSCTTY ENOTTY$/m, `--no-pty: the agent has no terminal to make its own:\n${lines}`);
      } else {
        // Its own PTY, made by au: pushing into it only reaches the agent itself.
        assert.match(lines, /^fd0 isatty yes$/m, `pty: the agent should be on a terminal (au's PTY):\n${lines}`);
        assert.match(lines, /^steal TIOCSCTTY (EPERM|EINVAL)$/m, `pty: the agent must not steal a terminal:\n${lines}`);
      }
    }
  } finally {
    terminal.close();
    for (const marker of markers) rmSync(marker, { force: true });
  }
});

test('A2: the agent cannot replace, rename, re-link or modify its entrypoint or any directory above it', () => {
  const h = theHuman();
  const agent = agentFor('main');
  const entrypoint = entrypointOf(agent);
  const dirs = [`${ENTRYPOINT_ROOT}/${agent}`, ENTRYPOINT_ROOT, '/usr/local/libexec', '/usr/local', '/usr'];
  // The entrypoint and its own directory exactly; the shared directories above by identity only
  // (other agents come and go in them), plus the names the agent tries to plant.
  const fingerprint = (): string =>
    [entrypoint, ...dirs]
      .map((p, i) => {
        const st = lstatSync(p);
        const exact = i < 2 ? ` ${st.mtimeMs} ${st.size} ${readdirSync(dirs[0] ?? '').join(',')}` : '';
        const hash = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
        return `${p} ${st.ino} ${st.mode.toString(8)} ${st.uid}:${st.gid}${exact} ${hash}`;
      })
      .join('\n');
  const beforeAttack = fingerprint();

  const script = [
    TRY,
    `EP=${entrypoint}`,
    'stat -c "visible %a %U:%G" "$EP"',
    'try mv "$EP" "$EP.old"',
    'try cp /bin/sh "$EP"',
    'try cp --remove-destination /bin/sh "$EP"',
    'try ln -sf /bin/sh "$EP"',
    'try touch "$EP"',
    'try chmod 0777 "$EP"',
    'try chmod u-s "$EP"',
    'try truncate -s 0 "$EP"',
    'try sh -c \'echo x >> "$1"\' sh "$EP"',
    'try rm -f "$EP"',
    'try ln "$EP" "$HOME/ep-hardlink"',
    ...dirs.flatMap((d) => [
      `try mv ${d} ${d}.old`,
      `try touch ${d}/aut-planted`,
      `try mkdir ${d}/aut-dir`,
      `try ln -s /bin/sh ${d}/aut-link`,
      `try chmod 0777 ${d}`,
    ]),
    `try ln -sfn "$HOME" ${ENTRYPOINT_ROOT}/${agent}`,
    'echo finished',
  ].join('\n');
  const r = asAgent(agent, script);
  assert.match(r.stdout, /^visible 4750 root:su-as-/m, `the agent should see the entrypoint (set-up): ${describeResult(r)}`);
  assert.match(r.stdout, /^finished$/m, describeResult(r));
  const { succeeded, refused } = attemptLines(r.stdout);
  assert.deepEqual(succeeded, [], `attempts that worked:\n${succeeded.join('\n')}`);
  assert.equal(refused.length, 11 + dirs.length * 5 + 1, `every attempt should have run and been refused:\n${r.stdout}`);
  assert.equal(fingerprint(), beforeAttack, 'the entrypoint or a directory above it changed');
  assert.ok(!existsSync(`/home/${agent}/ep-hardlink`), 'the agent hard-linked the entrypoint into its home');
  for (const d of dirs) {
    for (const name of ['aut-planted', 'aut-dir', 'aut-link']) assert.ok(!existsSync(join(d, name)), `the agent created ${d}/${name}`);
    assert.ok(!existsSync(`${d}.old`), `the agent renamed ${d}`);
  }

  const next = h.au(['run', '-a', agent, '--', 'id', '-un']);
  assert.equal(next.status, 0, `the human's next run must still work: ${describeResult(next)}`);
  assert.equal(next.stdout.trim(), agent);
  const info = h.au(['info', '-a', agent]);
  assert.equal(info.status, 0, `au info must stay healthy: ${describeResult(info)}`);
  assert.doesNotMatch(info.stdout, /BROKEN/);
});

test('A2: an entrypoint whose bytes changed is refused by au run and reported BROKEN by au info', () => {
  const h = theHuman();
  const agent = agentFor('tamper');
  const entrypoint = entrypointOf(agent);
  mustSucceed(h.au(['run', '-a', agent, '--', 'true']), 'a run before tampering');
  // Root flips the last byte in place: same owner, same mode (root keeps the setuid bit), different hash.
  const fd = openSync(entrypoint, 'r+');
  try {
    const size = statSync(entrypoint).size;
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, size - 1);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    writeSync(fd, byte, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  const st = statSync(entrypoint);
  assert.equal(st.mode & 0o7777, 0o4750, 'set-up: the tampered entrypoint should keep mode 4750, so only the hash can catch it');
  assert.equal(st.uid, 0);

  const ran = `/home/${agent}/ran-after-tamper`;
  const r = h.au(['run', '-a', agent, '--', 'touch', ran]);
  assert.notEqual(r.status, 0, `au run must refuse a tampered entrypoint: ${describeResult(r)}`);
  assert.match(r.stderr, /tampered|sha-?256/i, `the refusal should say why: ${describeResult(r)}`);
  assert.ok(!existsSync(ran), 'the command ran through the tampered entrypoint');

  const info = h.au(['info', '-a', agent]);
  assert.equal(info.status, 1, `au info must exit 1: ${describeResult(info)}`);
  assert.match(info.stdout, /BROKEN/, describeResult(info));
  assert.match(info.stdout, /tampered|sha-?256/i, describeResult(info));
});

test('A3: a mount target replaced by a symlink to a directory outside the agent home is never followed', () => {
  const h = theHuman();
  const agent = agentFor('a3-target');
  const home = `/home/${agent}`;
  const outside = outsideDir();
  const baseline = mustSucceed(asAgent(agent, 'cat /proc/self/mountinfo'), 'a baseline run');
  const baselinePoints = new Set(parseMountinfo(baseline.stdout).map((m) => m.point));

  mustSucceed(h.run(['sh', '-c', 'mkdir ~/proj-a && echo shared > ~/proj-a/file']), 'creating the share');
  // The agent plants the symlink where the human's next share will be mounted.
  const plant = asAgent(agent, `ln -s ${outside} ~/proj-a && readlink ~/proj-a`);
  assert.equal(plant.stdout.trim(), outside, `planting the symlink (set-up): ${describeResult(plant)}`);
  mustSucceed(h.au(['mount', 'add', '-a', agent, `${h.home}/proj-a`]), 'au mount add');
  const outsideBefore = snapshot(outside);

  const r = asAgent(agent, 'cat /proc/self/mountinfo; echo "listing: $(ls ~/proj-a/)"');
  assert.equal(snapshot(outside), outsideBefore, 'the outside directory changed');
  assert.ok(lstatSync(`${home}/proj-a`).isSymbolicLink(), 'the planted symlink was replaced');
  assert.equal(readlinkSync(`${home}/proj-a`), outside);
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(outside), 'something is mounted on the outside directory');
  if (r.status === 0) {
    for (const m of parseMountinfo(r.stdout)) {
      if (baselinePoints.has(m.point)) continue;
      assert.ok(m.point.startsWith(`${home}/`), `mounted outside the agent home: ${m.point}`);
    }
  } else {
    assert.match(r.stderr, new RegExp(`${home}/proj-a`), `the refusal should name the target: ${describeResult(r)}`);
    assert.doesNotMatch(r.stdout, /listing:/, 'the command ran although the run failed');
  }
});

test('A3: a parent component of a nested mount target replaced by a symlink is never followed', () => {
  const h = theHuman();
  const agent = agentFor('a3-parent');
  const home = `/home/${agent}`;
  const outside = outsideDir();
  mustSucceed(h.run(['sh', '-c', 'mkdir -p ~/work/proj-n && echo nested-share > ~/work/proj-n/file']), 'creating the share');
  mustSucceed(h.au(['mount', 'add', '-a', agent, `${h.home}/work/proj-n`]), 'au mount add');
  const first = mustSucceed(asAgent(agent, 'cat ~/work/proj-n/file; cat /proc/self/mountinfo'), 'a first run with the share');
  assert.match(first.stdout, /nested-share/, 'the share should be visible at its target (set-up)');
  const baselinePoints = new Set(parseMountinfo(first.stdout).map((m) => m.point));

  // During a run, the agent swaps the parent of the mount point (not itself a mount point) for a symlink.
  const swap = asAgent(agent, `mv ~/work ~/work.old && ln -s ${outside} ~/work && readlink ~/work`);
  assert.equal(swap.stdout.trim(), outside, `swapping the parent for a symlink (set-up): ${describeResult(swap)}`);
  const outsideBefore = snapshot(outside);

  const r = asAgent(agent, 'cat /proc/self/mountinfo; echo "listing: $(ls ~/work/)"');
  assert.equal(snapshot(outside), outsideBefore, `the outside directory changed (e.g. ${outside}/proj-n created)`);
  assert.ok(!existsSync(`${outside}/proj-n`));
  assert.ok(lstatSync(`${home}/work`).isSymbolicLink(), 'the planted symlink was replaced');
  if (r.status === 0) {
    for (const m of parseMountinfo(r.stdout)) {
      if (baselinePoints.has(m.point)) continue;
      assert.ok(m.point.startsWith(`${home}/`) && !m.point.startsWith(outside), `mounted outside the agent home: ${m.point}`);
    }
  } else {
    assert.match(r.stderr, new RegExp(`${home}/work/proj-n`), `the refusal should name the target: ${describeResult(r)}`);
    assert.doesNotMatch(r.stdout, /listing:/, 'the command ran although the run failed');
  }
});

test('A3: a mount target inside a rw share, replaced by a symlink through that share, is never followed', () => {
  const h = theHuman();
  const agent = agentFor('a3-share');
  const home = `/home/${agent}`;
  const outside = outsideDir();
  mustSucceed(h.run(['sh', '-c', 'mkdir -p ~/proj3 ~/data3 && echo data3 > ~/data3/file']), 'creating the folders');
  mustSucceed(h.au(['mount', 'add', '-a', agent, '--rw', `${h.home}/proj3`]), 'au mount add --rw ~/proj3');
  // Through the rw share, the agent plants ~/proj3/data (the human's own folder) as a symlink...
  const plant = asAgent(agent, `ln -s ${outside} ~/proj3/data && readlink ~/proj3/data`);
  assert.equal(plant.stdout.trim(), outside, `planting the symlink (set-up): ${describeResult(plant)}`);
  // ... where the human then mounts another share: the target resolves inside the human's tree.
  mustSucceed(h.au(['mount', 'add', '-a', agent, `${h.home}/data3`, `${home}/proj3/data`]), 'au mount add ~/data3 at ~/proj3/data');
  const outsideBefore = snapshot(outside);

  const r = asAgent(agent, 'cat /proc/self/mountinfo; echo "listing: $(ls ~/proj3/data/)"');
  assert.equal(snapshot(outside), outsideBefore, 'the outside directory changed');
  assert.ok(lstatSync(`${h.home}/proj3/data`).isSymbolicLink(), 'the planted symlink was replaced');
  if (r.status === 0) {
    for (const m of parseMountinfo(r.stdout)) assert.ok(!m.point.startsWith(outside), `mounted outside the agent home: ${m.point}`);
  } else {
    assert.match(r.stderr, new RegExp(`${home}/proj3/data`), `the refusal should name the target: ${describeResult(r)}`);
    assert.doesNotMatch(r.stdout, /listing:/, 'the command ran although the run failed');
  }
});

test("A4: the human's secrets in the environment do not reach the agent; -e pairs do", () => {
  const h = theHuman();
  const agent = agentFor('main');
  const secrets = {
    SECRET_TOKEN: `tok-${rand()}`,
    SSH_AUTH_SOCK: `/tmp/ssh-${rand()}/agent.1`,
    AWS_SECRET_ACCESS_KEY: `aws-${rand()}`,
  };
  const control = h.run(['env'], { env: secrets });
  for (const [key, value] of Object.entries(secrets))
    assert.ok(control.stdout.includes(`${key}=${value}`), `set-up: the human's environment lacks ${key}`);

  const r = mustSucceed(
    h.au(
      [
        'run',
        '-a',
        agent,
        '-e',
        'URL=a=b',
        '-e',
        'PLAIN=value with spaces',
        '--',
        'bash',
        '-c',
        'env; echo ---; cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"; cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "',
      ],
      { env: secrets },
    ),
    'au run -- env',
  );
  const env = r.stdout.split('---')[0] ?? '';
  for (const [key, value] of Object.entries(secrets)) {
    assert.ok(!r.stdout.includes(value), `${key}'s value reached the agent:\n${r.stdout}`);
    assert.doesNotMatch(env, new RegExp(`^${key}=`, 'm'), `${key} is set in the agent's environment`);
  }
  assert.match(env, new RegExp(`^HOME=/home/${agent}$`, 'm'));
  assert.match(env, new RegExp(`^USER=${agent}$`, 'm'));
  assert.match(env, new RegExp(`^LOGNAME=${agent}$`, 'm'));
  assert.match(env, /^URL=a=b$/m, '-e URL=a=b must arrive intact');
  assert.match(env, /^PLAIN=value with spaces$/m);
  assert.doesNotMatch(env, new RegExp(h.name), `the human's name appears in the agent's environment:\n${env}`);
  assert.doesNotMatch(env, /^AU_ENV_/m, 'the transport variables leaked');
});

test("A5: the human's supplementary groups are dropped: the agent has exactly its own gid", () => {
  const h = theHuman();
  const agent = agentFor('main');
  const group = uniqueName('aut-g');
  must(['groupadd', group]);
  undo.push(() => {
    if (groupExists(group)) sh(['groupdel', group]);
  });
  must(['usermod', '--append', '--groups', group, h.name]);
  const gid = Number(must(['getent', 'group', group]).split(':')[2]);
  const guarded = join(fixtures, `group-secret-${rand()}`);
  must(['sh', '-c', `echo group-only > ${guarded}`]);
  chownSync(guarded, 0, gid);
  chmodSync(guarded, 0o640);
  const control = h.run(['sh', '-c', `id -G; cat ${guarded}`]);
  assert.ok(
    control.stdout.split('\n')[0]?.split(' ').includes(String(gid)),
    `set-up: the human should be in ${group}: ${describeResult(control)}`,
  );
  assert.match(control.stdout, /group-only/, 'set-up: the human should read the group-only file');

  const r = asAgent(agent, `id -G; grep '^Groups:' /proc/self/status; cat ${guarded}; echo "cat=$?"`);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], String(idOf('-g', agent)), `id -G must be exactly the agent's gid: ${describeResult(r)}`);
  assert.equal(statusField(r.stdout, 'Groups'), '', `/proc/self/status Groups must be empty: ${describeResult(r)}`);
  assert.doesNotMatch(r.stdout, /group-only/, "the agent read a file of the human's group");
  assert.match(r.stdout, /^cat=1$/m);
  assert.match(r.stderr, /Permission denied/);
});

test('A6: no privilege can be regained: ids, capabilities, no_new_privs, setuid programs, setuid()', () => {
  const h = theHuman();
  const agent = agentFor('main');
  const uid = idOf('-u', agent);
  const gid = idOf('-g', agent);
  const driverGid = Number(must(['getent', 'group', `su-as-${agent}`]).split(':')[2]);
  // A setuid-root program only the agent may run: outside au it does make the agent root.
  const setuidRoot = join(fixtures, `show-ids-root-${rand()}`);
  must(['cp', join(fixtures, 'show-ids'), setuidRoot]);
  chownSync(setuidRoot, 0, gid);
  chmodSync(setuidRoot, 0o4750);
  const control = sh(['runuser', '-u', agent, '--', setuidRoot]);
  assert.match(
    control.stdout,
    new RegExp(`^ruid=${uid} euid=0 `),
    `set-up: the setuid-root program should work outside au: ${describeResult(control)}`,
  );
  assert.equal(h.run(['sudo', '-n', 'true']).status, 0, 'set-up: the human has sudo');

  const r = asAgent(
    agent,
    [
      "grep -E '^(Uid|Gid|Groups|NoNewPrivs|CapInh|CapPrm|CapEff|CapAmb):' /proc/self/status",
      `echo "sudo=$(sudo -n true </dev/null >/dev/null 2>&1; echo $?)"`,
      `echo "su-root=$(su -c true root </dev/null >/dev/null 2>&1; echo $?)"`,
      `echo "su-human=$(su -c true ${h.name} </dev/null >/dev/null 2>&1; echo $?)"`,
      `echo "setuid-root-program: $(${setuidRoot})"`,
    ].join('\n'),
  );
  assert.equal(r.status, 0, describeResult(r));
  assert.equal(statusField(r.stdout, 'Uid'), `${uid}\t${uid}\t${uid}\t${uid}`, r.stdout);
  assert.equal(statusField(r.stdout, 'Gid'), `${gid}\t${gid}\t${gid}\t${gid}`, r.stdout);
  assert.equal(statusField(r.stdout, 'NoNewPrivs'), '1', r.stdout);
  for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb'])
    assert.equal(statusField(r.stdout, cap), '0000000000000000', `${cap}:\n${r.stdout}`);
  assert.doesNotMatch(r.stdout, /^sudo=0$/m, 'sudo worked');
  assert.doesNotMatch(r.stdout, /^su-root=0$/m, 'su root worked');
  assert.doesNotMatch(r.stdout, /^su-human=0$/m, 'su to the human worked');
  assert.match(
    r.stdout,
    new RegExp(`^setuid-root-program: ruid=${uid} euid=${uid} suid=${uid} `, 'm'),
    `a setuid-root program gained privileges:\n${r.stdout}`,
  );

  const python = [
    'import os',
    `attempts = [("setuid(0)", lambda: os.setuid(0)), ("seteuid(0)", lambda: os.seteuid(0)), ("setgid(0)", lambda: os.setgid(0)),`,
    `  ("setuid(human)", lambda: os.setuid(${h.uid})), ("setresuid(human)", lambda: os.setresuid(${h.uid}, ${h.uid}, ${h.uid})),`,
    `  ("setgroups(driver)", lambda: os.setgroups([${driverGid}])), ("setgid(driver)", lambda: os.setgid(${driverGid}))]`,
    'for name, attempt in attempts:',
    '    try:',
    '        attempt()',
    '        print(name, "SUCCEEDED", os.getresuid())',
    '    except PermissionError as error:',
    '        print(name, "PermissionError", error.errno)',
  ].join('\n');
  const py = h.au(['run', '-a', agent, '--', 'python3', '-c', python]);
  assert.equal(py.status, 0, describeResult(py));
  const lines = py.stdout.trim().split('\n');
  assert.equal(lines.length, 7, py.stdout);
  for (const line of lines) assert.match(line, / PermissionError 1$/, `must fail with EPERM: ${line}`);
});

test("A7: the agent cannot read the human's home nor another agent's home", () => {
  const h = theHuman();
  const agent = agentFor('main');
  const other = agentFor('other');
  const humanSecret = `human-secret-${rand()}`;
  const otherSecret = `other-secret-${rand()}`;
  mustSucceed(
    h.run(['sh', '-c', `echo ${humanSecret} > ~/secret.txt && chmod 644 ~/secret.txt && cat ~/secret.txt`]),
    'the human writes a file',
  );
  mustSucceed(
    asAgent(other, `echo ${otherSecret} > ~/secret.txt && chmod 644 ~/secret.txt && cat ~/secret.txt`),
    'the other agent writes a file',
  );
  assert.equal(statSync(h.home).mode & 0o777, 0o750, "set-up: the human's home is private as au asks");
  assert.match(
    h.run(['cat', `/home/${other}/secret.txt`]).stdout,
    new RegExp(otherSecret),
    "set-up: the human reads the other agent's file",
  );

  const r = asAgent(
    agent,
    [
      TRY,
      `try ls ${h.home}`,
      `try cat ${h.home}/secret.txt`,
      `try ls /home/${other}`,
      `try cat /home/${other}/secret.txt`,
      `try cp /home/${other}/secret.txt ~/stolen`,
    ].join('\n'),
  );
  const { succeeded, refused } = attemptLines(r.stdout);
  assert.deepEqual(succeeded, [], r.stdout);
  assert.equal(refused.length, 5, r.stdout);
  for (const line of refused) assert.match(line, /Permission denied/, line);
  assert.ok(!r.stdout.includes(humanSecret) && !r.stdout.includes(otherSecret), `a secret leaked:\n${r.stdout}`);
});

test('A8: read-only shares refuse writes, nothing outside shares is writable, shares are nosuid,nodev', (t) => {
  const h = theHuman();
  const agent = agentFor('a8');
  const home = `/home/${agent}`;
  // Modes that let anyone write: only the read-only mount can stop the agent (EROFS, not EACCES).
  mustSucceed(
    h.run([
      'sh',
      '-c',
      'mkdir ~/ro-share ~/rw-share && echo read-only-content > ~/ro-share/file && chmod 0777 ~/ro-share && chmod 0666 ~/ro-share/file',
    ]),
    'creating the shares',
  );
  mustSucceed(h.au(['mount', 'add', '-a', agent, `${h.home}/ro-share`]), 'au mount add (ro)');
  mustSucceed(h.au(['mount', 'add', '-a', agent, '--rw', `${h.home}/rw-share`]), 'au mount add --rw');
  // ... and an ACL that lets the agent itself write there (the ro share's own ACL gives it r-x).
  mustSucceed(h.run(['setfacl', '-R', '-m', `user:${agent}:rwX`, `${h.home}/ro-share`]), 'granting the agent write access to the ro share');
  // A setuid program of the human's in the rw share: without nosuid it would run as the human.
  mustSucceed(
    h.run(['sh', '-c', `cp ${fixtures}/show-ids ~/rw-share/show-ids && chmod 4755 ~/rw-share/show-ids`]),
    'the human plants a setuid file',
  );
  const control = sh([`${h.home}/rw-share/show-ids`]);
  assert.match(control.stdout, new RegExp(`euid=${h.uid} `), `set-up: the setuid bit works outside au: ${describeResult(control)}`);
  // A device node in the rw share: without nodev, opening it would reach the device.
  must(['mknod', '-m', '666', `${h.home}/rw-share/nulldev`, 'c', '1', '3']);
  const roBefore = snapshot(`${h.home}/ro-share`);
  const outsidePaths = [
    `${h.home}/aut-x`,
    `${h.home}/rw-share/aut-x`,
    `${h.home}/ro-share/aut-x`,
    '/etc/aut-x',
    '/usr/local/bin/aut-x',
    '/root/aut-x',
    '/home/aut-x',
    '/opt/aut-x',
    '/var/lib/aut-x',
    `${ENTRYPOINT_ROOT}/aut-x`,
  ];
  for (const p of outsidePaths) assert.ok(!existsSync(p), `set-up: ${p} already exists`);
  undo.push(() => {
    for (const p of outsidePaths) if (!p.startsWith(h.home)) rmSync(p, { force: true });
  });

  const uid = idOf('-u', agent);
  const r = asAgent(
    agent,
    [
      TRY,
      'cat ~/ro-share/file',
      "try sh -c 'echo x > ~/ro-share/new'",
      "try sh -c 'echo x >> ~/ro-share/file'",
      'try rm -f ~/ro-share/file',
      'try mkdir ~/ro-share/dir',
      'try touch ~/ro-share/file',
      'try chmod 0777 ~/ro-share',
      'echo agent-was-here > ~/rw-share/agent-wrote && echo rw-write-ok',
      ...outsidePaths.map((p) => `try touch ${p}`),
      "try sh -c 'echo x > ~/rw-share/nulldev'",
      'echo "setuid-in-share: $(~/rw-share/show-ids)"',
      'cat /proc/self/mountinfo',
    ].join('\n'),
  );
  assert.equal(r.status, 0, describeResult(r));
  assert.match(r.stdout, /^read-only-content$/m, 'set-up: the agent reads the ro share');
  assert.match(r.stdout, /^rw-write-ok$/m, 'set-up: the agent writes the rw share');
  const { succeeded, refused } = attemptLines(r.stdout);
  assert.deepEqual(succeeded, [], r.stdout);
  assert.equal(refused.length, 6 + outsidePaths.length + 1, r.stdout);
  for (const line of refused.slice(0, 6)) assert.match(line, /Read-only file system/, `the ro share must refuse with EROFS: ${line}`);
  assert.match(refused[refused.length - 1] ?? '', /Permission denied/, 'a device node in a share must not open (nodev)');
  assert.equal(snapshot(`${h.home}/ro-share`), roBefore, 'the read-only share changed');
  for (const p of outsidePaths) assert.ok(!existsSync(p), `the agent created ${p}`);
  assert.equal(readFileSync(`${h.home}/rw-share/agent-wrote`, 'utf8'), 'agent-was-here\n');
  assert.match(
    r.stdout,
    new RegExp(`^setuid-in-share: ruid=${uid} euid=${uid} suid=${uid} `, 'm'),
    'a setuid file in a share ran as the human',
  );

  const mounts = parseMountinfo(r.stdout);
  const ro = mounts.find((m) => m.point === `${home}/ro-share`);
  const rw = mounts.find((m) => m.point === `${home}/rw-share`);
  assert.ok(ro && rw, `both shares should be mounted:\n${r.stdout}`);
  for (const option of ['ro', 'nosuid', 'nodev'])
    assert.ok(ro.options.includes(option), `ro share lacks ${option}: ${ro.options.join(',')}`);
  for (const option of ['rw', 'nosuid', 'nodev'])
    assert.ok(rw.options.includes(option), `rw share lacks ${option}: ${rw.options.join(',')}`);

  // From a user namespace of its own the agent is "root": the kernel must keep the flags locked.
  const userns = asAgent(
    agent,
    [
      'unshare -Urm true 2>/dev/null || { echo no-userns; exit 0; }',
      `unshare -Urm sh -c '
        mount -o remount,bind,rw ~/ro-share 2>&1; echo x > ~/ro-share/userns-new 2>&1 && echo "LEAKED: wrote into the ro share"
        mount -o remount,bind,suid,dev ~/rw-share 2>&1; echo "userns-setuid: $(~/rw-share/show-ids)"
        echo x > ~/rw-share/nulldev 2>&1 && echo "LEAKED: opened a device in a share"
        echo userns-done'`,
    ].join('\n'),
  );
  if (/^no-userns$/m.test(userns.stdout)) {
    t.diagnostic('unprivileged user namespaces are disabled here: the remount attacks cannot be tried');
  } else {
    assert.match(userns.stdout, /^userns-done$/m, describeResult(userns));
    assert.doesNotMatch(userns.stdout, /LEAKED/, describeResult(userns));
    assert.match(
      userns.stdout,
      /^userns-setuid: ruid=0 euid=0 suid=0 /m,
      `a setuid file ran setuid in a user namespace: ${describeResult(userns)}`,
    );
  }
  assert.equal(snapshot(`${h.home}/ro-share`), roBefore, 'the read-only share changed');
});

test('A10: /tmp and /dev/shm are private to the run', (t) => {
  const h = theHuman();
  const agent = agentFor('main');
  const tag = rand();
  const humanFiles = [`/tmp/aut-human-${tag}`, `/dev/shm/aut-human-${tag}`];
  const agentFiles = [`/tmp/aut-agent-${tag}`, `/dev/shm/aut-agent-${tag}`];
  undo.push(() => {
    for (const p of [...humanFiles, ...agentFiles]) rmSync(p, { force: true });
  });
  mustSucceed(
    h.run(['sh', '-c', humanFiles.map((p) => `echo human-tmp > ${p} && chmod 644 ${p}`).join(' && ')]),
    'the human writes in /tmp',
  );
  for (const p of humanFiles) assert.equal(statSync(p).mode & 0o777, 0o644, `set-up: ${p} is readable by everyone`);

  const r = asAgent(
    agent,
    [TRY, ...humanFiles.map((p) => `try cat ${p}`), ...agentFiles.map((p) => `echo planted > ${p} && ls ${p} && echo "wrote ${p}"`)].join(
      '\n',
    ),
  );
  assert.equal(r.status, 0, describeResult(r));
  const { succeeded, refused } = attemptLines(r.stdout);
  assert.deepEqual(succeeded, [], `the agent read the human's /tmp:\n${r.stdout}`);
  assert.equal(refused.length, 2, r.stdout);
  for (const line of refused) assert.match(line, /No such file or directory/, line);
  for (const p of agentFiles) {
    assert.match(r.stdout, new RegExp(`^wrote ${p}$`, 'm'), `set-up: the agent writes ${p} inside`);
    assert.ok(!existsSync(p), `the agent's ${p} is in the human's namespace`);
  }

  // Unmounting the private /tmp from a user namespace would reveal the human's: the kernel locks it.
  const userns = asAgent(
    agent,
    [
      'unshare -Urm true 2>/dev/null || { echo no-userns; exit 0; }',
      `unshare -Urm sh -c '
        umount /tmp 2>&1; umount -l /tmp 2>&1; umount -l /dev/shm 2>&1
        cat ${humanFiles.join(' ')} 2>/dev/null && echo "LEAKED after umount"
        mkdir -p ~/aut-rootview && mount --rbind / ~/aut-rootview 2>&1 && {
          cat ~/aut-rootview${humanFiles[0]} 2>/dev/null && echo "LEAKED through rbind"
          umount -l ~/aut-rootview/tmp 2>&1; cat ~/aut-rootview${humanFiles[0]} 2>/dev/null && echo "LEAKED through rbind + umount"
        }
        echo userns-done'`,
    ].join('\n'),
  );
  if (/^no-userns$/m.test(userns.stdout)) {
    t.diagnostic('unprivileged user namespaces are disabled here: the umount attacks cannot be tried');
  } else {
    assert.match(userns.stdout, /^userns-done$/m, describeResult(userns));
    assert.doesNotMatch(userns.stdout, /LEAKED|human-tmp/, describeResult(userns));
  }
});

test('A16: the agent cannot execute (nor read) its setuid entrypoint; the entrypoint refuses the agent uid', () => {
  const agent = agentFor('main');
  const home = `/home/${agent}`;
  const entrypoint = entrypointOf(agent);
  const created = [`${home}/etc-m`, `${home}/root-m`, `${home}/etc-r`];
  const r = asAgent(
    agent,
    [
      TRY,
      'stat -c "visible %a %U:%G" ' + entrypoint,
      `try ${entrypoint} --mount-rw /etc ${home}/etc-m -- id`,
      `try ${entrypoint} --mount-rw /root ${home}/root-m --chdir / -- id`,
      `try cat ${entrypoint}`,
      `try cp ${entrypoint} ${home}/ep-copy`,
      'LDSO=$(ls /lib64/ld-linux*.so.* /lib/ld-linux*.so.* 2>/dev/null | head -n1)',
      `try "$LDSO" ${entrypoint} -- id`,
      'cat /proc/self/mountinfo',
    ].join('\n'),
  );
  assert.match(r.stdout, /^visible 4750 root:/m, `set-up: the agent sees the entrypoint: ${describeResult(r)}`);
  const { succeeded, refused } = attemptLines(r.stdout);
  assert.deepEqual(succeeded, [], r.stdout);
  assert.equal(refused.length, 5, r.stdout);
  for (const line of refused) assert.match(line, /Permission denied/, line);
  for (const p of created) assert.ok(!existsSync(p), `${p} was created`);
  assert.ok(!existsSync(`${home}/ep-copy`) || statSync(`${home}/ep-copy`).size === 0, 'the agent copied the entrypoint');
  assert.ok(!parseMountinfo(r.stdout).some((m) => m.point === '/etc' || m.point === '/root' || m.point.startsWith(`${home}/`)), r.stdout);

  // The agent's home is setgid su-as-NAME, so its files get that group: a setgid file of that
  // group would hand the driver group (and so the entrypoint) to whoever runs it.
  const driverGid = Number(must(['getent', 'group', `su-as-${agent}`]).split(':')[2]);
  const setgid = asAgent(
    agent,
    [
      'cp /usr/bin/id ~/sg-chmod && chmod 2755 ~/sg-chmod',
      'install -m 2755 /usr/bin/id ~/sg-install',
      `python3 -c 'import os; os.close(os.open(os.path.expanduser("~/sg-open"), os.O_CREAT | os.O_WRONLY, 0o2755))'`,
      'mkdir -p ~/sg-dir && cp /usr/bin/id ~/sg-dir/id && chmod 2755 ~/sg-dir/id',
      'stat -c "%n %a %G" ~/sg-chmod ~/sg-install ~/sg-open ~/sg-dir/id',
    ].join('\n'),
  );
  for (const name of ['sg-chmod', 'sg-install', 'sg-open', 'sg-dir/id']) {
    const st = statSync(`${home}/${name}`);
    assert.equal(st.gid, driverGid, `set-up: ${name} should have inherited su-as-${agent} from the setgid home: ${describeResult(setgid)}`);
    assert.equal(st.mode & 0o2000, 0, `the agent made a setgid su-as-${agent} file: ${name} (${describeResult(setgid)})`);
  }

  // Defence in depth: even with the driver group (as if the agent had got into it), the
  // entrypoint refuses the agent's uid before anything privileged.
  const inGroup = sh(['runuser', '-u', agent, '-g', `su-as-${agent}`, '--', entrypoint, '--mount-rw', '/etc', `${home}/etc-r`, '--', 'id']);
  assert.equal(inGroup.status, 125, `the entrypoint must refuse the agent uid: ${describeResult(inGroup)}`);
  assert.match(inGroup.stderr, /refusing/);
  assert.doesNotMatch(inGroup.stdout, /uid=/);
  for (const p of created) assert.ok(!existsSync(p), `${p} was created`);
});

test('A17: setsid -f and double-forked processes do not outlive au run', async () => {
  const agent = agentFor('main');
  assert.equal(agentProcesses(agent), '', 'set-up: no agent process before the run');
  const r = asAgent(
    agent,
    [
      'setsid -f sleep 1000 </dev/null >/dev/null 2>&1',
      '( sleep 1001 </dev/null >/dev/null 2>&1 & ) &',
      'nohup sleep 1002 </dev/null >/dev/null 2>&1 &',
      // A pid namespace of its own, inside a user namespace of its own (when the kernel allows them).
      'if unshare -Urpf true 2>/dev/null; then unshare -Urpf sleep 1003 </dev/null >/dev/null 2>&1 & expected=4; else expected=3; fi',
      'disown -a',
      'sleep 0.3',
      'echo "running: $(pgrep -c -f "^sleep 100[0123]$") of $expected"',
    ].join('\n'),
    { timeoutMs: 30_000 },
  );
  assert.equal(r.status, 0, describeResult(r));
  assert.match(r.stdout, /^running: (\d) of \1$/m, `set-up: the escapees run inside: ${describeResult(r)}`);
  const gone = await waitUntil(() => agentProcesses(agent) === '', 3000);
  assert.ok(gone, `agent processes outlived the run:\n${agentProcesses(agent)}`);
});

test('A17: SIGTERM, SIGHUP and SIGINT sent to au end the whole run, with 128+N', async (t) => {
  const agent = agentFor('main');
  const cases: [NodeJS.Signals, number, boolean][] = [
    ['SIGTERM', 143, false],
    ['SIGHUP', 129, false],
    ['SIGINT', 130, false],
    // An agent that ignores every signal still goes, by SIGKILL after the grace period.
    ['SIGTERM', 0, true],
  ];
  for (const [signal, status, stubborn] of cases) {
    const command = stubborn
      ? ['bash', '-c', 'trap "" TERM HUP INT QUIT; setsid -f sleep 1010 </dev/null >/dev/null 2>&1; sleep 1000']
      : ['bash', '-c', 'setsid -f sleep 1010 </dev/null >/dev/null 2>&1; sleep 1000'];
    const run = auInBackground(['run', '-a', agent, '--', ...command]);
    const started = await waitUntil(
      () => sh(['pgrep', '-u', agent, '-f', '^sleep 1000$']).status === 0 && sh(['pgrep', '-u', agent, '-f', '^sleep 1010$']).status === 0,
      10_000,
    );
    assert.ok(started, `set-up: the agent's command did not start (${signal})`);
    assert.ok(run.child.pid, 'au has a pid');
    process.kill(run.child.pid, signal);
    const end = await within(run.done, 10_000, `au did not exit after ${signal}`);
    t.diagnostic(`${signal}${stubborn ? ' (agent ignoring signals)' : ''}: au exited with ${end.code ?? end.signal}`);
    if (stubborn) {
      assert.notEqual(end.code, 0, `au must not report success after ${signal}: ${JSON.stringify(end)}`);
    } else {
      assert.ok(end.code === status || end.signal === signal, `au must exit with ${status} after ${signal}: ${JSON.stringify(end)}`);
    }
    const gone = await waitUntil(() => agentProcesses(agent) === '', 5000);
    assert.ok(gone, `agent processes survived ${signal}${stubborn ? ' (stubborn agent)' : ''}:\n${agentProcesses(agent)}`);
  }
});

test('A17: closing the terminal of an au run (PTY) ends every agent process', async () => {
  const agent = agentFor('main');
  const terminal = new Terminal(theHuman());
  try {
    await checkpoint(terminal);
    terminal.type(`${auCommandLine()} run -a ${agent} -- bash -c 'setsid -f sleep 1020 </dev/null >/dev/null 2>&1; sleep 1000'`);
    const started = await waitUntil(
      () => sh(['pgrep', '-u', agent, '-f', '^sleep 1020$']).status === 0 && sh(['pgrep', '-u', agent, '-f', '^sleep 1000$']).status === 0,
      10_000,
    );
    assert.ok(started, `set-up: the agent's command did not start:\n${terminal.screen()}`);
  } finally {
    terminal.close();
  }
  const gone = await waitUntil(() => agentProcesses(agent) === '', 6000);
  assert.ok(gone, `agent processes survived the terminal:\n${agentProcesses(agent)}`);
});

test('A17: au killed with SIGKILL (pipes, and on its PTY) does not leave the agent running', async () => {
  const h = theHuman();
  const agent = agentFor('main');
  const run = auInBackground(['run', '-a', agent, '--', 'bash', '-c', 'setsid -f sleep 1030 </dev/null >/dev/null 2>&1; sleep 1000']);
  const started = await waitUntil(() => sh(['pgrep', '-u', agent, '-f', '^sleep 1030$']).status === 0, 10_000);
  assert.ok(started, 'set-up: the agent command did not start');
  assert.ok(run.child.pid, 'au has a pid');
  process.kill(run.child.pid, 'SIGKILL');
  await within(run.exited, 10_000, 'au did not die');
  const gone = await waitUntil(() => agentProcesses(agent) === '', 6000);
  const left = agentProcesses(agent);
  if (!gone) sh(['pkill', '-KILL', '-u', agent]);
  assert.ok(gone, `pipes: agent processes survived au being killed:\n${left}`);

  // Without the native addon au spawns the entrypoint instead of becoming it: same guarantee.
  const spawned = auInBackground(
    ['run', '-a', agent, '--', 'bash', '-c', 'setsid -f sleep 1032 </dev/null >/dev/null 2>&1; sleep 1000'],
    packageWithoutNative(),
  );
  assert.ok(
    await waitUntil(() => sh(['pgrep', '-u', agent, '-f', '^sleep 1032$']).status === 0, 10_000),
    'set-up: the spawned-path command did not start',
  );
  process.kill(spawned.child.pid!, 'SIGKILL');
  await within(spawned.exited, 10_000, 'au (spawn path) did not die');
  const spawnedGone = await waitUntil(() => agentProcesses(agent) === '', 6000);
  const spawnedLeft = agentProcesses(agent);
  if (!spawnedGone) sh(['pkill', '-KILL', '-u', agent]);
  assert.ok(spawnedGone, `spawn path: agent processes survived au being killed:\n${spawnedLeft}`);

  const terminal = new Terminal(h);
  try {
    await checkpoint(terminal);
    terminal.type(`${auCommandLine()} run -a ${agent} -- bash -c 'setsid -f sleep 1031 </dev/null >/dev/null 2>&1; sleep 1000'`);
    const onPty = await waitUntil(() => sh(['pgrep', '-u', agent, '-f', '^sleep 1031$']).status === 0, 10_000);
    assert.ok(onPty, `set-up: the agent command did not start on the terminal:\n${terminal.screen()}`);
    const au = sh(['pgrep', '-u', h.name, '-f', `bin/au run -a ${agent} `])
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    assert.equal(au.length, 1, `set-up: one au process expected, found ${au.join(',')}`);
    process.kill(Number(au[0]), 'SIGKILL');
    const ptyGone = await waitUntil(() => agentProcesses(agent) === '', 6000);
    const ptyLeft = agentProcesses(agent);
    if (!ptyGone) sh(['pkill', '-KILL', '-u', agent]);
    assert.ok(ptyGone, `pty: agent processes survived au being killed:\n${ptyLeft}`);
  } finally {
    terminal.close();
  }
});

test('A18: a symlink planted in a rw share, where a ro share is mounted, does not expose another folder', async () => {
  const h = theHuman();
  const agent = agentFor('a18');
  const secret = `private-secret-${rand()}`;
  mustSucceed(
    h.run(['sh', '-c', `mkdir -p ~/private ~/proj/sub && echo ${secret} > ~/private/secret.txt && echo sub-content > ~/proj/sub/file`]),
    'creating the folders',
  );
  mustSucceed(h.au(['mount', 'add', '-a', agent, '--rw', `${h.home}/proj`]), 'au mount add --rw ~/proj');

  // A session of the agent already running while the human adds the read-only share ~/proj/sub:
  // in that session ~/proj/sub is no mount point, so the agent can swap it for a symlink.
  const session = auInBackground([
    'run',
    '-a',
    agent,
    '--',
    'bash',
    '-c',
    `for i in $(seq 200); do [ -e ~/proj/go ] && break; sleep 0.05; done; mv ~/proj/sub ~/proj/sub.old && ln -s ${h.home}/private ~/proj/sub && echo swapped`,
  ]);
  const running = await waitUntil(() => agentProcesses(agent) !== '', 10_000);
  assert.ok(running, 'set-up: the session did not start');
  mustSucceed(h.au(['mount', 'add', '-a', agent, `${h.home}/proj/sub`]), 'au mount add ~/proj/sub');
  const check = mustSucceed(
    asAgent(agent, 'cat ~/proj/sub/file; touch ~/proj/sub/x 2>&1; touch ~/proj/rw-ok && echo rw-ok'),
    'a run with both shares',
  );
  assert.match(check.stdout, /sub-content/);
  assert.match(check.stdout, /Read-only file system/, 'set-up: ~/proj/sub is read-only for the agent');
  mustSucceed(h.run(['touch', `${h.home}/proj/go`]), 'starting the swap');
  const swapped = await within(session.done, 20_000, 'the agent session did not end');
  assert.match(swapped.stdout, /swapped/, `set-up: the agent swapped ~/proj/sub: ${JSON.stringify(swapped)}`);
  assert.ok(lstatSync(`${h.home}/proj/sub`).isSymbolicLink());
  const control = h.run(['cat', `${h.home}/proj/sub/secret.txt`]);
  assert.match(control.stdout, new RegExp(secret), "set-up: the symlink leads to the human's private folder");

  const r = asAgent(agent, `cat ~/proj/sub/secret.txt; ls -la ~/proj/sub/; cat /home/${agent}/proj/sub/secret.txt`);
  assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `the private folder was exposed: ${describeResult(r)}`);
  assert.notEqual(r.status, 0, `the run must refuse: ${describeResult(r)}`);
  assert.match(r.stderr, new RegExp(`${h.home}/proj/sub\\b`), `the refusal must name the source: ${describeResult(r)}`);
});

test('A18: au mount add does not follow a symlink the agent planted in a rw share', () => {
  const h = theHuman();
  const agent = agentFor('a18-add');
  const secret = `private-secret-${rand()}`;
  mustSucceed(h.run(['sh', '-c', `mkdir -p ~/private2 ~/proj2 && echo ${secret} > ~/private2/secret.txt`]), 'creating the folders');
  mustSucceed(h.au(['mount', 'add', '-a', agent, '--rw', `${h.home}/proj2`]), 'au mount add --rw ~/proj2');
  // The agent leaves a "docs" folder in the project that is really a symlink to a private folder.
  mustSucceed(asAgent(agent, `ln -s ${h.home}/private2 ~/proj2/docs`), 'planting the symlink');
  assert.match(
    h.run(['cat', `${h.home}/proj2/docs/secret.txt`]).stdout,
    new RegExp(secret),
    "set-up: the symlink leads to the human's private folder",
  );

  // The human shares what looks like a sub-folder of the project, read-only.
  const add = h.au(['mount', 'add', '-a', agent, `${h.home}/proj2/docs`]);
  const r = asAgent(
    agent,
    `cat ~/proj2/docs/secret.txt ~/private2/secret.txt ~/docs/secret.txt 2>&1; find ~ -name secret.txt -exec cat {} + 2>&1`,
  );
  assert.ok(
    !r.stdout.includes(secret),
    `the human's private folder was exposed (au mount add: ${describeResult(add)}; au mount list: ${h.au(['mount', 'list', '-a', agent]).stdout}): ${describeResult(r)}`,
  );
});
