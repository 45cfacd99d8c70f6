// Adversarial review of review shares (unit level): the risk rules and the symlink-target check
// against what a hostile agent would plant, and what of `au changes`' output reaches a terminal.
// An attack that succeeds is a todo 'ATTACK SUCCEEDS: ...' test (see test/e2e/review-attacks.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { targetLeavesShare } from '../../src/review/changes.js';
import { riskReasons, runsAsYou } from '../../src/review/risky.js';
import { TerminalOutputFilter } from '../../src/terminal/output-filter.js';

const risky = (path: string, extra: Partial<Parameters<typeof riskReasons>[0]> = {}): boolean =>
  riskReasons({ components: path.split('/'), type: 'file', newMode: 0o644, ...extra }).length > 0;

describe('review shares: attacks on the risk rules', () => {
  test('the documented risky paths are flagged at any depth (held)', () => {
    for (const p of [
      '.git/config',
      'sub/.git',
      '.husky/pre-commit',
      '.envrc',
      'a/.envrc',
      '.vscode/tasks.json',
      'Makefile',
      '.bashrc',
      '.npmrc',
      '.github/workflows/ci.yml',
      '.gitattributes',
    ]) {
      assert.ok(risky(p), p);
    }
    assert.ok(risky('x.sh', { oldMode: 0o644, newMode: 0o755 }), 'became executable');
    assert.ok(risky('x', { newMode: 0o4755 }), 'set-uid');
  });

  const UNFLAGGED: [string, string][] = [
    ['.lintstagedrc.json', 'lint-staged config: run by the existing husky pre-commit hook on git commit'],
    ['lint-staged.config.js', 'lint-staged config (JS, loaded by the hook)'],
    ['lefthook.yml', 'lefthook: its installed hooks read this file on every commit'],
    ['.hg/hgrc', 'Mercurial repo config: [hooks] run on hg status (shell prompts run it on cd)'],
    ['.cargo/config.toml', 'cargo: build.rustc-wrapper / target runner, run by rust-analyzer when the folder is opened'],
    ['rust-toolchain.toml', 'rustup toolchain override'],
    ['.pnpmfile.cjs', 'pnpm loads and runs it on install'],
    ['.yarn/releases/yarn-4.0.0.cjs', 'the yarnPath release: every yarn command runs it'],
    ['binding.gyp', 'npm install runs node-gyp rebuild when a binding.gyp exists (gyp actions run commands)'],
    ['gradle/wrapper/gradle-wrapper.properties', 'distributionUrl: the IDE downloads and runs it on import'],
    ['.mvn/extensions.xml', 'maven core extensions load on every build'],
    ['proj.code-workspace', 'VS Code workspace file: tasks with runOn folderOpen'],
    ['.mise.toml', 'mise: env/hooks run on cd'],
    ['.config/git/config', 'git user config when the share is ~ or ~/.config'],
    ['.ssh/authorized_keys', 'when the share is ~: a login as the human'],
    ['.vimrc', 'vim runs it on start (share ~)'],
    ['.gitmodules', 'submodule URLs/update commands'],
  ];
  for (const [path, why] of UNFLAGGED) {
    test(`${path} is flagged risky (${why})`, () => {
      assert.ok(risky(path), path);
    });
  }

  const pkg = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
  for (const [field, value] of [
    ['lint-staged', { '*': 'sh -c evil' }],
    ['husky', { hooks: { 'pre-commit': 'sh -c evil' } }],
    ['simple-git-hooks', { 'pre-commit': 'sh -c evil' }],
    ['gypfile', true],
    ['dependencies', { x: 'git+https://evil.example/x.git' }],
  ] as const) {
    test(`package.json: a change of "${field}" (runs code without touching "scripts") is flagged`, () => {
      const before = pkg({ name: 'p', scripts: { test: 'true' } });
      const after = pkg({ name: 'p', scripts: { test: 'true' }, [field]: value });
      assert.ok(risky('package.json', { oldMode: 0o644, oldContent: before, newContent: after }));
    });
  }

  test('a file --diff shows as binary (invalid UTF-8 in a script comment) is risky; a NUL alone in UTF-8 text is not binary (shown)', () => {
    assert.ok(risky('index.js', { oldMode: 0o644, head: Buffer.from('/*\xff*/ evil()\n', 'latin1') }));
    assert.ok(!risky('index.js', { oldMode: 0o644, head: Buffer.from('/*\0*/ evil()\n') }));
    assert.ok(!risky('notes.md', { oldMode: 0o644, head: Buffer.from('caf\u00e9 \u2014 ok\n') }));
  });

  test("modes that let other users write the human's entries (g+w, o+w added; a new world-writable file) are risky", () => {
    assert.ok(risky('sub', { type: 'directory', oldMode: 0o755, newMode: 0o777 }));
    assert.ok(risky('a.txt', { oldMode: 0o644, newMode: 0o666 }));
    assert.ok(risky('a.txt', { oldMode: 0o644, newMode: 0o664 }));
    assert.ok(risky('new.txt', { newMode: 0o666 }));
    assert.ok(!risky('new.txt', { newMode: 0o664 }), 'a new group-writable file follows a umask of 002');
    assert.ok(!risky('a.txt', { oldMode: 0o664, newMode: 0o664 }));
  });

  test('package.json scripts changed, a duplicate "scripts" key, or one that does not parse: flagged (held)', () => {
    const before = Buffer.from('{"scripts":{"test":"true"}}');
    assert.ok(
      risky('package.json', {
        oldMode: 0o644,
        oldContent: before,
        newContent: Buffer.from('{"scripts":{"test":"true"},"scripts":{"test":"evil"}}'),
      }),
    );
    assert.ok(risky('package.json', { oldMode: 0o644, oldContent: before, newContent: Buffer.from('{"scripts":') }));
  });
});

describe('review shares: code already wired to run', () => {
  // Inherent to a path list: a modified script keeps its mode and is not risky, yet the human's next
  // commit or build runs it. au changes says so in one line whenever such a file is modified.
  test('an existing executable script that an unchanged hook or package.json script runs (scripts/lint.sh called by .husky/pre-commit): au changes notes that modified scripts run as you', () => {
    assert.ok(runsAsYou({ kind: 'modified', type: 'file', path: 'scripts/lint.sh', mode: 0o755 }));
    assert.ok(runsAsYou({ kind: 'modified', type: 'file', path: 'tools/gen.js', mode: 0o644 }));
    assert.ok(runsAsYou({ kind: 'modified', type: 'file', path: 'bin/tool', mode: 0o755 }));
    assert.ok(!runsAsYou({ kind: 'modified', type: 'file', path: 'README.md', mode: 0o644 }));
    assert.ok(!runsAsYou({ kind: 'added', type: 'file', path: 'new.sh', mode: 0o644 }), 'a new file is called from nowhere yet');
  });
});

describe('review shares: attacks on the symlink check', () => {
  test('lexical escapes are refused (held)', () => {
    for (const t of ['/etc', '..', '../x', 'a/../../x', '', 'sub/../../..']) assert.ok(targetLeavesShare(['link'], t), t);
  });
  test('a target through another agent symlink (a -> .): "a/../x" leaves the share but is not refused', () => {
    assert.ok(targetLeavesShare(['keys'], 'a/../.ssh'));
  });
});

describe('review shares: what a terminal does with an unescaped REFUSED text', () => {
  test('cursor-up and erase-line from the agent pass the terminal output filter (why the unescaped target in REFUSED matters)', () => {
    const out = new TerminalOutputFilter({ answerQueries: false }).push(Buffer.from('line\n\x1b[1A\x1b[2K')).toString('latin1');
    assert.match(out, /\x1b\[1A/);
    assert.match(out, /\x1b\[2K/);
  });
});
