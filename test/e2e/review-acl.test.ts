// Adversarial review of the fd-based ACL walker (native/acl_walk.c) and of kept agent accounts
// (review5). Each test plays the hostile agent and asserts that its attack fails; an attack that
// succeeds is kept as a `todo` test that says so.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, type Result, createHuman, must, packageForHumans, sh, uidOf } from '../helpers/system.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
const show = (r: Result): string => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${JSON.stringify(r.stderr)}`;

/** Whether the ACL of PATH (not following symlinks) names USER, as root sees it. */
const namesUser = (path: string, user: string): boolean =>
  new RegExp(`^(default:)?user:${user}:`, 'm').test(must(['getfacl', '-P', '-p', path]));

/** `au run -a AGENT -- ARGV...` as the human, in the background. */
function runInBackground(human: Human, agent: string, argv: string[]): { child: ChildProcess; output: () => string; ended: Promise<void> } {
  const child = spawn(
    'runuser',
    [
      '-u',
      human.name,
      '--',
      'env',
      '-i',
      ...Object.entries(human.env()).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      join(packageForHumans(), 'bin', 'au'),
      'run',
      '-a',
      agent,
      '--',
      ...argv,
    ],
    { cwd: human.home, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, output: () => out, ended };
}

/**
 * The racer for the mount-remove race: waits until the walk has taken the agent's entry off
 * folder Y, then moves Y/s/secret (the walk has yet to reach s) into X (a folder of the agent's
 * that the walk has passed), and exits at once, so that no process of the agent is left when
 * au asks after the walk.
 */
const MOVER = String.raw`
import os, struct, sys, time
base, uid, x, y = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
X, Y = f'{base}/{x}', f'{base}/{y}'
def has(p):
    try:
        b = os.getxattr(p, 'system.posix_acl_access')
    except OSError:
        return False
    for i in range(4, len(b), 8):
        tag, perm, ident = struct.unpack_from('<HHI', b, i)
        if tag == 2 and ident == uid:
            return True
    return False
assert has(Y)
open(f'{X}/ready', 'w').close()
deadline = time.time() + 30
while has(Y) and time.time() < deadline:
    pass
os.rename(f'{Y}/s/secret', f'{X}/secret')
print('moved', flush=True)
`;

describe('review5: the ACL walker against a hostile agent', () => {
  let human: Human;
  let agent: string;
  let agentUid: number;
  const cleanups: (() => void)[] = [];

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    agentUid = uidOf(agent);
  });
  after(() => {
    for (const c of cleanups) c();
    human.cleanup();
  });

  /** A fresh folder ~/NAME of the human's, shared read-write at ~agent/NAME. */
  function share(name: string, setup = ''): { source: string; target: string } {
    const source = `${human.home}/${name}`;
    const made = human.run(['sh', '-c', `mkdir ${source} && cd ${source} && true ${setup ? `&& ${setup}` : ''}`]);
    assert.equal(made.status, 0, made.stderr);
    const target = `/home/${agent}/${name}`;
    const add = human.au(['mount', 'add', '-a', agent, '--rw', source, target]);
    assert.equal(add.status, 0, show(add));
    return { source, target };
  }

  test("A22/A27: folder names the agent chooses (escape sequences, newlines) reach the human's terminal raw in au mount remove's report", () => {
    const { source, target } = share('esc');
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      `cd ${target} && mkdir "$(printf 'a\\033]52;c;cHduZWQ=\\007\\033[2J\\033]0;pwned\\007')" "$(printf 'b\\nwarning: nothing of yours is left to revoke\\nRemoved')" && chmod 700 a* b* && echo planted`,
    ]);
    assert.match(planted.stdout, /planted/, show(planted));
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    assert.equal(removed.status, 0, show(removed));
    assert.match(removed.stderr, /cannot look inside/, `set-up: au reports the folders: ${show(removed)}`);
    assert.doesNotMatch(removed.stderr, /\u001b/, `an escape sequence of the agent's reaches the human's terminal: ${show(removed)}`);
    assert.doesNotMatch(removed.stderr, /^warning: nothing of yours/m, `the agent forges a line of au's output: ${show(removed)}`);
  });

  test("A27: au mount remove raced by a live agent that moves a file of the human's behind the walk and exits before au checks for processes", async (t) => {
    const source = `${human.home}/race`;
    const target = `/home/${agent}/race`;
    // Eight folders of the human's; the walk visits them in readdir order, which the agent can read too.
    assert.equal(human.run(['sh', '-c', `mkdir ${source} && cd ${source} && mkdir a b c d e f g h`]).status, 0);
    const order = must(['ls', '-U', '-1', source]).trim().split('\n');
    const [x, y, z] = order as [string, string, string];
    // X will be the agent's own folder (same name, same place in the listing); Y holds s/secret.
    assert.equal(
      human.run([
        'sh',
        '-c',
        `cd ${source} && rmdir ${x} ${z} && mkdir ${y}/s && echo top-secret > ${y}/s/secret && chmod 600 ${y}/s/secret`,
      ]).status,
      0,
    );
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', source, target]).status, 0);
    // The agent fills Y (time before the walk reaches s) and Z, after Y, (time after the move).
    const fill = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os\nb='${target}'\nos.mkdir(f'{b}/${x}')\nos.mkdir(f'{b}/${z}')\nfor i in range(4000): open(f'{b}/${y}/j{i}','w').close()\nfor i in range(60000): open(f'{b}/${z}/j{i}','w').close()\nprint('filled')`,
    ]);
    assert.match(fill.stdout, /filled/, show(fill));
    assert.ok(namesUser(`${source}/${y}/s/secret`, agent), 'set-up: the secret is shared');
    const mover = runInBackground(human, agent, ['python3', '-c', MOVER, target, String(agentUid), x, y]);
    cleanups.push(() => mover.child.kill('SIGKILL'));
    assert.ok(await until(() => existsSync(`${source}/${x}/ready`), 20_000), `set-up: the mover is ready: ${mover.output()}`);
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    await mover.ended;
    // Where `s` falls in Y's listing is the filesystem's choice: when the walk reached it before the
    // agent could move the secret, the race did not happen this time (inconclusive, not a pass).
    if (!/moved/.test(mover.output())) {
      t.skip(`inconclusive: the walk reached the secret before the agent moved it (${mover.output().trim()})`);
      return;
    }
    const kept = existsSync(`${source}/${x}/secret`) && namesUser(`${source}/${x}/secret`, agent);
    const list = human.au(['mount', 'list', '--json', '-a', agent]);
    const stillRecorded = list.stdout.includes(source);
    // Held: the entry is gone, or au said a live agent raced the walk and kept the record to finish later.
    assert.ok(
      !kept || stillRecorded || /warning: /.test(removed.stderr),
      `the human's moved file keeps the agent's ACL entry, and au said "Removed" without a warning: ${show(removed)}\n${must(['getfacl', '-p', `${source}/${x}/secret`])}`,
    );
  });

  test('A27: the revoke that ends a lockdown run, raced by a process the run left in the background, leaves no entry unreported', async (t) => {
    const source = `${human.home}/lock`;
    assert.equal(human.run(['sh', '-c', `mkdir ${source} && cd ${source} && mkdir a b c d e f g h`]).status, 0);
    const order = must(['ls', '-U', '-1', source]).trim().split('\n');
    const [x, y, z] = order as [string, string, string];
    assert.equal(
      human.run([
        'sh',
        '-c',
        `cd ${source} && rmdir ${x} ${z} && mkdir ${y}/s && echo top-secret > ${y}/s/secret && chmod 600 ${y}/s/secret`,
      ]).status,
      0,
    );
    // In the run: the agent's folders X and Z, junk in Y and Z, then the mover in the background, and the run's command exits.
    const script =
      `import os, subprocess\nos.mkdir('${x}')\nos.mkdir('${z}')\nfor i in range(4000): open('${y}/j%d' % i,'w').close()\nfor i in range(60000): open('${z}/j%d' % i,'w').close()\n` +
      `subprocess.Popen(['python3', '-c', ${JSON.stringify(MOVER)}, '.', '${agentUid}', '${x}', '${y}'], start_new_session=True, stdout=open('${x}/log','w'), stderr=subprocess.STDOUT)\n` +
      `import time\nwhile not os.path.exists('${x}/ready'): time.sleep(0.01)\nprint('started')`;
    const run = human.au(['run', '-a', agent, '--lockdown', '--rw-cwd', '--', 'python3', '-c', script], { cwd: source, timeoutMs: 60_000 });
    assert.match(run.stdout, /started/, show(run));
    await sleep(500);
    const log = existsSync(`${source}/${x}/log`) ? readFileSync(`${source}/${x}/log`, 'utf8') : '';
    const kept = existsSync(`${source}/${x}/secret`) && namesUser(`${source}/${x}/secret`, agent);
    t.diagnostic(`mover: ${JSON.stringify(log)}; secret moved: ${existsSync(`${source}/${x}/secret`)}`);
    assert.ok(
      !kept || /warning: /.test(run.stderr),
      `the secret keeps the agent's entry after the lockdown run, unreported: ${show(run)} mover: ${log}`,
    );
  });

  test('A27: a share removed while the agent keeps a session is not mounted in its next run, and its files are not readable there', async () => {
    const { source, target } = share('pend', 'echo pend-secret > p.txt');
    const live = runInBackground(human, agent, ['sh', '-c', `cat ${target}/p.txt && sleep 30`]);
    cleanups.push(() => live.child.kill('SIGKILL'));
    try {
      assert.ok(await until(() => live.output().includes('pend-secret'), 20_000), `set-up: the session reads the share: ${live.output()}`);
      const removed = human.au(['mount', 'remove', '-a', agent, source]);
      assert.match(removed.stderr, /has processes running/, show(removed));
      const next = human.au([
        'run',
        '-a',
        agent,
        '--',
        'sh',
        '-c',
        `cat ${target}/p.txt; cat ${source}/p.txt; grep -c " ${target} " /proc/self/mountinfo`,
      ]);
      assert.doesNotMatch(next.stdout, /pend-secret/, `the next run reads the share being removed: ${show(next)}`);
    } finally {
      sh(['pkill', '-KILL', '-u', agent]); // the session (runuser's kill does not reach au's children)
      live.child.kill('SIGKILL');
      await live.ended;
    }
  });

  test("A27: a file of the human's moved by the agent below a chain of its folders longer than PATH_MAX is revoked or reported", (t) => {
    const { source, target } = share('deep', 'echo deep-secret > deep.txt && chmod 600 deep.txt');
    const built = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os\nos.chdir('${target}')\nfd = os.open('.', os.O_RDONLY)\nfor i in range(200):\n    os.mkdir('d'*30); os.chdir('d'*30)\nos.rename('deep.txt', 'deep.txt', src_dir_fd=fd)\nprint('hidden', len(os.getcwd()))`,
    ]);
    assert.match(built.stdout, /hidden/, show(built));
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    assert.equal(removed.status, 0, show(removed));
    // The file, found by root through relative steps (find handles any depth).
    const found = must(['find', source, '-name', 'deep.txt', '-execdir', 'getfacl', '-p', '{}', ';']);
    t.diagnostic(`left: ${new RegExp(`^user:${agent}:`, 'm').test(found)}; au said: ${removed.stderr.slice(0, 300)}`);
    if (new RegExp(`^user:${agent}:`, 'm').test(found)) {
      assert.match(
        removed.stderr,
        /warning: .*(File name too long|failed)/,
        `the agent's entry is left on the deep file and au did not say so: ${show(removed)}`,
      );
    }
  });

  test("A27/A21: 2000 nested folders of the agent's (within PATH_MAX: fds, stack) with a file of the human's at the bottom: revoked or reported", (t) => {
    const { source, target } = share('nest', 'echo nest-secret > nest.txt && chmod 600 nest.txt');
    const built = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os\nos.chdir('${target}')\nfd = os.open('.', os.O_RDONLY)\nn = (4000 - len('${source}')) // 2\nfor i in range(n):\n    os.mkdir('d'); os.chdir('d')\nos.rename('nest.txt', 'nest.txt', src_dir_fd=fd)\nprint('hidden', n)`,
    ]);
    assert.match(built.stdout, /hidden/, show(built));
    const removed = human.au(['mount', 'remove', '-a', agent, source], { timeoutMs: 60_000 });
    assert.equal(removed.status, 0, show(removed));
    const found = must(['find', source, '-name', 'nest.txt', '-execdir', 'getfacl', '-p', '{}', ';']);
    t.diagnostic(`left: ${new RegExp(`^user:${agent}:`, 'm').test(found)}; au said: ${removed.stderr.slice(0, 300)}`);
    if (new RegExp(`^user:${agent}:`, 'm').test(found)) {
      assert.match(removed.stderr, /warning: /, `the agent's entry is left on the deep file and au did not say so: ${show(removed)}`);
    }
  });

  test("A8/A27: a file of the human's hard-linked into the share by the human (git clone of a local repo) is written by the agent outside the share", () => {
    const setup = human.run([
      'sh',
      '-c',
      'git init -q ~/repo && cd ~/repo && echo original > f && git add f && git -c user.name=h -c user.email=h@h commit -qm one && git clone -q ~/repo ~/clone && echo cloned',
    ]);
    assert.match(setup.stdout, /cloned/, show(setup));
    const object = human.run(['git', '-C', `${human.home}/repo`, 'rev-parse', 'HEAD:f']).stdout.trim();
    const rel = `.git/objects/${object.slice(0, 2)}/${object.slice(2)}`;
    const before = readFileSync(`${human.home}/repo/${rel}`);
    assert.ok(
      Number(must(['stat', '-c', '%h', `${human.home}/repo/${rel}`]).trim()) > 1,
      'set-up: git hard-linked the object into the clone',
    );
    assert.equal(human.run(['git', '-C', `${human.home}/repo`, 'fsck', '--no-progress']).status, 0, 'set-up: ~/repo is intact before');
    const target = `/home/${agent}/clone`;
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', `${human.home}/clone`, target]).status, 0);
    const wrote = human.au(['run', '-a', agent, '--', 'sh', '-c', `printf pwned > ${target}/${rel} && echo wrote`]);
    const after = readFileSync(`${human.home}/repo/${rel}`);
    assert.ok(before.equals(after), `the agent rewrote ${human.home}/repo/${rel}, outside the share: ${show(wrote)}`);
  });

  test('A27: the folder au names as not revocable is one the human can find (the agent hides it below a 600-character path)', () => {
    const { source, target } = share('longname', 'echo long-secret > s.txt');
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os\nos.chdir('${target}')\nfd = os.open('.', os.O_RDONLY)\nfor i in range(20):\n    os.mkdir('d'*30); os.chdir('d'*30)\nos.mkdir('hide')\nos.rename('s.txt', 'hide/s.txt', src_dir_fd=fd)\nos.chmod('hide', 0o700)\nprint('hidden')`,
    ]);
    assert.match(planted.stdout, /hidden/, show(planted));
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    assert.equal(removed.status, 0, show(removed));
    const named = /cannot look inside (\/\S+?)(,| \(not readable)/.exec(removed.stderr)?.[1];
    assert.ok(named, `au names the folder: ${show(removed)}`);
    assert.ok(
      existsSync(named) && named.endsWith('/hide'),
      `au names ${named}, which is not the folder it could not look into: ${show(removed)}`,
    );
  });

  test("A27: the folder holding a file of the human's is named even when the agent makes 300 folders au cannot look into", () => {
    const { source, target } = share('many', 'echo many-secret > s.txt');
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os\nos.chdir('${target}')\nfor i in range(300): os.mkdir('m%d' % i)\nlast = [e for e in os.listdir('.') if e.startswith('m')][-1]\nos.rename('s.txt', last + '/s.txt')\nfor i in range(300): os.chmod('m%d' % i, 0o700)\nprint('hidden', last)`,
    ]);
    const last = /hidden (\S+)/.exec(planted.stdout)?.[1];
    assert.ok(last, show(planted));
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    assert.equal(removed.status, 0, show(removed));
    // Named on the terminal, or in the full list whose file au names there (past 64 folders).
    const listFile = /are listed in (\/\S+\.txt)/.exec(removed.stderr)?.[1];
    const named = removed.stderr + (listFile && existsSync(listFile) ? readFileSync(listFile, 'utf8') : '');
    assert.match(named, new RegExp(`${source}/${last}\\b`), `au does not name ${last}, where the file is: ${removed.stderr.slice(-400)}`);
  });

  test('A21: a FIFO, a socket and names with newlines in a share never block or confuse the walk (O_PATH, no open)', () => {
    const { source, target } = share('odd', 'echo x > plain');
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'python3',
      '-c',
      `import os, socket\nb='${target}'\nos.mkfifo(f'{b}/fifo')\ns = socket.socket(socket.AF_UNIX); s.bind(f'{b}/sock')\nos.mkdir(f'{b}/new\\nline')\nos.rename(f'{b}/plain', f'{b}/new\\nline/plain')\nos.symlink('/etc/shadow', f'{b}/shadow')\nprint('planted')`,
    ]);
    assert.match(planted.stdout, /planted/, show(planted));
    const removed = human.au(['mount', 'remove', '-a', agent, source], { timeoutMs: 20_000 });
    assert.equal(removed.status, 0, show(removed));
    assert.ok(!namesUser(`${source}/new\nline/plain`, agent), 'the file in the folder with a newline is revoked');
    assert.ok(!namesUser('/etc/shadow', agent), '/etc/shadow is untouched');
  });

  test('A27: an agent-owned folder the human can list but whose entries it cannot look up (r without x) is reported', () => {
    const { source, target } = share('rnox', 'echo x > f');
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      `cd ${target} && mkdir m && mv f m/ && setfacl -m u:${human.name}:r-- m && chmod 744 m && echo planted`,
    ]);
    assert.match(planted.stdout, /planted/, show(planted));
    const removed = human.au(['mount', 'remove', '-a', agent, source]);
    assert.equal(removed.status, 0, show(removed));
    if (namesUser(`${source}/m/f`, agent))
      assert.match(removed.stderr, new RegExp(`${source}/m\\b`), `not revoked and not reported: ${show(removed)}`);
  });
});

describe('review5: kept accounts against a hostile agent', () => {
  let human: Human;
  before(() => {
    human = createHuman();
  });
  after(() => human.cleanup());

  test("A28: after au delete -H nothing on the machine's shared writable places is owned by the freed uid (tmp dirs, shm, mqueue, lock)", () => {
    const agent = human.newAgent();
    const uid = uidOf(agent);
    const places = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/dev/mqueue', '/var/crash', '/run/user'];
    const wrote = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      `for d in ${places.join(' ')}; do mkdir $d/left-$$ 2>/dev/null && echo $d; done; python3 -c "import os; os.mkfifo('/tmp/fifo-left')"; true`,
    ]);
    assert.equal(wrote.status, 0, show(wrote));
    assert.equal(human.au(['delete', '-y', '-H', '-a', agent]).status, 0);
    // What the run made (left-PID, fifo-left) anywhere it wrote, and any file of the uid in the two
    // homes it could reach; not every file of a reused uid (other tests' leftovers are not this agent's).
    const made = sh([
      'find',
      ...places.filter((p) => existsSync(p)),
      '-xdev',
      '-maxdepth',
      '1',
      '(',
      '-name',
      'left-*',
      '-o',
      '-name',
      'fifo-left',
      ')',
      '-uid',
      String(uid),
    ]).stdout.trim();
    const homes = sh(['find', human.home, `/home/${agent}`, '-xdev', '-uid', String(uid)]).stdout.trim();
    const left = [made, homes].filter(Boolean).join('\n');
    assert.equal(
      left,
      '',
      `files of the freed uid ${uid} are left for its next owner (the run wrote to: ${wrote.stdout.trim().replace(/\n/g, ' ')})`,
    );
  });

  test('A28: keys the agent leaves in its user keyring (_uid.N) are not inherited by the next account given its uid after au delete -H', (t) => {
    const agent = human.newAgent();
    const uid = uidOf(agent);
    const planted = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      'keyctl add user planted agent-was-here @u >/dev/null && echo planted',
    ]);
    if (!/planted/.test(planted.stdout)) return void t.skip(`inconclusive: the run refuses keyctl: ${show(planted)}`);
    const del = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(del.status, 0, show(del));
    const next = `aut-n${agent.slice(4, 10)}`;
    must(['useradd', '--no-create-home', '--uid', String(uid), next]);
    t.after(() => sh(['userdel', next]));
    const read = sh([
      'setpriv',
      '--reuid',
      String(uid),
      '--regid',
      String(uid),
      '--clear-groups',
      '--',
      'sh',
      '-c',
      'keyctl print "$(keyctl search @u user planted)"',
    ]);
    assert.doesNotMatch(read.stdout, /agent-was-here/, `the next account of uid ${uid} reads the agent's key: ${show(read)}`);
  });

  test("A28: a writer of the agent's in its own user and pid namespace, started in a run, does not survive au delete or keep files in the share", async () => {
    const agent = human.newAgent();
    const uid = uidOf(agent);
    const source = `${human.home}/ns`;
    assert.equal(human.run(['mkdir', source]).status, 0);
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', source, `/home/${agent}/ns`]).status, 0);
    const run = runInBackground(human, agent, [
      'sh',
      '-c',
      `unshare -Urpf --mount-proc sh -c 'setsid sh -c "while :; do touch /home/${agent}/ns/w\\$\\$-\\$(date +%N) 2>/dev/null; done" & echo started; sleep 60' ; sleep 60`,
    ]);
    try {
      assert.ok(await until(() => run.output().includes('started') || /unshare: /.test(run.output()), 20_000), `set-up: ${run.output()}`);
      if (!run.output().includes('started')) return void assert.fail(`inconclusive: no user namespace for the agent: ${run.output()}`);
      assert.ok(await until(() => must(['ls', source]).includes('w'), 10_000), 'set-up: the writer writes');
      const del = human.au(['delete', '-y', '-a', agent]);
      assert.equal(del.status, 0, show(del));
      assert.equal(sh(['pgrep', '-u', String(uid)]).status, 1, 'no process of the agent is left');
      await sleep(300);
      const left = must(['find', source, '-uid', String(uid)]).trim();
      assert.equal(left, '', "nothing in the share is the agent's any more");
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
