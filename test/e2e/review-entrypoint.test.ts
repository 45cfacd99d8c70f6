// Adversarial review of the setuid entrypoint (su_as_agent.c) and the one launch path
// (src/launch/): each test plays the hostile agent (or a hostile argument-passing caller of the
// entrypoint) and asserts that the attack fails. An attack that works is kept, marked todo, and
// described in the review report.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { TRY, describeResult, linesOf, rand } from '../helpers/attempts.js';
import { attackFixture } from '../helpers/fixtures.js';
import { type Human, type Result, must, packageForHumans, sh, uidOf } from '../helpers/system.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Python (agent side): open_tree(OPEN_TREE_CLONE) of each argv path, then looks for each relative candidate in the detached copy. */
const OPEN_TREE_PY = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
cands = sys.argv[1].split(',')
for p in sys.argv[2:]:
    for flags in (1 | 0o2000000, 1 | 0o2000000 | 0x8000):
        fd = libc.syscall(428, -100, p.encode(), flags)
        if fd < 0:
            print('open_tree refused', p, hex(flags), os.strerror(ctypes.get_errno()))
            continue
        for c in cands:
            if os.path.lexists('/proc/self/fd/%d/%s' % (fd, c)):
                print('LEAKED open_tree %s %s: %s' % (p, hex(flags), c))
        os.close(fd)
print('open_tree-done')
`;

describe('review: attacks on the entrypoint and the launch path', () => {
  let human: Human;
  let agent: string;
  let agentHome: string;
  let entrypoint: string;
  const undo = attackFixture((made) => ({ human, agent } = made));
  const asAgent = (script: string, options: { cwd?: string; auArgs?: string[]; env?: string[]; timeoutMs?: number } = {}): Result =>
    human.au(
      ['run', '-a', agent, ...(options.auArgs ?? []), ...(options.env ?? []).flatMap((e) => ['-e', e]), '--', 'bash', '-c', script],
      {
        cwd: options.cwd,
        timeoutMs: options.timeoutMs ?? 60_000,
      },
    );
  /** The human calls the entrypoint directly, with exactly these environment variables. */
  const direct = (env: string[], args: string[], timeoutMs = 30_000): Result =>
    human.run(['env', '-i', ...env, entrypoint, ...args], { timeoutMs });

  /** The verdict of an escape script: no attempt worked and, where the agent has user namespaces, the userns part ran to its end and leaked nothing. */
  const assertNothingLeaked = (r: Result): void => {
    assert.equal(r.status, 0, describeResult(r));
    assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], r.stdout);
    if (/^no-userns$/m.test(r.stdout)) {
      process.stderr.write('no user namespaces for the agent here: the userns part was not tried\n');
      return;
    }
    assert.match(r.stdout, /^userns-done$/m, describeResult(r));
    assert.match(r.stdout, /^open_tree-done$/m, describeResult(r));
    assert.doesNotMatch(r.stdout, /LEAKED/, describeResult(r));
  };

  before(() => {
    agentHome = `/home/${agent}`;
    entrypoint = `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;
    assert.ok(existsSync(entrypoint), 'set-up: the entrypoint is installed');
  });

  test("env: reserved names, bash function exports, newline-smuggled names and the caller's loader variables never set the agent's identity or reach it", () => {
    for (const bad of [
      'AU_ENV_HOME=/root',
      'AU_ENV_XDG_RUNTIME_DIR=/run/user/0',
      'AU_ENV_SHELL=/tmp/x',
      'AU_ENV_BASH_FUNC_id%%=() { echo pwned; }',
      'AU_ENV_A-B=1',
      'AU_ENV_=1',
      'AU_ENV_1X=1',
    ]) {
      const r = direct([bad], ['--', 'true']);
      assert.equal(r.status, 125, `the entrypoint accepted ${JSON.stringify(bad)}\n${describeResult(r)}`);
    }
    const tag = rand();
    const r = direct(
      [
        `AU_ENV_X=a\nHOME=/root\nAU_ENV_HOME=/root`,
        `AU_ENV_Y=${tag}\nXDG_RUNTIME_DIR=/run/user/0`,
        'LD_PRELOAD=/nonexistent/evil.so',
        'LD_LIBRARY_PATH=/nonexistent',
        'GCONV_PATH=/nonexistent',
        'BASH_ENV=/nonexistent/bashenv',
        'ENV=/nonexistent/env',
        'PROMPT_COMMAND=echo pwned',
        'SHELLOPTS=xtrace',
        'LANG=C.UTF-8',
      ],
      ['--', 'python3', '-c', 'import os,json; print(json.dumps(dict(os.environ)))'],
    );
    assert.equal(r.status, 0, describeResult(r));
    const env = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
    assert.equal(env.HOME, agentHome, r.stdout);
    assert.equal(env.USER, agent, r.stdout);
    assert.equal(env.SHELL, '/bin/bash', r.stdout);
    assert.equal(env.XDG_RUNTIME_DIR, `/run/user/${uidOf(agent)}`, r.stdout);
    assert.equal(env.X, 'a\nHOME=/root\nAU_ENV_HOME=/root', 'set-up: the value with newlines is passed as one value');
    for (const name of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'GCONV_PATH', 'BASH_ENV', 'ENV', 'PROMPT_COMMAND', 'SHELLOPTS', 'AU_ENV_X']) {
      assert.equal(env[name], undefined, `${name} of the caller reached the agent`);
    }
  });

  test("private places: from a user namespace, no umount, non-recursive bind or open_tree reveals the host /tmp, /dev/shm or the human's /run/user directory", () => {
    const tag = rand();
    const huid = human.uid;
    const runtime = `/run/user/${huid}`;
    const hadRuntime = existsSync(runtime);
    if (!hadRuntime) {
      mkdirSync(runtime, { recursive: true, mode: 0o755 });
      chownSync(runtime, huid, human.uid);
      must(['chmod', '0755', runtime]);
      undo.push(() => rmSync(runtime, { recursive: true, force: true }));
    }
    const name = `aut-h-${tag}`;
    const files = [`/tmp/${name}`, `/dev/shm/${name}`, `${runtime}/${name}`];
    undo.push(() => {
      for (const f of files) rmSync(f, { force: true });
    });
    for (const f of files) {
      const made = human.run(['sh', '-c', `echo secret > ${f} && chmod 644 ${f}`]);
      assert.equal(made.status, 0, describeResult(made));
      const control = sh(['runuser', '-u', agent, '--', 'cat', f]);
      assert.equal(control.status, 0, `set-up: outside au the agent uid reads ${f}\n${describeResult(control)}`);
    }
    // Relative paths under whatever was bound or cloned where one of the files would appear.
    const cands = [
      `tmp/${name}`,
      `dev/shm/${name}`,
      `run/user/${huid}/${name}`,
      `user/${huid}/${name}`,
      `shm/${name}`,
      `${huid}/${name}`,
      name,
    ];
    const script = [
      TRY,
      ...files.map((f) => `try cat ${f}`),
      'unshare -Urm true 2>/dev/null || { echo no-userns; exit 0; }',
      `unshare -Urm bash -c '
        m=$(mktemp -d -p "$HOME")
        for src in / /run /dev /run/user /tmp /dev/shm /dev/mqueue; do
          if mount --bind $src $m 2>/dev/null; then
            for c in ${cands.join(' ')}; do test -e $m/$c && echo "LEAKED bind $src: $c"; done
            umount $m
          fi
        done
        for p in /tmp /dev/shm /run/user /proc; do umount $p 2>/dev/null || umount -l $p 2>/dev/null; done
        for f in ${files.join(' ')}; do test -e $f && echo "LEAKED umount: $f"; done
        python3 -c "$1" ${cands.join(',')} / /run /dev /run/user /tmp /dev/shm
        echo userns-done' ns "${OPEN_TREE_PY.replaceAll('"', '\\"').replaceAll('$', '\\$')}"`,
    ].join('\n');
    const r = asAgent(script);
    assertNothingLeaked(r);
  });

  test('lockdown: the real home under the throw-away one cannot be reached (umount, non-recursive bind of /home, open_tree)', () => {
    const tag = rand();
    const secret = `aut-secret-${tag}`;
    const made = asAgent(`echo real-home-secret > ~/${secret} && echo made`);
    assert.match(made.stdout, /^made$/m, describeResult(made));
    const repo = `${human.home}/repo-${tag}`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', repo]);
    const cands = [`home/${agent}/${secret}`, `${agent}/${secret}`, secret];
    const script = [
      TRY,
      `try cat ~/${secret}`,
      'unshare -Urm true 2>/dev/null || { echo no-userns; exit 0; }',
      `unshare -Urm bash -c '
        m=$(mktemp -d)
        for src in / /home "$HOME"; do
          if mount --bind $src $m 2>/dev/null; then
            for c in ${cands.join(' ')}; do test -e $m/$c && echo "LEAKED bind $src: $c"; done
            umount $m
          fi
        done
        umount "$HOME" 2>/dev/null || umount -l "$HOME" 2>/dev/null
        test -e "$HOME/${secret}" && echo "LEAKED umount"
        python3 -c "$1" ${cands.join(',')} / /home "$HOME"
        echo userns-done' ns "${OPEN_TREE_PY.replaceAll('"', '\\"').replaceAll('$', '\\$')}"`,
    ].join('\n');
    const r = asAgent(script, { cwd: repo, auArgs: ['--lockdown'] });
    assertNothingLeaked(r);
  });

  test('P1 (pid 1 of the run, the agent uid): the agent cannot ptrace it, read its environ, memory or fds, nor kill it', () => {
    const py = `import ctypes,os; l=ctypes.CDLL(None,use_errno=True); r=l.ptrace(16,1,0,0); print('SUCCEEDED: ptrace attach 1' if r==0 else 'refused: ptrace attach 1 :: '+os.strerror(ctypes.get_errno()))`;
    const r = asAgent(
      [
        TRY,
        'try cat /proc/1/environ',
        'try ls /proc/1/fd',
        'try head -c 16 /proc/1/mem',
        'try cat /proc/1/maps',
        'try cat /proc/1/stack',
        'try ls -l /proc/1/cwd/',
        `python3 -c "${py}"`,
        'kill -KILL 1 2>/dev/null; kill -TERM 1 2>/dev/null; kill -INT 1 2>/dev/null; sleep 0.3',
        'kill -0 1 && echo p1-alive',
        'echo still-running',
      ].join('\n'),
      { env: [`AU_REVIEW_SECRET=sekrit${rand()}`] },
    );
    assert.equal(r.status, 0, describeResult(r));
    assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], r.stdout);
    assert.match(r.stdout, /^p1-alive$/m, r.stdout);
    assert.match(r.stdout, /^still-running$/m, r.stdout);
  });

  /** A listener of the human on an abstract unix socket (X11, D-Bus, containerd-shim-style): sends a secret to whoever connects. */
  function humanAbstractListener(name: string, secret: string): ChildProcess {
    const py = `import socket,os\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0${name}')\ns.listen(4)\nprint('listening',flush=True)\nwhile True:\n  c,_=s.accept(); c.sendall(b'${secret}\\n'); c.close()`;
    const child = spawn('runuser', ['-u', human.name, '--', 'python3', '-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
    undo.push(() => child.kill('SIGKILL'));
    return child;
  }
  const connectAbstract = (name: string): string =>
    `python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0${name}'); print('SUCCEEDED: abstract socket => '+s.recv(100).decode().strip())" 2>&1 | tail -n1`;

  test("abstract unix sockets: the agent cannot reach a service of the human listening in the host's abstract namespace (the private /tmp and a network policy do not cover it)", async () => {
    const name = `aut-h-${rand()}`;
    const secret = `abstract-secret-${rand()}`;
    const listener = humanAbstractListener(name, secret);
    await new Promise<void>((resolve) => listener.stdout?.once('data', () => resolve()));
    const r = asAgent(connectAbstract(name));
    listener.kill('SIGKILL');
    assert.equal(r.status, 0, describeResult(r));
    assert.doesNotMatch(r.stdout, new RegExp(secret), `the agent read the human's service over an abstract socket\n${r.stdout}`);
    assert.match(r.stdout, /PermissionError/, `refused by the run's Landlock scope, not by chance\n${r.stdout}`);
    const own = asAgent(
      `python3 -c "import socket; l=socket.socket(socket.AF_UNIX); l.bind('\\0${name}-own'); l.listen(1); c=socket.socket(socket.AF_UNIX); c.connect('\\0${name}-own'); print('own abstract socket ok')"`,
    );
    assert.match(own.stdout, /^own abstract socket ok$/m, `the run's own abstract sockets work\n${describeResult(own)}`);
  });

  test(
    "abstract unix sockets: the agent cannot squat a name that the human's client then connects to (as X11 clients do with @/tmp/.X11-unix/X<n> before the file socket)",
    {
      todo: 'ATTACK SUCCEEDS (a known limit, docs/spec/THREAT-MODEL.md): the agent binds any free abstract name in the host network namespace; a client of the human connecting to it talks to the agent (Landlock scoping stops connecting out of the run, not being connected to)',
    },
    async () => {
      const name = `aut-squat-${rand()}`;
      const agentRun = spawn(
        'runuser',
        [
          '-u',
          human.name,
          '--',
          'env',
          '-i',
          ...humanAuArgv(),
          'run',
          '-a',
          agent,
          '--',
          'python3',
          '-c',
          `import socket\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0${name}')\ns.listen(1)\nprint('squatting',flush=True)\nc,_=s.accept()\nprint('AGENT GOT: '+c.recv(100).decode(),flush=True)`,
        ],
        { cwd: '/', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      undo.push(() => agentRun.kill('SIGKILL'));
      let out = '';
      agentRun.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 100 && !/squatting/.test(out); i++) await sleep(100);
      assert.match(out, /squatting/, 'set-up: the agent run started');
      const client = human.run([
        'python3',
        '-c',
        `import socket\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect('\\0${name}'); s.sendall(b'human-cookie')\nexcept OSError as e: print('refused', e)`,
      ]);
      for (let i = 0; i < 30 && !/AGENT GOT/.test(out); i++) await sleep(100);
      agentRun.kill('SIGTERM');
      assert.doesNotMatch(
        out,
        /AGENT GOT: human-cookie/,
        `the human's client reached the agent's socket\n${out}\n${describeResult(client)}`,
      );
    },
  );

  test('abstract unix sockets: a lockdown run (its own network namespace) cannot reach them', async () => {
    const name = `aut-h-${rand()}`;
    const secret = `abstract-secret-${rand()}`;
    const listener = humanAbstractListener(name, secret);
    await new Promise<void>((resolve) => listener.stdout?.once('data', () => resolve()));
    const repo = `${human.home}/repo-abs`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', repo]);
    const control = sh(['runuser', '-u', agent, '--', 'bash', '-c', connectAbstract(name)], { cwd: '/' });
    assert.match(control.stdout, new RegExp(secret), `set-up: outside au the agent uid reaches it\n${describeResult(control)}`);
    const r = asAgent(connectAbstract(name), { cwd: repo, auArgs: ['--lockdown'] });
    listener.kill('SIGKILL');
    assert.equal(r.status, 0, describeResult(r));
    assert.doesNotMatch(r.stdout, new RegExp(secret), r.stdout);
  });

  test('lockdown seeding: symlinks (leaf and parent), FIFOs and hardlinks planted in the real home are not followed, do not block, and copy nothing the agent could not read', () => {
    const planted = asAgent(
      [
        'mkdir -p ~/.cfg && echo plain-ok > ~/.cfg/plain',
        'ln -sfn /etc/shadow ~/.cfg/shadow',
        'rm -f ~/.cfg/fifo; mkfifo ~/.cfg/fifo',
        'ln -sfn /etc ~/.cfgl',
        'ln /etc/shadow ~/.cfg/hardlink 2>/dev/null && echo hardlink-made',
        'ln -sfn /proc/1/root ~/.cfg/magic',
        'echo planted',
      ].join('\n'),
    );
    assert.match(planted.stdout, /^planted$/m, describeResult(planted));
    const r = direct(
      ['LANG=C.UTF-8'],
      [
        '--tmp-home',
        '--seed',
        '.cfg',
        '--seed',
        '.cfgl/shadow',
        '--seed',
        '.cfgl',
        '--seed',
        '.cfg/fifo',
        '--seed',
        '.cfg/magic/etc/shadow',
        '--',
        'bash',
        '-c',
        'cd ~ && ls -la . .cfg 2>&1; cat .cfg/* .cfgl/shadow .cfgl 2>&1; echo seeded-run-done',
      ],
      20_000,
    );
    assert.equal(r.status, 0, `the seeded run did not finish (a FIFO blocked it?)\n${describeResult(r)}`);
    assert.match(r.stdout, /^plain-ok$/m, `set-up: a plain file is seeded\n${r.stdout}`);
    assert.match(r.stdout, /^seeded-run-done$/m, r.stdout);
    assert.doesNotMatch(r.stdout, /^root:/m, `/etc/shadow reached the throw-away home\n${r.stdout}`);
  });

  test('network policy fail-closed: a loaded table whose comment only starts with the wanted id does not pass the check', () => {
    const id = `r${rand()}`;
    const table = `au-${agent}`;
    undo.push(() => sh(['nft', 'delete', 'table', 'inet', table]));
    // A policy's runs go into the agent's cgroup v2 that `au net apply` makes: made here the same way.
    const cgroup = `${existsSync('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup'}/agent-as-unix-user/${agent}`;
    must(['mkdir', '-p', cgroup]);
    undo.push(() => sh(['find', cgroup, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']));
    must(['nft', `add table inet ${table} { comment "au-policy:${id}x" ; }`]);
    const r = direct([], ['--net-policy', id, '--', 'true']);
    assert.equal(r.status, 125, `a policy with a longer id was accepted\n${describeResult(r)}`);
    assert.match(r.stderr, /network policy not in force/, r.stderr);
    must(['nft', 'delete', 'table', 'inet', table]);
    must(['nft', `add table inet ${table} { comment "au-policy:${id}" ; }`]);
    const ok = direct([], ['--net-policy', id, '--', 'true']);
    assert.equal(ok.status, 0, `set-up: the exact id is accepted\n${describeResult(ok)}`);
    must(['nft', 'delete', 'table', 'inet', table]);
    const gone = direct([], ['--net-policy', id, '--', 'true']);
    assert.equal(gone.status, 125, `no table, yet the run started\n${describeResult(gone)}`);
  });

  test('.au.toml in a rw share: a FIFO does not hang au run, a symlink to a human file is not followed, a widening file is refused', () => {
    const tag = rand();
    const proj = `${human.home}/proj-${tag}`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', `${proj}/fifo`, `${proj}/link`, `${proj}/widen`, `${proj}/big`]);
    const add = human.au(['mount', 'add', '-a', agent, '--rw', proj]);
    assert.equal(add.status, 0, describeResult(add));
    const target = `${agentHome}/proj-${tag}`;
    const planted = asAgent(
      [
        `mkfifo ${target}/fifo/.au.toml`,
        `ln -s ${human.home}/.config/agent-as-unix-user.toml ${target}/link/.au.toml`,
        `printf 'network = "all"\\nread_only = false\\n' > ${target}/widen/.au.toml`,
        `head -c 200000 /dev/zero | tr '\\0' '#' > ${target}/big/.au.toml`,
        'echo planted',
      ].join('\n'),
    );
    assert.match(planted.stdout, /^planted$/m, describeResult(planted));
    for (const dir of ['fifo', 'link', 'widen', 'big']) {
      const r = human.au(['run', '-a', agent, '--', 'bash', '-c', 'echo agent-started'], { cwd: `${proj}/${dir}`, timeoutMs: 20_000 });
      assert.notEqual(r.status, null, `au run hung on the ${dir} .au.toml\n${describeResult(r)}`);
      assert.notEqual(r.status, 0, `au run accepted the ${dir} .au.toml\n${describeResult(r)}`);
      assert.doesNotMatch(r.stdout, /agent-started/, r.stdout);
      assert.match(r.stderr, /refusing .*\.au\.toml/, `${dir}: ${r.stderr}`);
    }
    const rm = human.au(['mount', 'remove', '-a', agent, proj]);
    assert.equal(rm.status, 0, describeResult(rm));
  });

  test('keyrings outside lockdown: a normal run still keeps keys in its own session keyring (the seccomp filter only refuses request_key there)', () => {
    const tag = rand();
    const r = asAgent(
      `keyctl add user aut-own-${tag} own-value @s >/dev/null && keyctl print $(keyctl search @s user aut-own-${tag}) && keyctl request user aut-own-${tag} 2>&1 | tail -n1`,
    );
    assert.equal(r.status, 0, describeResult(r));
    assert.match(r.stdout, /^own-value$/m, describeResult(r));
    assert.match(r.stdout, /Function not implemented/, `request_key fails with ENOSYS\n${describeResult(r)}`);
  });

  test('request_key upcall: the agent cannot make the kernel run a root helper that resolves names (DNS past the network policy and lockdown) or instantiates keys for it', () => {
    const tag = rand();
    const script = [
      TRY,
      `try keyctl request2 user debug:aut-${tag} payload @s`,
      `try timeout 15 keyctl request2 dns_resolver aut-${tag}.example.com "" @s`,
    ].join('\n');
    const repo = `${human.home}/repo-rk`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', repo]);
    for (const auArgs of [[], ['--lockdown']]) {
      const r = asAgent(script, { cwd: repo, auArgs });
      assert.equal(r.status, 0, describeResult(r));
      assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], `${auArgs.join(' ')}: a root upcall worked for the agent\n${r.stdout}`);
    }
  });

  test("lockdown: the throw-away run cannot read the agent's user or persistent keyring of its normal runs, nor leave keys there for them", () => {
    const tag = rand();
    const stored = asAgent(
      `keyctl add user aut-real-${tag} real-home-token-${tag} @u >/dev/null && keyctl add user aut-pers-${tag} persistent-token-${tag} $(keyctl get_persistent @s) >/dev/null && echo stored`,
    );
    assert.match(stored.stdout, /^stored$/m, `set-up: a normal run stores keys\n${describeResult(stored)}`);
    const repo = `${human.home}/repo-keys`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', repo]);
    const r = asAgent(
      [
        TRY,
        `try sh -c 'keyctl print $(keyctl search @u user aut-real-${tag})'`,
        `try sh -c 'keyctl link @u @s && keyctl print $(keyctl search @u user aut-real-${tag})'`,
        `try sh -c 'keyctl print $(keyctl search $(keyctl get_persistent @s) user aut-pers-${tag})'`,
        `try keyctl add user aut-ldplant-${tag} from-lockdown @u`,
      ].join('\n'),
      { cwd: repo, auArgs: ['--lockdown'] },
    );
    const next = asAgent(
      `keyctl search @u user aut-ldplant-${tag} >/dev/null 2>&1 && echo "SUCCEEDED: the lockdown run's key is in the normal run"; echo next-done`,
    );
    asAgent(`for k in aut-real-${tag} aut-pers-${tag} aut-ldplant-${tag}; do keyctl purge user $k; done >/dev/null 2>&1; true`);
    assert.equal(r.status, 0, describeResult(r));
    assert.match(next.stdout, /next-done/, describeResult(next));
    assert.deepEqual([...linesOf(r.stdout, 'SUCCEEDED'), ...linesOf(next.stdout, 'SUCCEEDED')], [], `${r.stdout}\n${next.stdout}`);
    assert.match(r.stdout, /refused: keyctl add .*Function not implemented/, `refused by the lockdown run's seccomp filter\n${r.stdout}`);
  });

  test("keyrings by name: the agent cannot join the human's named session keyring", () => {
    const tag = rand();
    const ring = `aut-ses-${tag}`;
    const attack = `keyctl get_persistent @s ${human.uid} >/dev/null 2>&1 && echo "SUCCEEDED: the human's persistent keyring"; keyctl session ${ring} sh -c 'keyctl search @s user aut-named-${tag} >/dev/null 2>&1 && echo "SUCCEEDED: joined"; keyctl rdescribe @s; echo joined-checked'`;
    const r = sh(
      [
        'runuser',
        '-u',
        human.name,
        '--',
        'keyctl',
        'session',
        ring,
        'bash',
        '-c',
        `keyctl add user aut-named-${tag} named-secret @s >/dev/null || exit 90; keyctl setperm @s 0x3f3f0000; exec env -i HOME=${human.home} PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"`,
        'x',
        ...humanAuArgv(),
        'run',
        '-a',
        agent,
        '--',
        'bash',
        '-c',
        attack,
      ],
      { cwd: human.home, timeoutMs: 60_000 },
    );
    assert.match(r.stdout, /joined-checked/, describeResult(r));
    assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], r.stdout);
  });

  const humanAuArgv = (): string[] => [process.execPath, join(packageForHumans(), 'bin', 'au')];

  test('/dev/pts: the agent cannot open any terminal of the host, nor make one its controlling tty', () => {
    const py = `import os,fcntl,termios,glob
for p in sorted(glob.glob('/dev/pts/[0-9]*')):
    try:
        fd=os.open(p, os.O_RDWR|os.O_NOCTTY); print('SUCCEEDED: open', p)
        try: fcntl.ioctl(fd, termios.TIOCSCTTY, 0); print('SUCCEEDED: ctty', p)
        except OSError as e: print('refused: ctty', p, ':: ', e)
    except OSError as e: print('refused: open', p, ':: ', e)
print('pts-done')`;
    const holder = spawn('runuser', ['-u', human.name, '--', 'script', '-qfc', 'sleep 30', '/dev/null'], { stdio: 'ignore' });
    undo.push(() => holder.kill('SIGKILL'));
    const r = asAgent(`python3 -c "${py.replaceAll('"', '\\"')}"`);
    holder.kill('SIGKILL');
    assert.match(r.stdout, /^pts-done$/m, describeResult(r));
    assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], r.stdout);
  });

  test('mount target race: another run of the agent swapping the target for a symlink to /etc never gets the share mounted through it', async () => {
    const tag = rand();
    const src = `${human.home}/race-${tag}`;
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', src]);
    must(['runuser', '-u', human.name, '--', 'sh', '-c', `echo share-marker > ${src}/marker`]);
    const add = human.au(['mount', 'add', '-a', agent, src]);
    assert.equal(add.status, 0, describeResult(add));
    const tgt = `${agentHome}/race-${tag}`;
    // The racer: a run of the same agent without that share (so the target is no mount point in
    // its namespace), swapping the target between the directory and a symlink for a few seconds.
    const racer = spawn(
      'runuser',
      [
        '-u',
        human.name,
        '--',
        'env',
        '-i',
        entrypoint,
        '--',
        'bash',
        '-c',
        `mkdir -p ${tgt}; end=$((SECONDS+6)); while [ $SECONDS -lt $end ]; do mv -T ${tgt} ${tgt}.d; ln -sfn /etc ${tgt}.l; mv -T ${tgt}.l ${tgt}; rm -f ${tgt}; mv -T ${tgt}.d ${tgt}; done >/dev/null 2>&1; rm -rf ${tgt}.d ${tgt}.l; echo racer-done`,
      ],
      { cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    undo.push(() => racer.kill('SIGKILL'));
    let racerOut = '';
    racer.stdout?.on('data', (d: Buffer) => (racerOut += d.toString()));
    const racerDone = new Promise<void>((resolve) => racer.once('exit', () => resolve()));
    await sleep(500);
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await new Promise<Result>((resolve) => {
        const c = spawn(
          'runuser',
          [
            '-u',
            human.name,
            '--',
            'env',
            '-i',
            `HOME=${human.home}`,
            'PATH=/usr/bin:/bin',
            ...humanAuArgv(),
            'run',
            '-a',
            agent,
            '--',
            'bash',
            '-c',
            `cat ${tgt}/marker 2>/dev/null; test -e /etc/marker && echo SHARE-ON-ETC; awk '$5 ~ /race-/ || $5 ~ /^\\/etc/ {print "mounted-at", $5}' /proc/self/mountinfo | grep -v '^mounted-at /etc$' ; awk '$5 == "/etc" {print "SHARE-ON-ETC mount"}' /proc/self/mountinfo; true`,
          ],
          { cwd: human.home, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.once('exit', (code) => resolve({ status: code, stdout: out, stderr: err } as Result));
      });
      seen.push(`${r.status}: ${r.stdout.trim().replaceAll('\n', ' ')} | ${r.stderr.trim().split('\n').pop() ?? ''}`);
    }
    await racerDone;
    process.stderr.write(`race outcomes:\n${seen.join('\n')}\n`);
    assert.match(racerOut, /racer-done/, 'set-up: the racer ran');
    for (const line of seen) assert.doesNotMatch(line, /SHARE-ON-ETC|mounted-at (?!\/home\/)/, seen.join('\n'));
    assert.ok(!existsSync('/etc/marker'), 'the share was mounted on the host /etc');
    human.au(['mount', 'remove', '-a', agent, src]);
  });

  test('hostile arguments to the entrypoint (as its caller): every path, seed, number and id outside what it accepts is refused before anything is done', () => {
    const h = human.home;
    const bad: string[][] = [
      ['--seed', '../x', '--', 'true'],
      ['--tmp-home', '--seed', '../x', '--', 'true'],
      ['--tmp-home', '--seed', 'a/../../x', '--', 'true'],
      ['--tmp-home', '--seed', '/etc/shadow', '--', 'true'],
      ['--tmp-home', '--seed', 'a//b', '--', 'true'],
      ['--tmp-home', '--seed', '', '--', 'true'],
      ['--mount-ro', `${h}/x`, `${agentHome}/../../etc`, '--', 'true'],
      ['--mount-ro', `${h}/x`, agentHome, '--', 'true'],
      ['--mount-ro', `${h}/x`, `${agentHome}/`, '--', 'true'],
      ['--mount-ro', `${h}/x`, `${agentHome}x/y`, '--', 'true'],
      ['--mount-ro', h, `${agentHome}/h`, '--', 'true'],
      ['--mount-ro', `${h}/../root`, `${agentHome}/r`, '--', 'true'],
      ['--mount-ro', '/etc', `${agentHome}/etc`, '--', 'true'],
      ['--mount-rw', `${h}x/y`, `${agentHome}/y`, '--', 'true'],
      ['--chdir', 'relative', '--', 'true'],
      ['--memory', '1', '--', 'true'],
      ['--memory', '-1', '--', 'true'],
      ['--memory', '0x100000', '--', 'true'],
      ['--pids', '0', '--', 'true'],
      ['--nofile', '7', '--', 'true'],
      ['--cpu', '100001', '--', 'true'],
      ['--pids', '18446744073709551617', '--', 'true'],
      ['--net-policy', 'a;b', '--', 'true'],
      ['--net-policy', 'A', '--', 'true'],
      ['--net-policy', 'x'.repeat(33), '--', 'true'],
      ['--bogus', '--', 'true'],
      ['--mount-ro', `${h}/x`],
      [],
    ];
    const accepted: string[] = [];
    for (const args of bad) {
      const r = direct([], args);
      if (r.status !== 125) accepted.push(`${JSON.stringify(args)} => ${r.status} ${r.stderr.trim()}`);
    }
    assert.deepEqual(accepted, [], accepted.join('\n'));
  });

  test("another agent of the same human cannot execute this agent's entrypoint", () => {
    const other = human.newAgent();
    const r = sh(['runuser', '-u', other, '--', entrypoint, '--', 'id'], { cwd: '/' });
    assert.notEqual(r.status, 0, describeResult(r));
    assert.doesNotMatch(r.stdout, new RegExp(`uid=\\d+\\(${agent}\\)`), r.stdout);
  });

  test('limits: the agent cannot leave its run cgroup, raise its limits or its RLIMIT_NPROC', () => {
    const set = human.au(['limit', 'set', '-a', agent, '--pids', '300', '--memory', '512M']);
    assert.equal(set.status, 0, describeResult(set));
    try {
      const r = asAgent(
        [
          TRY,
          'if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then cg=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup); mcg=$cg; mem=memory.max; top=/sys/fs/cgroup',
          'else cg=/sys/fs/cgroup/pids$(sed -n "s/^[0-9]*:pids://p" /proc/self/cgroup); mcg=/sys/fs/cgroup/memory$(sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup); mem=memory.limit_in_bytes; top=/sys/fs/cgroup/pids; fi',
          'echo "cgroup: $cg"',
          'for f in cgroup.procs tasks; do try sh -c "echo \\$\\$ > $top/$f"; try sh -c "echo \\$\\$ > $cg/../$f"; try sh -c "echo \\$\\$ > $cg/../../$f"; done',
          'try sh -c "echo max > $cg/pids.max"',
          'try sh -c "echo max > $cg/../pids.max"',
          'try sh -c "echo -1 > $mcg/../$mem"',
          'try sh -c "echo 0 > $cg/../notify_on_release"',
          'try mkdir $cg/escape',
          'try prlimit --pid $$ --nproc=unlimited:unlimited',
          'try prlimit --pid 1 --nproc=unlimited:unlimited',
          'echo "limits: $(cat $cg/../pids.max) $(cat $mcg/../$mem)"',
        ].join('\n'),
      );
      assert.equal(r.status, 0, describeResult(r));
      assert.match(r.stdout, /cgroup: \/sys\/fs\/cgroup\/.*agent-as-unix-user/, `set-up: the run is in the agent's cgroup\n${r.stdout}`);
      assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], r.stdout);
      assert.match(r.stdout, /^limits: 300 536870912$/m, r.stdout);
    } finally {
      human.au(['limit', 'clear', '-a', agent]);
    }
  });
});
