// The config file as other writers and an unlucky disk leave it: the Python `au` (a real second
// process locking and rewriting the file in place, as that tool does) writing at the same time
// as `au mount add`, a read-only config, a full filesystem under the config.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'smol-toml';
import { humanWithAgent } from '../helpers/fixtures.js';
import { type Human, REPO, must, packageForHumans, sh, uniqueName } from '../helpers/system.js';

// au mount add runs this many times while the Python writer goes on the whole time (it makes
// about ten writes during each au run, several hundred in all, at least PYTHON_ROUNDS).
const ROUNDS = 20;
const PYTHON_ROUNDS = 50;

function humanDir(human: Human, relative: string): string {
  const path = `${human.home}/${relative}`;
  mkdirSync(path, { recursive: true });
  must(['chown', '-R', `${human.name}:${human.name}`, path]);
  return path;
}

interface TomlAgent {
  user_name: string;
  mounts?: { source: string }[];
}
const agentsIn = (path: string): TomlAgent[] => (parse(readFileSync(path, 'utf8')) as { agents?: TomlAgent[] }).agents ?? [];

describe('the config file shared with the Python au', () => {
  let human: Human;
  let agent: string;
  let config: string;

  humanWithAgent((made) => ({ human, agent } = made));
  before(() => {
    config = `${human.home}/.config/agent-as-unix-user.toml`;
  });

  test(`the Python au writing the config all along ${ROUNDS} au mount add: no update is lost`, async () => {
    const sources = Array.from({ length: ROUNDS }, (_, i) => humanDir(human, `race/p${i}`));
    const writer = join(tmpdir(), `aut-pywriter-${process.pid}.py`);
    writeFileSync(writer, readFileSync(join(REPO, 'test/helpers/python-au-writer.py')));
    chmodSync(writer, 0o644);
    const stop = `${writer}.stop`;
    const python = spawn('runuser', ['-u', human.name, '--', 'python3', writer, config, 'py-', stop, String(PYTHON_ROUNDS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pythonOut = '';
    let pythonErrors = '';
    python.stdout.on('data', (chunk: Buffer) => (pythonOut += chunk.toString()));
    python.stderr.on('data', (chunk: Buffer) => (pythonErrors += chunk.toString()));
    const pythonDone = new Promise<number>((resolve) => python.on('exit', (code) => resolve(code ?? 1)));
    let pythonRounds = 0;
    try {
      for (const source of sources) {
        const r = human.au(['mount', 'add', '-a', agent, source]);
        assert.equal(r.status, 0, r.stderr);
      }
      writeFileSync(stop, '');
      assert.equal(await pythonDone, 0, `the Python writer failed (it read a torn file?): ${pythonErrors}`);
      pythonRounds = Number(pythonOut.trim());
    } finally {
      python.kill();
      rmSync(writer, { force: true });
      rmSync(stop, { force: true });
    }
    assert.ok(pythonRounds >= PYTHON_ROUNDS, `the Python writer made ${pythonRounds} writes`);
    const agents = agentsIn(config);
    const names = new Set(agents.map((a) => a.user_name));
    const lost = Array.from({ length: pythonRounds }, (_, i) => `py-${i}`).filter((name) => !names.has(name));
    assert.deepEqual(lost, [], `the Python tool's agents lost (of ${pythonRounds})`);
    const ours = agents.find((a) => a.user_name === agent);
    assert.deepEqual(ours?.mounts?.map((m) => m.source).sort(), [...sources].sort(), 'a share au added was lost');
    // Leave a config au's own cleanup can use.
    writeFileSync(config, readFileSync(config, 'utf8').split('\n\n[[agents]]\nuser_name = "py-')[0] + '\n');
  });

  test('a read-only config is refused before anything changes, with the fix', () => {
    const source = humanDir(human, 'ro-config-share');
    const before = readFileSync(config, 'utf8');
    chmodSync(config, 0o444);
    try {
      const r = human.au(['mount', 'add', '-a', agent, source]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /read-only \(mode 0444\).*chmod u\+w/);
      assert.equal(readFileSync(config, 'utf8'), before);
      assert.doesNotMatch(
        must(['getfacl', '-p', source]),
        new RegExp(`user:${agent}:`),
        'no ACL granted for a share that cannot be recorded',
      );
    } finally {
      chmodSync(config, 0o600);
    }
  });

  test('a full filesystem under the config: au says which file and what to do, and the file stays whole', () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'aut-fullfs-'));
    must(['mount', '-t', 'tmpfs', '-o', `size=64k,mode=0700,uid=${human.uid}`, 'tmpfs', mountPoint]);
    try {
      const small = join(mountPoint, 'agent-as-unix-user.toml');
      writeFileSync(small, readFileSync(config));
      must(['chown', human.name, small]);
      chmodSync(small, 0o600);
      const before = readFileSync(small, 'utf8');
      sh(['dd', 'if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=4k']); // fails when full, as meant
      const source = humanDir(human, 'fullfs-share');
      const r = human.au(['-C', small, 'mount', 'add', '-a', agent, source]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${mountPoint}.*ENOSPC.*disk is full`));
      assert.equal(readFileSync(small, 'utf8'), before, 'the config is whole');
      assert.deepEqual(
        readdirSync(mountPoint).sort(),
        ['agent-as-unix-user.toml', 'agent-as-unix-user.toml.lock', 'filler'],
        'no journal or temp file left',
      );
      rmSync(join(mountPoint, 'filler'));
      const again = human.au(['-C', small, 'mount', 'add', '-a', agent, source]);
      assert.equal(again.status, 0, again.stderr);
      assert.ok(
        agentsIn(small)
          .find((a) => a.user_name === agent)
          ?.mounts?.some((m) => m.source === source),
      );
      assert.ok(existsSync(small));
    } finally {
      sh(['umount', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  test('au net set refuses an IPv6 address node does not parse (:::), exit 2, nothing saved', () => {
    const before = readFileSync(config, 'utf8');
    const r = human.au(['net', 'set', '-a', agent, 'allowlist', '--allow', ':::']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /invalid address ":::"/);
    assert.equal(readFileSync(config, 'utf8'), before);
    const unknown = human.au(['info', '-a', 'aut-nosuchagent']);
    assert.equal(unknown.status, 1, 'an unknown agent is a failure, not a usage error');
  });

  test('au delete removes the traces it can attribute by name: a stray nft table, the proxy process, build folders', async () => {
    const victim = human.newAgent(uniqueName());
    // A table the config no longer lists (a killed `au net clear`, a config the Python tool rewrote).
    must(['nft', 'add', 'table', 'inet', `au-${victim}`]);
    // A domains proxy of the human's still running (its command line as au starts it).
    const proxy = spawn(
      'runuser',
      ['-u', human.name, '--', 'python3', '-c', 'import time; time.sleep(120)', '/opt/au/dist/au.cjs', 'net', 'proxy', '-a', victim],
      { stdio: 'ignore' },
    );
    const proxyGone = new Promise<void>((resolve) => proxy.on('exit', () => resolve()));
    // Build folders left by a killed `au new`: the human's goes, one someone else planted stays.
    const ours = join(tmpdir(), `au-entrypoint-${victim}-Ab12Cd`);
    const planted = join(tmpdir(), `au-entrypoint-${victim}-Zz99Zz`);
    mkdirSync(ours);
    must(['chown', human.name, ours]);
    mkdirSync(planted);
    try {
      const deadline = Date.now() + 10_000;
      while (!sh(['pgrep', '-u', human.name, '-f', `proxy -a ${victim}`]).stdout.trim() && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const r = human.au(['delete', '-y', '-H', '-a', victim]);
      assert.equal(r.status, 0, r.stderr);
      assert.notEqual(sh(['nft', 'list', 'table', 'inet', `au-${victim}`]).status, 0, 'the stray nft table is gone');
      await proxyGone;
      assert.ok(!existsSync(ours), 'the build folder is gone');
      assert.ok(existsSync(planted), 'a folder the human does not own is not touched');
      assert.match(r.stderr, new RegExp(`\\$ rm -rf -- ${ours}`), 'the removal is printed');
    } finally {
      proxy.kill();
      rmSync(ours, { recursive: true, force: true });
      rmSync(planted, { recursive: true, force: true });
      sh(['nft', 'delete', 'table', 'inet', `au-${victim}`]);
    }
  });

  test('a file size limit (EFBIG) under au mount add: the path and the fix are named, the config stays whole', () => {
    const before = readFileSync(config, 'utf8');
    const source = humanDir(human, 'efbig-share');
    const r = human.run([
      'prlimit',
      `--fsize=${Buffer.byteLength(before) + 16}`,
      process.execPath,
      join(packageForHumans(), 'bin', 'au'),
      'mount',
      'add',
      '-a',
      agent,
      source,
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /agent-as-unix-user\.toml.*EFBIG.*ulimit -f/);
    assert.equal(readFileSync(config, 'utf8'), before);
  });
});
