// Accepting and discarding staged changes on hand-made STAGE dirs, and the hostile agent's tries
// to make accept write outside SRC (symlinks in upper, a folder swapped for a symlink between
// listing and applying, `..`, a hard link to a file elsewhere).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Selection, acceptChanges, discardChanges } from '../../src/review/accept.js';
import { type OpenLayers, withLayers } from '../../src/review/changes.js';
import { lockStage } from '../../src/review/stage-lock.js';
import { must } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

function layers(): { root: string; src: string; stage: string; upper: string } {
  const root = tempDir('au-accept-');
  const src = join(root, 'src');
  const stage = join(root, 'stage');
  mkdirSync(src);
  mkdirSync(join(stage, 'upper'), { recursive: true });
  mkdirSync(join(stage, 'work'));
  return { root, src, stage, upper: join(stage, 'upper') };
}
const where = (l: { src: string; stage: string }) => ({ stage: l.stage, source: l.src, humanUid: process.getuid!() });
const accept = (l: { src: string; stage: string }, selection: Partial<Selection> = {}) =>
  withLayers(where(l), (open) => acceptChanges(open, { paths: [], includeRisky: false, ...selection }))!;
const remaining = (l: { src: string; stage: string }): string[] => withLayers(where(l), (open) => open.changes.map((c) => c.path)) ?? [];

/** Every entry under DIR: path, type, mode and content (or target): a tree's fingerprint. */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    const rel = prefix + name;
    if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(path)}`);
    else if (st.isDirectory()) out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)}`, ...tree(path, `${rel}/`));
    else out.push(`${rel} ${(st.mode & 0o7777).toString(8)} ${JSON.stringify(readFileSync(path, 'utf8'))}`);
  }
  return out;
}

describe('acceptChanges / discardChanges', () => {
  test('without --include-risky exactly the non-risky changes are applied; the risky stay staged; naming one applies just it', () => {
    const l = layers();
    writeFileSync(join(l.src, 'edit.txt'), 'old\n');
    writeFileSync(join(l.src, 'gone.txt'), 'bye\n');
    writeFileSync(join(l.src, 'moved.txt'), 'moving\n');
    writeFileSync(join(l.src, 'package.json'), '{"scripts":{}}');
    mkdirSync(join(l.upper, 'sub/deeper'), { recursive: true });
    writeFileSync(join(l.upper, 'sub/deeper/new.txt'), 'new\n');
    writeFileSync(join(l.upper, 'edit.txt'), 'new\n');
    must(['mknod', join(l.upper, 'gone.txt'), 'c', '0', '0']);
    must(['mknod', join(l.upper, 'moved.txt'), 'c', '0', '0']);
    writeFileSync(join(l.upper, 'renamed.txt'), 'moving\n');
    mkdirSync(join(l.upper, '.git/hooks'), { recursive: true });
    writeFileSync(join(l.upper, '.git/hooks/pre-commit'), '#!/bin/sh\nevil\n', { mode: 0o755 });
    writeFileSync(join(l.upper, 'package.json'), '{"scripts":{"postinstall":"evil"}}');
    writeFileSync(join(l.upper, 'run.sh'), 'echo\n', { mode: 0o755 });
    writeFileSync(join(l.upper, 'suid'), 'x', { mode: 0o644 });
    must(['chmod', '4755', join(l.upper, 'suid')]);

    const outcome = accept(l);
    assert.deepEqual(outcome.failed, []);
    assert.deepEqual(tree(l.src), [
      'edit.txt 644 "new\\n"',
      'package.json 644 "{\\"scripts\\":{}}"',
      'renamed.txt 644 "moving\\n"',
      'sub/ 755',
      'sub/deeper/ 755',
      'sub/deeper/new.txt 644 "new\\n"',
    ]);
    assert.deepEqual(remaining(l), ['.git', '.git/hooks', '.git/hooks/pre-commit', 'package.json', 'run.sh', 'suid']);
    assert.equal(existsSync(join(l.upper, 'sub')), false, 'accepted entries leave the upper layer');
    assert.equal(existsSync(join(l.upper, 'gone.txt')), false, 'the whiteout is gone with the deletion');

    const named = accept(l, { paths: ['run.sh'] });
    assert.deepEqual(
      named.applied.map((c) => c.path),
      ['run.sh'],
    );
    assert.equal(statSync(join(l.src, 'run.sh')).mode & 0o777, 0o755);
    accept(l, { paths: ['suid'] });
    assert.equal(statSync(join(l.src, 'suid')).mode & 0o7777, 0o755, 'set-uid is dropped');
    assert.deepEqual(remaining(l), ['.git', '.git/hooks', '.git/hooks/pre-commit', 'package.json']);
  });

  test("a conflict keeps the human's version and the agent's staged; the rest is applied", () => {
    const l = layers();
    writeFileSync(join(l.src, 'both.txt'), 'v1\n');
    writeFileSync(join(l.upper, 'both.txt'), 'agent\n');
    writeFileSync(join(l.upper, 'other.txt'), 'agent\n');
    const born = lstatSync(join(l.upper, 'both.txt'), { bigint: true }).birthtimeNs;
    for (let i = 0; lstatSync(join(l.src, 'both.txt'), { bigint: true }).ctimeNs <= born && i < 1e6; i++)
      writeFileSync(join(l.src, 'both.txt'), 'human\n');
    const outcome = accept(l);
    assert.deepEqual(
      outcome.conflicts.map((c) => c.path),
      ['both.txt'],
    );
    assert.equal(readFileSync(join(l.src, 'both.txt'), 'utf8'), 'human\n');
    assert.equal(readFileSync(join(l.src, 'other.txt'), 'utf8'), 'agent\n');
    assert.deepEqual(remaining(l), ['both.txt']);
    accept(l, { paths: ['both.txt'], overwrite: true });
    assert.equal(readFileSync(join(l.src, 'both.txt'), 'utf8'), 'agent\n');
  });

  test('hostile names are applied to the right names', () => {
    const l = layers();
    const names = ['new\nline', '-rf', '--include-risky', 'x'.repeat(255), 'caf\u00e9', 'cafe\u0301', ' lead space', 'back\\slash'];
    for (const name of names) writeFileSync(join(l.upper, name), `content of ${name}`);
    const outcome = accept(l);
    assert.equal(outcome.applied.length, names.length);
    for (const name of names) assert.equal(readFileSync(join(l.src, name), 'utf8'), `content of ${name}`);
    assert.equal(readdirSync(l.src).length, names.length);
  });

  test('attack: a symlinked folder in upper is a symlink change, never walked into; one leading outside is refused', () => {
    const l = layers();
    const outside = join(l.root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'human data\n');
    mkdirSync(join(l.src, 'dir'));
    // The agent's view: dir is a symlink to a folder of the human's elsewhere.
    renameSync(join(l.upper), join(l.root, 'u'));
    mkdirSync(l.upper);
    symlinkSync(outside, join(l.upper, 'dir'));
    symlinkSync('../../outside', join(l.upper, 'rel'));
    const outcome = accept(l, { includeRisky: true });
    assert.deepEqual(outcome.applied, []);
    assert.deepEqual(outcome.refused.map((c) => c.path).sort(), ['dir', 'rel']);
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'human data\n');
    assert.ok(lstatSync(join(l.src, 'dir')).isDirectory());
  });

  test("attack: SRC's folder swapped for a symlink between listing and applying: the write fails, nothing lands outside", () => {
    const l = layers();
    const outside = join(l.root, 'outside');
    mkdirSync(outside);
    mkdirSync(join(l.src, 'dir'));
    writeFileSync(join(l.src, 'dir/file'), 'old');
    mkdirSync(join(l.upper, 'dir'));
    writeFileSync(join(l.upper, 'dir/file'), 'agent');
    writeFileSync(join(l.upper, 'dir/new'), 'agent');
    const outcome = withLayers(where(l), (open: OpenLayers) => {
      renameSync(join(l.src, 'dir'), join(l.root, 'moved-away'));
      symlinkSync(outside, join(l.src, 'dir'));
      return acceptChanges(open, { paths: [], includeRisky: true });
    })!;
    assert.deepEqual(outcome.applied, []);
    assert.equal(outcome.failed.length + outcome.conflicts.length, 2);
    assert.deepEqual(readdirSync(outside), [], 'nothing written through the symlink');
  });

  test("attack: upper's folder swapped for a symlink between listing and applying: not read through", () => {
    const l = layers();
    const outside = join(l.root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'private');
    mkdirSync(join(l.upper, 'dir'));
    writeFileSync(join(l.upper, 'dir/secret'), 'agent');
    const outcome = withLayers(where(l), (open: OpenLayers) => {
      renameSync(join(l.upper, 'dir'), join(l.root, 'gone'));
      symlinkSync(outside, join(l.upper, 'dir'));
      return acceptChanges(open, { paths: [], includeRisky: true });
    })!;
    assert.equal(existsSync(join(l.src, 'dir/secret')), false, 'the file behind the symlink is not copied into SRC');
    assert.match(outcome.failed.map((f) => f.error).join(), /ELOOP|ENOTDIR/);
  });

  test("attack: a hard link in upper to a file of the human's elsewhere is not copied into SRC", () => {
    const l = layers();
    const secret = join(l.root, 'id_ed25519');
    writeFileSync(secret, 'PRIVATE KEY');
    linkSync(secret, join(l.upper, 'notes.txt'));
    const outcome = accept(l, { includeRisky: true, paths: ['notes.txt'] });
    assert.deepEqual(
      outcome.refused.map((c) => c.path),
      ['notes.txt'],
    );
    assert.equal(existsSync(join(l.src, 'notes.txt')), false);
  });

  test('attack: `..` and absolute paths name no change', () => {
    const l = layers();
    writeFileSync(join(l.upper, 'a'), 'x');
    for (const bad of ['../a', '../../etc/passwd', '/etc/passwd', 'a/../../x']) {
      assert.throws(() => accept(l, { paths: [bad] }), /no staged change/);
    }
    assert.deepEqual(readdirSync(l.src), []);
  });

  test('discard: all leaves the upper layer empty; a path drops just that one', () => {
    const l = layers();
    writeFileSync(join(l.src, 'keep'), 'k');
    writeFileSync(join(l.upper, 'a'), 'x');
    writeFileSync(join(l.upper, 'b'), 'x');
    must(['mknod', join(l.upper, 'keep'), 'c', '0', '0']);
    mkdirSync(join(l.upper, 'd/e'), { recursive: true, mode: 0o500 });
    must(['chmod', '0500', join(l.upper, 'd')]);
    withLayers(where(l), (open) => discardChanges(open, ['a']));
    assert.deepEqual(remaining(l), ['b', 'd', 'd/e', 'keep']);
    const result = withLayers(where(l), (open) => discardChanges(open, []))!;
    assert.deepEqual(result.failed, []);
    assert.deepEqual(readdirSync(l.upper), []);
    assert.deepEqual(readdirSync(l.src), ['keep']);
  });

  test('an opaque folder (the agent replaced it): partial accept keeps the view right, full accept leaves nothing staged', () => {
    const l = layers();
    mkdirSync(join(l.src, 'd/sub'), { recursive: true });
    writeFileSync(join(l.src, 'd/old'), 'old');
    writeFileSync(join(l.src, 'd/keep'), 'keep');
    writeFileSync(join(l.src, 'd/sub/gone'), 'gone');
    // rm -rf d; mkdir -p d/sub; the agent writes keep again and a new file.
    mkdirSync(join(l.upper, 'd/sub'), { recursive: true });
    must(['setfattr', '-n', 'user.overlay.opaque', '-v', 'y', join(l.upper, 'd')]);
    writeFileSync(join(l.upper, 'd/keep'), 'keep');
    writeFileSync(join(l.upper, 'd/new'), 'new');
    assert.deepEqual(remaining(l), ['d/new', 'd/old', 'd/sub/gone'], 'below an opaque folder nothing of SRC shows, in subfolders too');

    accept(l, { paths: ['d/new'] });
    assert.equal(readFileSync(join(l.src, 'd/new'), 'utf8'), 'new');
    assert.deepEqual(remaining(l), ['d/old', 'd/sub/gone'], 'the accepted file stays visible to the agent');

    withLayers(where(l), (open) => discardChanges(open, ['d/old']));
    assert.deepEqual(remaining(l), ['d/sub/gone'], "discarding a deletion below an opaque folder brings SRC's file back");
    assert.equal(readFileSync(join(l.upper, 'd/old'), 'utf8'), 'old');

    accept(l);
    assert.deepEqual(tree(l.src), ['d/ 755', 'd/keep 644 "keep"', 'd/new 644 "new"', 'd/old 644 "old"', 'd/sub/ 755']);
    assert.deepEqual(remaining(l), []);
    assert.deepEqual(readdirSync(l.upper), [], 'the folder hides nothing more: made plain and pruned');
  });

  test('lock: refused while a run holds STAGE shared', async () => {
    const l = layers();
    // -o: the lock stays with flock itself, so ending flock releases it.
    const holder = spawn('flock', ['-o', '-s', l.stage, 'sh', '-c', 'echo locked; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      assert.throws(() => lockStage(l.stage, 'bob'), /a run of agent bob is using this share; wait for it to end/);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));
    lockStage(l.stage)();
  });
});
