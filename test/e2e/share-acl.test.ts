// Share ACLs against a live hostile agent (A21, A27). The agent already writes ~/proj (a rw
// share) from a running session; the human shares a folder inside it (`au mount add --rw`, or
// the temporary share of `au run --lockdown` started there). Timed by inotify on the first ACL
// change, the agent swaps the entries still waiting to be changed for symlinks to the human's
// home, a private file of the human's and /etc, round after round: no ACL entry of the agent
// may appear outside the share. Then the hard link kept in a folder of the agent's own after
// the human moved the file away (A27): after `au mount remove`, the agent cannot reach it, or au
// named the folder it could not revoke in.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, REPO, type Result, createHuman, must, packageForHumans, sh } from '../helpers/system.js';

const ROUNDS = 4;
const ENTRIES = 150;

/**
 * The agent's racer (python3, inotify through ctypes). For each round N it waits for
 * BASE/go-N, watches BASE/sub-N, and on the first ACL change of the folder or of a
 * sub-folder, or when the last sub-folder is opened (a walk that lists first and changes later
 * has just listed them all), swaps every sub-folder, in reverse listing order (the order a walk
 * reaches them last), for a symlink to the human's home or /etc; on the first ACL change of a
 * file, every file for a symlink to the human's secret file or /etc/hostname. Writes the swap
 * count to BASE/done-N. Ends once BASE/end exists (its session runs until then).
 */
const RACER = String.raw`
import ctypes, os, select, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
IN_ATTRIB, IN_OPEN = 0x4, 0x20
base, home, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
ino = libc.inotify_init1(os.O_CLOEXEC)
assert ino >= 0
def swap(sub, names, targets):
    n = 0
    for i, name in enumerate(names):
        try:
            os.rename(f'{sub}/{name}', f'{sub}/{name}.old')
            os.symlink(targets[i % len(targets)], f'{sub}/{name}')
            n += 1
        except OSError:
            pass
    return n
for r in range(rounds):
    while not os.path.exists(f'{base}/go-{r}'):
        time.sleep(0.005)
    sub = f'{base}/sub-{r}'
    listed = os.listdir(sub)
    dirs = [e for e in listed if e.startswith('d')][::-1]
    files = [e for e in listed if e.startswith('f')][::-1]
    wd = libc.inotify_add_watch(ino, sub.encode(), IN_ATTRIB | IN_OPEN)
    assert wd >= 0
    open(f'{base}/ready-{r}', 'w').close()
    count, dirs_done, files_done = 0, False, False
    deadline = time.time() + 60
    # Events already queued are handled before the stop file is honoured (on a busy machine the
    # racer may wake only after the walk).
    while not (dirs_done and files_done) and time.time() < deadline:
        if not select.select([ino], [], [], 0.05)[0]:
            if os.path.exists(f'{base}/stop-{r}'):
                break
            continue
        buf = os.read(ino, 65536)
        at = 0
        while at < len(buf):
            _, mask, _, length = struct.unpack_from('iIII', buf, at)
            name = buf[at + 16:at + 16 + length].rstrip(b'\0').decode()
            at += 16 + length
            changed = mask & IN_ATTRIB
            if not dirs_done and ((changed and (name == '' or name.startswith('d'))) or (mask & IN_OPEN and dirs and name == dirs[0])):
                count += swap(sub, dirs, [home, '/etc'])
                dirs_done = True
            if not files_done and changed and name.startswith('f'):
                count += swap(sub, files, [f'{home}/secret.txt', '/etc/hostname'])
                files_done = True
    libc.inotify_rm_watch(ino, wd)
    with open(f'{base}/done-{r}', 'w') as f:
        f.write(str(count))
while not os.path.exists(f'{base}/end'):
    time.sleep(0.01)
`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const describeResult = (r: Result): string => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Paths (as root, recursively, not following symlinks) whose ACLs name USER, from getfacl. */
function pathsWithEntryOf(user: string, root: string): string[] {
  const r = sh(['getfacl', '-R', '-P', '-p', '-s', root]);
  const found: string[] = [];
  let current = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length);
    else if (line.startsWith(`user:${user}:`) || line.startsWith(`default:user:${user}:`)) {
      if (found.at(-1) !== current) found.push(current);
    }
  }
  return found;
}

describe('share ACLs against a live agent', () => {
  let human: Human;
  let agent: string;
  let proj: string;
  let racer: ChildProcess | undefined;

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    proj = `${human.home}/proj`;
    const setup = human.run([
      'sh',
      '-c',
      'mkdir ~/proj ~/private && echo secret > ~/secret.txt && chmod 600 ~/secret.txt && echo private > ~/private/notes.txt',
    ]);
    assert.equal(setup.status, 0, setup.stderr);
    const add = human.au(['mount', 'add', '-a', agent, '--rw', proj]);
    assert.equal(add.status, 0, add.stderr);
  });
  after(() => {
    racer?.kill('SIGKILL');
    human.cleanup();
  });

  /** Outside ~/proj (the share the agent has anyway), nothing of the human's and nothing in /etc names the agent. */
  function assertNoEntryOutsideShare(context: string): void {
    const leaks = [...pathsWithEntryOf(agent, human.home), ...pathsWithEntryOf(agent, '/etc')].filter(
      (p) => p !== proj && !p.startsWith(`${proj}/`),
    );
    assert.deepEqual(leaks, [], `${context}: the agent got ACL entries outside the share`);
  }

  /** `au mount add --rw SOURCE` as the human, SIGKILLed once it prints its ACL step; its stderr. */
  async function addKilledOnStep(source: string): Promise<string> {
    // setpriv execs au itself (runuser would stay its parent), so the kill reaches au.
    const child = spawn(
      'setpriv',
      [
        '--reuid',
        String(human.uid),
        '--regid',
        must(['id', '-g', human.name]).trim(),
        '--init-groups',
        '--',
        'env',
        '-i',
        ...Object.entries(human.env()).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        join(packageForHumans(), 'bin', 'au'),
        'mount',
        'add',
        '-a',
        agent,
        '--rw',
        source,
      ],
      { cwd: human.home, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('$ setfacl-by-fd')) child.kill('SIGKILL');
    });
    await ended;
    return stderr;
  }

  /** Rounds of: a fresh folder ~/proj/sub-N, the racer armed, then SHARE (the human's command) run on it. */
  async function race(prefix: string, share: (sub: string) => Result, unshare: (sub: string) => void): Promise<number> {
    const base = `/home/${agent}/proj/${prefix}`;
    must(['runuser', '-u', human.name, '--', 'mkdir', `${proj}/${prefix}`]);
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
        'python3',
        '-c',
        RACER,
        base,
        human.home,
        String(ROUNDS),
      ],
      { cwd: human.home, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    racer = child;
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let swaps = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const sub = `${proj}/${prefix}/sub-${round}`;
        const make = human.run(['sh', '-c', `mkdir ${sub} && cd ${sub} && for i in $(seq ${ENTRIES}); do mkdir d$i; echo x > f$i; done`]);
        assert.equal(make.status, 0, make.stderr);
        must(['runuser', '-u', human.name, '--', 'touch', `${proj}/${prefix}/go-${round}`]);
        await waitFor(() => existsSync(`${proj}/${prefix}/ready-${round}`), `the racer is ready (round ${round}): ${output}`);
        const r = share(sub);
        must(['runuser', '-u', human.name, '--', 'touch', `${proj}/${prefix}/stop-${round}`]);
        await waitFor(() => existsSync(`${proj}/${prefix}/done-${round}`), `the racer finished round ${round}: ${output}`);
        const swapped = Number(readFileSync(`${proj}/${prefix}/done-${round}`, 'utf8'));
        assert.ok(swapped > 0, `set-up: the agent swapped entries in round ${round} (${describeResult(r)})`);
        assert.ok(
          readdirSync(sub).some((e) => lstatSync(`${sub}/${e}`).isSymbolicLink()),
          'set-up: symlinks stand in the shared folder',
        );
        swaps += swapped;
        assertNoEntryOutsideShare(`round ${round} (${describeResult(r)})`);
        unshare(sub);
        assertNoEntryOutsideShare(`round ${round}, after unsharing`);
      }
      must(['runuser', '-u', human.name, '--', 'touch', `${proj}/${prefix}/end`]);
      await ended;
    } finally {
      child.kill('SIGKILL');
    }
    return swaps;
  }

  test('A21: au mount add --rw, raced by the agent swapping folders and files for symlinks, grants nothing outside the share', async () => {
    assertNoEntryOutsideShare('before');
    const unshared: string[] = [];
    const swaps = await race(
      'add',
      (sub) => human.au(['mount', 'add', '-a', agent, '--rw', sub, `/home/${agent}/shared-${sub.split('-').pop()}`]),
      (sub) => {
        // The racer's session still runs: the share is revoked but stays recorded as being removed.
        const r = human.au(['mount', 'remove', '-a', agent, sub]);
        assert.equal(r.status, 0, describeResult(r));
        assert.match(r.stderr, /has processes running/, describeResult(r));
        unshared.push(sub);
      },
    );
    assert.ok(swaps >= ROUNDS, `the agent swapped ${swaps} entries`);
    const list = human.au(['mount', 'list', '-a', agent]).stdout;
    for (const sub of unshared) assert.match(list, new RegExp(`^${sub} .*remove did not finish`, 'm'), list);
    await waitFor(() => sh(['pgrep', '--uid', agent]).status !== 0, 'the racer session ended');
    for (const sub of unshared) {
      const r = human.au(['mount', 'remove', '-a', agent, sub]);
      assert.match(r.stderr, /^Removed /m, describeResult(r));
    }
    assertNoEntryOutsideShare('after the shares were removed');
  });

  test('A21: the temporary share of au run --lockdown in a sub-folder, raced the same way, grants nothing outside it', async () => {
    const swaps = await race(
      'lockdown',
      (sub) => human.au(['run', '-a', agent, '--lockdown', '--rw-cwd', '--', 'true'], { cwd: sub }),
      () => undefined,
    );
    assert.ok(swaps >= ROUNDS, `the agent swapped ${swaps} entries`);
  });

  test('A27: after au mount remove, a file the agent hard-linked into its own folders is no longer its, or au names the folder it could not look into', () => {
    // Homes are often 755: then the agent reaches ~/proj2 by its path once the share is gone.
    chmodSync(human.home, 0o755);
    const proj2 = `${human.home}/proj2`;
    const setup = human.run([
      'sh',
      '-c',
      'mkdir ~/proj2 && chmod 755 ~/proj2 && echo hidden-secret > ~/proj2/hidden.txt && echo open-secret > ~/proj2/open.txt && chmod 600 ~/proj2/*.txt',
    ]);
    assert.equal(setup.status, 0, setup.stderr);
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', proj2]).status, 0);
    const links = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      'cd ~/proj2 && mkdir mine open && chmod 700 mine && chmod 755 open && ln hidden.txt mine/link && ln open.txt open/link && echo linked',
    ]);
    assert.match(links.stdout, /linked/, `set-up: the agent hard-links the human's files: ${describeResult(links)}`);
    // A folder of the human's own that the human made unlistable (its files inherited the share's ACL).
    assert.equal(human.run(['sh', '-c', 'mkdir ~/proj2/locked && echo x > ~/proj2/locked/f && chmod 300 ~/proj2/locked']).status, 0);
    // The human moves the files somewhere private, then ends the share.
    const move = human.run(['sh', '-c', 'mv ~/proj2/hidden.txt ~/proj2/open.txt ~/private/']);
    assert.equal(move.status, 0, move.stderr);
    const removed = human.au(['mount', 'remove', '-a', agent, proj2]);
    assert.equal(removed.status, 0, removed.stderr);

    assert.doesNotMatch(
      must(['getfacl', '-p', `${proj2}/locked`]),
      new RegExp(`user:${agent}:`),
      "an unlistable folder's own entry is removed",
    );
    assert.match(removed.stderr, new RegExp(`cannot look inside .*${proj2}/locked\\b`), describeResult(removed));
    const attempt = human.au(['run', '-a', agent, '--', 'sh', '-c', `cat ${proj2}/open/link; cat ${proj2}/mine/link`]);
    assert.doesNotMatch(attempt.stdout, /open-secret/, 'a link in a folder the human can list is revoked');
    if (attempt.stdout.includes('hidden-secret')) {
      assert.match(
        removed.stderr,
        new RegExp(`warning: .*cannot look inside .*${proj2}/mine\\b`),
        `au must name the folder it could not revoke in: ${describeResult(removed)}`,
      );
    }
    // Exactly: every file of the human's that still names the agent is linked from a folder au named.
    const named = [...removed.stderr.matchAll(new RegExp(`${proj2}/[^ ,]+`, 'g'))].map((m) => m[0]);
    const reachable = new Set(named.flatMap((dir) => must(['find', dir, '-type', 'f', '-printf', '%i\\n']).split('\n').filter(Boolean)));
    const unrevoked = [...pathsWithEntryOf(agent, human.home)].filter(
      (p) => p !== proj && !p.startsWith(`${proj}/`) && statSync(p).uid === human.uid,
    );
    for (const path of unrevoked)
      assert.ok(
        reachable.has(String(statSync(path).ino)),
        `${path} keeps the agent's entry and au did not report it: ${describeResult(removed)}`,
      );
  });

  test('issue 13: au mount add --rw killed while it sets ACLs leaves a record, and au mount remove then leaves no ACL of the agent', async () => {
    const big = `${human.home}/big`;
    const make = human.run(['bash', '-c', `mkdir ${big} && cd ${big} && mkdir d{1..5000} && touch d{1..5000}/f`]);
    assert.equal(make.status, 0, make.stderr);
    // Killed on its printed step, while the ACLs are being set. Should the kill land after the
    // walk and the final record (a window of microseconds against one of milliseconds), again.
    let recorded: { source: string; pending?: string } | undefined;
    for (let attempt = 0; attempt < 3 && recorded?.pending === undefined; attempt++) {
      if (recorded) assert.equal(human.au(['mount', 'remove', '-a', agent, big]).status, 0);
      const stderr = await addKilledOnStep(big);
      const list = human.au(['mount', 'list', '--json', '-a', agent]);
      recorded = (JSON.parse(list.stdout) as { source: string; pending?: string }[]).find((m) => m.source === big);
      assert.ok(recorded, `killed after its step, the share is recorded: ${list.stdout} (au: ${stderr})`);
    }
    assert.equal(recorded?.pending, 'add', 'the share is recorded as unfinished');
    assert.match(human.au(['mount', 'list', '-a', agent]).stdout, new RegExp(`${big} .*did not finish`));
    const removed = human.au(['mount', 'remove', '-a', agent, big]);
    assert.equal(removed.status, 0, describeResult(removed));
    assert.deepEqual(pathsWithEntryOf(agent, big), [], 'no ACL entry of the agent is left');
    assert.ok(!human.au(['mount', 'list', '-a', agent]).stdout.includes(big));
  });

  test("issue 13: au mount remove of a share in the Python tool's layout removes its group ACLs and setgid, and the files leave su-as-NAME", () => {
    // In au's layout su-as-NAME is the humans' group, none of the agent's: left alone.
    const ours = `${human.home}/ours`;
    assert.equal(
      human.run([
        'sh',
        '-c',
        `mkdir ~/ours && chgrp su-as-${agent} ~/ours && chmod g+s ~/ours && setfacl -m group:su-as-${agent}:rwx ~/ours`,
      ]).status,
      0,
    );
    assert.equal(human.au(['mount', 'add', '-a', agent, ours]).status, 0);
    assert.equal(human.au(['mount', 'remove', '-a', agent, ours]).status, 0);
    assert.match(
      must(['getfacl', '-p', ours]),
      new RegExp(`^group:su-as-${agent}:rwx$`, 'm'),
      "au's layout: the humans' group entry stays",
    );
    assert.ok((statSync(ours).mode & 0o2000) !== 0, "au's layout: the human's setgid stays");

    const py = `${human.home}/pyshare`;
    const group = `su-as-${agent}`;
    assert.equal(human.run(['sh', '-c', 'mkdir -p ~/pyshare/sub && echo a > ~/pyshare/a.txt && echo b > ~/pyshare/sub/b.txt']).status, 0);
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', py]).status, 0);
    // What the Python tool leaves on a share: the folder tree in group su-as-NAME, setgid folders,
    // group:su-as-NAME ACL entries (access and default).
    const python = human.run([
      'sh',
      '-c',
      `chgrp -R ${group} ${py} && find ${py} -type d -exec chmod g+s {} + && find ${py} -type d -exec setfacl -m group:${group}:rwx,default:group:${group}:rwx {} + && find ${py} -type f -exec setfacl -m group:${group}:rw {} +`,
    ]);
    assert.equal(python.status, 0, `set-up: the Python layout: ${describeResult(python)}`);
    assert.match(must(['getfacl', '-p', py]), new RegExp(`^group:${group}:rwx$`, 'm'), 'set-up: group entry');
    assert.ok((statSync(py).mode & 0o2000) !== 0, 'set-up: setgid');

    // The Python tool's agent has su-as-NAME as its primary group (put back after, for au delete).
    must(['usermod', '-g', group, agent]);
    let removed: Result;
    try {
      removed = human.au(['mount', 'remove', '-a', agent, py]);
    } finally {
      must(['usermod', '-g', agent, agent]);
    }
    assert.equal(removed.status, 0, describeResult(removed));
    const humanGid = Number(must(['id', '-g', human.name]).trim());
    for (const path of [py, `${py}/sub`, `${py}/a.txt`, `${py}/sub/b.txt`]) {
      const acl = must(['getfacl', '-p', path]);
      assert.doesNotMatch(acl, new RegExp(`(user:${agent}|group:${group}):`), `${path}: no entry of the agent or its group: ${acl}`);
      assert.equal(statSync(path).gid, humanGid, `${path} is back in the human's group`);
      assert.equal(statSync(path).mode & 0o2000, 0, `${path} has no setgid bit`);
    }
  });
});

describe('setfacl-by-fd does what the setfacl command line it prints does', () => {
  interface Walker {
    aclWalk(
      root: string,
      request: { owner: number; set: { uid: number; perm: number; isDefault: 0 | 1 }[]; remove: number[]; removeGroups: number[] },
    ): { failedCount: number };
  }
  const native = createRequire(import.meta.url)(join(REPO, 'native', 'build', 'Release', 'au_native.node')) as Walker;
  const AGENT = 43_210;
  const HUMAN = 0; // the test runs as root: root plays the human, owner of the tree
  let scratch = '';
  before(() => {
    scratch = mkdtempSync('/var/tmp/aut-aclwalk-');
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** A tree with what a real folder holds: modes, executables, existing ACLs, a FIFO, a symlink, a stranger's files. */
  function makeTree(root: string): void {
    must([
      'sh',
      '-c',
      [
        `mkdir -p ${root}/a/b ${root}/acl ${root}/dflt ${root}/stranger`,
        `echo x > ${root}/a/plain && chmod 644 ${root}/a/plain`,
        `echo x > ${root}/a/tool && chmod 750 ${root}/a/tool`,
        `echo x > ${root}/a/b/private && chmod 600 ${root}/a/b/private`,
        `echo x > ${root}/acl/shared && setfacl -m u:4444:rw,g:4445:r ${root}/acl/shared ${root}/acl`,
        `setfacl -m d:u:4444:rwx ${root}/dflt && echo x > ${root}/dflt/inherits`,
        `mkfifo ${root}/a/fifo && ln -s /etc ${root}/a/link`,
        `echo x > ${root}/stranger/file && chown -R 4446 ${root}/stranger`,
      ].join(' && '),
    ]);
  }

  /** getfacl of every path, with a mask that no named entry needs (same permissions) left out. */
  function acls(root: string): string {
    const out = must(['getfacl', '-R', '-P', '-p', root]).replaceAll(root, 'ROOT');
    return out
      .split('\n\n')
      .map((block) => {
        const lines = block.split('\n');
        const named = (prefix: string) => lines.some((l) => new RegExp(`^${prefix}(user|group):[^:]+:`).test(l));
        return lines
          .filter((l) => !(l.startsWith('mask::') && !named('')) && !(l.startsWith('default:mask::') && !named('default:')))
          .join('\n');
      })
      .sort()
      .join('\n\n');
  }

  test('grant --rw, then remove: the same ACLs as find -P ... -exec setfacl --modify / --remove', () => {
    const byFd = `${scratch}/by-fd`;
    const bySetfacl = `${scratch}/by-setfacl`;
    makeTree(byFd);
    makeTree(bySetfacl);
    const rwX = 4 | 2 | 8;
    let report = native.aclWalk(byFd, {
      owner: HUMAN,
      set: [
        { uid: AGENT, perm: rwX, isDefault: 0 },
        { uid: AGENT, perm: rwX, isDefault: 1 },
        { uid: HUMAN, perm: rwX, isDefault: 1 },
      ],
      remove: [],
      removeGroups: [],
    });
    assert.equal(report.failedCount, 0);
    must([
      'find',
      '-P',
      bySetfacl,
      '-user',
      '0',
      '-type',
      'd',
      '-exec',
      'setfacl',
      '--modify',
      `user:${AGENT}:rwX,default:user:${AGENT}:rwX,default:user:0:rwX`,
      '{}',
      '+',
    ]);
    must(['find', '-P', bySetfacl, '-user', '0', '-type', 'f', '-exec', 'setfacl', '--modify', `user:${AGENT}:rwX`, '{}', '+']);
    assert.equal(acls(byFd).replaceAll('by-fd', 'X'), acls(bySetfacl).replaceAll('by-setfacl', 'X'));
    assert.equal(lstatSync(`${byFd}/a/fifo`).isFIFO() && lstatSync(`${byFd}/a/link`).isSymbolicLink(), true);

    report = native.aclWalk(byFd, { owner: HUMAN, set: [], remove: [AGENT], removeGroups: [] });
    assert.equal(report.failedCount, 0);
    must([
      'find',
      '-P',
      bySetfacl,
      '-user',
      '0',
      '-type',
      'd',
      '-exec',
      'setfacl',
      '--remove',
      `user:${AGENT},default:user:${AGENT}`,
      '{}',
      '+',
    ]);
    must(['find', '-P', bySetfacl, '-user', '0', '-type', 'f', '-exec', 'setfacl', '--remove', `user:${AGENT}`, '{}', '+']);
    assert.equal(acls(byFd).replaceAll('by-fd', 'X'), acls(bySetfacl).replaceAll('by-setfacl', 'X'));
    assert.doesNotMatch(must(['getfacl', '-R', '-P', byFd]), new RegExp(`user:${AGENT}:`));
  });
});
