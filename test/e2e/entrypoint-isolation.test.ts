// What each run gets from the entrypoint besides its mounts, tried as the hostile agent on the
// real machine: no kernel keyring of the human (A20), private /var/tmp, /run/lock and
// /dev/mqueue (A26), a runtime directory of its own, SHELL that is bash whatever passwd says;
// share sources opened with the human's filesystem identity; the installed binary hardened.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TRY, describeResult, linesOf, rand } from '../helpers/attempts.js';
import { attackFixture } from '../helpers/fixtures.js';
import { eventually } from '../helpers/session-server.js';
import { type Human, type Result, must, packageForHumans, sh, uidOf } from '../helpers/system.js';

describe('entrypoint: kernel state and per-run places', () => {
  let human: Human;
  let agent: string;
  const undo = attackFixture((made) => ({ human, agent } = made));
  const au = (): string => `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
  /** A shell script as the agent through `au run` (pipes). */
  const asAgent = (script: string): Result => human.au(['run', '-a', agent, '--', 'bash', '-c', script]);

  test("A20: from au run, au run --lockdown and a server session, the agent cannot read, search nor add to the human's session and user keyrings", () => {
    const tag = rand();
    must(['runuser', '-u', human.name, '--', 'mkdir', '-p', `${human.home}/keys-repo`]);
    // Played by the agent: $1 $2 are the human's session and user keyrings, $3 $4 the keys in them.
    const attack = [
      TRY,
      'S=$1 U=$2 KS=$3 KU=$4',
      'for k in $KS $KU; do try keyctl print $k; try keyctl describe $k; done',
      'for r in $S $U; do try keyctl describe $r; try keyctl list $r; try keyctl add user aut-planted planted $r; done',
      'try keyctl search $S user aut-ses-key; try keyctl search $U user aut-usr-key',
      'try keyctl request user aut-ses-key; try keyctl request user aut-usr-key',
      'try keyctl link $KS @s',
      'echo "agent-session-keyring: $(keyctl id @s)"',
    ].join('\n');
    // A real login of the human (pam_keyinit, as runuser -l, su -l and sshd do), in which it
    // stores a key in each keyring, then starts the agent three ways.
    const login = [
      'set -u',
      `ks=$(keyctl add user aut-ses-key ses-secret-${tag} @s) && ku=$(keyctl add user aut-usr-key usr-secret-${tag} @u) || exit 90`,
      's=$(keyctl id @s) u=$(keyctl id @u)',
      'echo "human-keyrings: $s $u"',
      'echo "human-reads: $(keyctl print $ks) $(keyctl print $ku)"',
      `attack=$(cat <<'EOF'\n${attack}\nEOF\n)`,
      'echo "== au run"',
      `${au()} run -a ${agent} -- bash -c "$attack" attack $s $u $ks $ku; echo "exit=$?"`,
      'echo "== au run --lockdown"',
      `(cd ~/keys-repo && ${au()} run -a ${agent} --lockdown -- bash -c "$attack" attack $s $u $ks $ku); echo "exit=$?"`,
      'echo "== server session"',
      `${au()} server run -d -s ~/aut-keys.sock >/dev/null 2>&1 || exit 91`,
      `${au()} attach -s ~/aut-keys.sock -a ${agent} -n keys -- bash -c "$attack" attack $s $u $ks $ku; echo "exit=$?"`,
      'kill "$(cat ~/aut-keys.sock.pid)"',
      'echo "== after"',
      'echo "human-session-keys: $(keyctl rlist @s)"; echo "human-user-keys: $(keyctl rlist @u)"',
      'for k in $(keyctl rlist @s) $(keyctl rlist @u); do echo "human-key: $(keyctl rdescribe $k)"; done',
    ].join('\n');
    const r = sh(['runuser', '-l', human.name, '-c', login], { timeoutMs: 180_000 });
    assert.equal(r.status, 0, describeResult(r));
    assert.match(
      r.stdout,
      new RegExp(`^human-reads: ses-secret-${tag} usr-secret-${tag}$`, 'm'),
      `set-up: the human reads its own keys\n${describeResult(r)}`,
    );
    const [, session, user] = /^human-keyrings: (\d+) (\d+)$/m.exec(r.stdout) ?? [];
    assert.ok(session && user && session !== user, `set-up: the human has a session keyring of its own\n${describeResult(r)}`);

    const sections = r.stdout.split(/^== /m).slice(1);
    assert.deepEqual(
      sections.map((s) => s.split('\n')[0]?.trim()),
      ['au run', 'au run --lockdown', 'server session', 'after'],
    );
    for (const section of sections.slice(0, 3)) {
      const name = section.split('\n')[0];
      if (name?.includes('--lockdown')) {
        // The lockdown run's seccomp filter refuses every keyring call (the uid's keyrings are shared with normal runs).
        assert.match(section, /^agent-session-keyring: $/m, `${name}: the attack ran\n${section}`);
        assert.equal(
          linesOf(section, 'refused').filter((l) => /Function not implemented$/.test(l)).length,
          15,
          `${name}: refused by the filter\n${section}`,
        );
      } else {
        assert.match(section, /agent-session-keyring: \d+/, `${name}: the attack ran\n${section}`);
        const own = /agent-session-keyring: (\d+)/.exec(section)?.[1];
        assert.ok(own !== session && own !== user, `${name}: the agent's session keyring is the human's\n${section}`);
      }
      assert.deepEqual(linesOf(section, 'SUCCEEDED'), [], `${name}: the agent used the human's keyrings\n${section}`);
      assert.equal(linesOf(section, 'refused').length, 15, `${name}:\n${section}`);
      assert.doesNotMatch(section, new RegExp(`(ses|usr)-secret-${tag}`), `${name}: a secret leaked\n${section}`);
    }
    assert.doesNotMatch(sections[3] ?? '', /aut-planted/, `a key planted by the agent is in the human's keyrings\n${r.stdout}`);
    assert.match(
      sections[3] ?? '',
      /human-key: user;\d+;\d+;[0-9a-f]+;aut-ses-key/,
      `set-up: the human's keys are still there\n${r.stdout}`,
    );
  });

  test('A26: /var/tmp, /run/lock and /dev/mqueue are private to each run, both ways; nothing the agent leaves there outlives it', () => {
    if (!existsSync('/dev/mqueue')) {
      // As systemd sets up every host: the test makes the host's shared queue directory.
      mkdirSync('/dev/mqueue');
      undo.push(() => rmdirSync('/dev/mqueue'));
      must(['mount', '-t', 'mqueue', 'mqueue', '/dev/mqueue']);
      undo.push(() => must(['umount', '/dev/mqueue']));
    }
    const tag = rand();
    const places = ['/var/tmp', '/run/lock', '/dev/mqueue'];
    const humanFiles = places.map((p) => `${p}/aut-human-${tag}`);
    const agentFiles = places.map((p) => `${p}/aut-agent-${tag}`);
    undo.push(() => {
      for (const f of [...humanFiles, ...agentFiles]) rmSync(f, { force: true });
    });
    // touch on the mqueue filesystem makes a message queue; reading it shows its state.
    const made = human.run(['sh', '-c', humanFiles.map((f) => `touch ${f} && chmod 644 ${f}`).join(' && ')]);
    assert.equal(made.status, 0, `set-up: the human writes there\n${describeResult(made)}`);
    for (const f of humanFiles) {
      const control = sh(['runuser', '-u', agent, '--', 'cat', f]);
      assert.equal(control.status, 0, `set-up: outside au the agent uid reads ${f}\n${describeResult(control)}`);
    }

    const r = asAgent(
      [
        TRY,
        ...humanFiles.map((f) => `try cat ${f}`),
        ...agentFiles.map((f) => `touch ${f} && ls ${f} >/dev/null && echo "wrote ${f}"`),
      ].join('\n'),
    );
    assert.equal(r.status, 0, describeResult(r));
    assert.deepEqual(linesOf(r.stdout, 'SUCCEEDED'), [], `the agent reached the human's files\n${r.stdout}`);
    const refused = linesOf(r.stdout, 'refused');
    assert.equal(refused.length, places.length, r.stdout);
    for (const line of refused) assert.match(line, /No such file or directory/, line);
    for (const f of agentFiles) {
      assert.match(r.stdout, new RegExp(`^wrote ${f}$`, 'm'), `set-up: the agent writes ${f} in its run`);
      assert.ok(!existsSync(f), `${f}, left by the agent, is in the host's ${f.slice(0, f.lastIndexOf('/'))}`);
    }
    const next = asAgent(
      agentFiles
        .map((f) => `test -e ${f} && echo "still there: ${f}"`)
        .concat('echo checked')
        .join('\n'),
    );
    assert.match(next.stdout, /^checked$/m, describeResult(next));
    assert.doesNotMatch(next.stdout, /still there/, 'what one run left, the next one sees');

    // Unmounting them from a user namespace would reveal the host's: the kernel locks them.
    const userns = asAgent(
      [
        'unshare -Urm true 2>/dev/null || { echo no-userns; exit 0; }',
        `unshare -Urm sh -c 'for p in ${places.join(' ')}; do umount $p || umount -l $p; done 2>/dev/null; for f in ${humanFiles.join(' ')}; do test -e $f && echo "LEAKED $f"; done; echo userns-done'`,
      ].join('\n'),
    );
    if (!/^no-userns$/m.test(userns.stdout)) {
      assert.match(userns.stdout, /^userns-done$/m, describeResult(userns));
      assert.doesNotMatch(userns.stdout, /LEAKED/, describeResult(userns));
    }
  });

  test('each run has its own XDG_RUNTIME_DIR: a tmpfs directory of the agent, 0700, private to the run, gone after it; no lingering', async () => {
    const uid = uidOf(agent);
    const tag = rand();
    const dir = `/run/user/${uid}`;
    const hostHad = existsSync(dir);
    // A first run keeps its runtime directory busy while a second one looks at its own.
    const first = spawn(
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
        'bash',
        '-c',
        `touch "$XDG_RUNTIME_DIR/first-${tag}" && echo ready && { read -r _ || true; }`,
      ],
      { cwd: human.home, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    undo.push(() => first.kill('SIGKILL'));
    let firstOut = '';
    first.stdout.on('data', (d: Buffer) => (firstOut += d.toString()));
    first.stderr.on('data', (d: Buffer) => (firstOut += d.toString()));
    const firstExit = new Promise<number | null>((resolve) => first.once('close', resolve));
    await eventually(
      () => /^ready$/m.test(firstOut),
      () => `the first run started: ${firstOut}`,
    );

    const r = asAgent(
      [
        'echo "dir=$XDG_RUNTIME_DIR"',
        'echo "mode=$(stat -c \'%a %u %g\' "$XDG_RUNTIME_DIR")"',
        'echo "fs=$(findmnt -n -o TARGET,FSTYPE -T "$XDG_RUNTIME_DIR")"',
        "echo \"siblings=$(ls -A /run/user | tr '\\n' ' ')\"",
        'echo "content=$(ls -A "$XDG_RUNTIME_DIR")"',
        `echo left > "$XDG_RUNTIME_DIR/left-${tag}" && echo wrote`,
      ].join('\n'),
    );
    first.stdin.end();
    assert.equal(await firstExit, 0, firstOut);
    assert.equal(r.status, 0, describeResult(r));
    assert.match(r.stdout, new RegExp(`^dir=${dir}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^mode=700 ${uid} ${must(['id', '-g', agent]).trim()}$`, 'm'), 'owned by the agent, 0700');
    assert.match(r.stdout, /^fs=\/run\/user\s+tmpfs$/m, 'a tmpfs of the run');
    assert.match(r.stdout, new RegExp(`^siblings=${uid} $`, 'm'), "no other user's runtime directory is visible");
    assert.match(
      r.stdout,
      /^content=au-browser$/m,
      "the concurrent run's runtime directory is not this run's (only the BROWSER shim every run gets)",
    );
    assert.match(r.stdout, /^wrote$/m);
    assert.ok(!existsSync(`${dir}/left-${tag}`) && !existsSync(`${dir}/first-${tag}`), 'a file of the runtime directory is on the host');
    assert.equal(existsSync(dir), hostHad, 'the run left a runtime directory on the host');
    const next = asAgent(`ls -A "$XDG_RUNTIME_DIR"; echo listed`);
    assert.equal(next.stdout, 'au-browser\nlisted\n', describeResult(next));
    assert.ok(!existsSync(`/var/lib/systemd/linger/${agent}`), 'lingering is enabled for the agent');
  });

  test("SHELL is bash whatever the agent's passwd shell (nologin): the passwd shell is never what runs", () => {
    must(['usermod', '--shell', '/usr/sbin/nologin', agent]);
    try {
      const r = asAgent(
        `echo "passwd-shell=$(getent passwd "$(id -un)" | cut -d: -f7)"; echo "shell=$SHELL"; "$SHELL" -c 'echo via-shell'`,
      );
      assert.equal(r.status, 0, describeResult(r));
      assert.match(r.stdout, /^passwd-shell=\/usr\/sbin\/nologin$/m, 'set-up: the passwd shell is nologin');
      assert.match(r.stdout, /^shell=\/bin\/bash$/m);
      assert.match(r.stdout, /^via-shell$/m);
      const set = human.au(['run', '-a', agent, '-e', 'SHELL=/usr/sbin/nologin', '--', 'true']);
      assert.equal(set.status, 2, `-e cannot set SHELL\n${describeResult(set)}`);
    } finally {
      must(['usermod', '--shell', '/bin/bash', agent]);
    }
  });

  test("a share source is resolved with the caller's filesystem identity: one the human cannot reach is refused, though root could", () => {
    const entrypoint = `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;
    const source = `${human.home}/fence/proj`;
    const made = human.run(['sh', '-c', 'mkdir -p ~/fence/proj && echo behind-the-fence > ~/fence/proj/file && chmod 000 ~/fence']);
    assert.equal(made.status, 0, describeResult(made));
    try {
      assert.notEqual(human.run(['ls', source]).status, 0, 'set-up: the human cannot reach the source');
      assert.equal(must(['cat', `${source}/file`]), 'behind-the-fence\n', 'set-up: root can');
      // The entrypoint called directly, as au would, with a source only root could open.
      const r = human.run([entrypoint, '--mount-ro', source, `/home/${agent}/fenced`, '--', 'cat', `/home/${agent}/fenced/file`]);
      assert.equal(r.status, 125, describeResult(r));
      assert.match(r.stderr, new RegExp(`^su_as_agent: opening mount source ${source}: Permission denied$`, 'm'));
      assert.doesNotMatch(r.stdout, /behind-the-fence/);
    } finally {
      must(['chmod', '755', `${human.home}/fence`]);
    }
  });

  test('the installed entrypoint is hardened: PIE, full RELRO, stack protector, fortified', () => {
    const path = `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;
    assert.match(must(['readelf', '-h', path]), /Type:\s+DYN/, 'PIE');
    assert.match(must(['readelf', '-l', path]), /GNU_RELRO/, 'RELRO');
    assert.match(must(['readelf', '-d', path]), /\(FLAGS\)\s+BIND_NOW|\(FLAGS_1\)\s+Flags: NOW/, 'full RELRO: bound now');
    const symbols = must(['readelf', '--dyn-syms', '-W', path]);
    assert.match(symbols, /__stack_chk_fail/, 'stack protector');
    assert.match(symbols, /__\w+_chk@/, 'fortified calls');
  });

  test('the most variables a run may get (256 -e pairs) all reach the agent, beside the fixed ones', () => {
    const pairs = Array.from({ length: 256 }, (_, i) => ['-e', `AUT_V${i}=${i}`]).flat();
    const r = human.au([
      'run',
      '-a',
      agent,
      ...pairs,
      '--',
      'bash',
      '-c',
      'env | grep -c "^AUT_V"; echo "$AUT_V255 $XDG_RUNTIME_DIR $BROWSER"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^256\n255 \/run\/user\/\d+ \/run\/user\/\d+\/au-browser\n$/);
  });
});
