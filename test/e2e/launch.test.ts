// One launch path, on the real system: every way across the boundary (au run, a session of the
// server, au profile import, au run --lockdown) gets the agent's limits (the entrypoint writes
// them into the agent's root-owned cgroup), the fail-closed network policy check (refused when
// the kernel lost the table) and the repo's .au.toml narrowing (read-only, no network; a file
// that would widen access refused). One table, the same assertions for every row.
import assert from 'node:assert/strict';
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadConfig, saveConfig } from '../../src/config/store.js';
import { type Human, type Result, createHuman, must, removeCgroupsOf, sh } from '../helpers/system.js';

const PIDS = '100';
const NOFILE = '64';

describe('one launch path: the same containment for every way across the boundary', () => {
  let human: Human;
  let agent: string;
  let repo: string;
  let config: string;
  const pidsMax = (): string => {
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const file = v2 ? `/sys/fs/cgroup/agent-as-unix-user/${agent}/pids.max` : `/sys/fs/cgroup/pids/agent-as-unix-user/${agent}/pids.max`;
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'no cgroup';
  };
  const asHuman = (cmd: string): void => {
    const r = human.run(['sh', '-c', cmd]);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  };
  const writeRepoPolicy = (text: string | undefined): void => {
    rmSync(`${repo}/.au.toml`, { force: true });
    if (text === undefined) return;
    writeFileSync(`${repo}/.au.toml`, text);
    chownSync(`${repo}/.au.toml`, human.uid, human.uid);
  };
  /** What the agent reports from inside: its open-files limit, whether the repo is writable, how many network interfaces it has. */
  const PROBE = `echo "nofile=$(ulimit -n)"; if touch probe-$$ 2>/dev/null; then rm -f probe-$$; echo repo=writable; else echo repo=read-only; fi; echo "interfaces=$(grep -c : /proc/net/dev)"; echo ran-ok`;

  interface Way {
    name: string;
    /** Starts the way from the repo; `ran` says whether the agent side did its job. */
    launch(): { result: Result; ran: boolean; inside?: string };
  }
  const shellWay = (name: string, args: (script: string) => string[]): Way => ({
    name,
    launch() {
      const result = human.au(args(PROBE), { cwd: repo });
      // (A session's output comes through the attach client: CRs and its screen-clearing CSI.)
      const inside = result.stdout.replace(/\r|\x1b\[[0-9;?]*[A-Za-z]/g, '');
      return { result, ran: /^ran-ok$/m.test(inside), inside };
    },
  });
  const WAYS: Way[] = [
    shellWay('au run', (script) => ['run', '-a', agent, '--', 'sh', '-c', script]),
    shellWay('server session', (script) => ['attach', '-a', agent, '--', 'sh', '-c', script]),
    // --rw-cwd and --net: only the repo's file can take them away.
    shellWay('au run --lockdown', (script) => ['run', '-a', agent, '--lockdown', '--rw-cwd', '--net', '--', 'sh', '-c', script]),
    {
      name: 'au profile import',
      launch() {
        const marker = `settings-${Math.random().toString(36).slice(2)}`;
        asHuman(`mkdir -p ~/.claude && echo ${marker} > ~/.claude/settings.json`);
        const result = human.au(['profile', 'import', '-a', agent, 'claude'], { cwd: repo });
        const copied = `/home/${agent}/.claude/settings.json`;
        return { result, ran: existsSync(copied) && readFileSync(copied, 'utf8') === `${marker}\n` };
      },
    },
  ];

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    repo = `${human.home}/repo`;
    config = `${human.home}/.config/agent-as-unix-user.toml`;
    asHuman('mkdir -p ~/repo && echo code > ~/repo/file');
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', repo]).status, 0);
    assert.equal(human.au(['limit', 'set', '-a', agent, '--pids', PIDS, '--nofile', NOFILE]).status, 0);
    const server = human.au(['server', 'run', '-d']);
    assert.equal(server.status, 0, server.stderr);
  });
  after(() => {
    const pidFile = `${human.home}/.local/state/agent-as-unix-user/server.sock.pid`;
    if (existsSync(pidFile)) sh(['kill', '-TERM', readFileSync(pidFile, 'utf8').trim()]);
    human.cleanup();
  });

  for (const way of WAYS) {
    test(`${way.name}: runs under the agent's limits`, () => {
      writeRepoPolicy(undefined);
      removeCgroupsOf(agent); // so that only this launch can have written the limits
      assert.equal(pidsMax(), 'no cgroup');
      const { result, ran, inside } = way.launch();
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.ok(ran, `the agent side did its job: ${result.stderr}${result.stdout}`);
      assert.equal(pidsMax(), PIDS, 'the entrypoint wrote the agent limits into its cgroup');
      if (inside !== undefined) {
        assert.match(inside, new RegExp(`^nofile=${NOFILE}$`, 'm'));
        assert.match(inside, /^repo=writable$/m, 'control: the share is writable without .au.toml');
        assert.doesNotMatch(inside, /^interfaces=1$/m, 'control: the network is there without .au.toml');
      }
    });

    test(`${way.name}: the repo's .au.toml narrows it; one that would widen access is refused`, () => {
      writeRepoPolicy('read_only = true\nnetwork = "none"\n');
      const narrowed = way.launch();
      assert.equal(narrowed.result.status, 0, narrowed.result.stderr + narrowed.result.stdout);
      assert.ok(narrowed.ran);
      if (narrowed.inside !== undefined) {
        assert.match(narrowed.inside, /^repo=read-only$/m);
        assert.match(narrowed.inside, /^interfaces=1$/m, 'only its own loopback');
      }
      writeRepoPolicy('network = "open"\n');
      const widened = way.launch();
      assert.notEqual(widened.result.status, 0);
      assert.ok(!widened.ran, 'nothing ran');
      assert.match(widened.result.stderr + widened.result.stdout, /refusing .*\.au\.toml: "network" can only be "none"/);
      writeRepoPolicy(undefined);
    });
  }

  test('every way refuses to start while the network policy is not loaded in the kernel', () => {
    writeRepoPolicy(undefined);
    const set = human.au(['net', 'set', '-a', agent, 'deny']);
    assert.equal(set.status, 0, set.stderr);
    try {
      for (const way of WAYS) {
        const loaded = way.launch();
        assert.ok(loaded.ran, `${way.name}, control: runs with the policy loaded: ${loaded.result.stderr}${loaded.result.stdout}`);
      }
      must(['nft', 'delete', 'table', 'inet', `au-${agent}`]);
      for (const way of WAYS) {
        const { result, ran } = way.launch();
        assert.ok(!ran, `${way.name} ran without its network policy`);
        assert.notEqual(result.status, 0, way.name);
        assert.match(result.stderr + result.stdout, /network policy not in force \(run: au net apply -a /, way.name);
      }
    } finally {
      human.au(['net', 'clear', '-a', agent]);
    }
  });

  test("au profile import runs none of the agent's login files (tar itself, not a login shell)", () => {
    // The hostile agent's login files would run with the human's terminal as stdout/stderr.
    for (const file of ['.profile', '.bash_profile', '.bash_login', '.bashrc']) {
      must(['runuser', '-u', agent, '--', 'sh', '-c', `echo 'touch ~/login-files-ran' > ~/${file}`]);
    }
    const r = human.au(['profile', 'import', '-a', agent, 'claude'], { cwd: repo });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(`/home/${agent}/login-files-ran`), 'a login file of the agent ran');
    // Control: the same files do run for au run (a login shell).
    assert.equal(human.au(['run', '-a', agent, '--', 'true']).status, 0);
    assert.ok(existsSync(`/home/${agent}/login-files-ran`));
    for (const file of ['.profile', '.bash_profile', '.bash_login', '.bashrc', 'login-files-ran'])
      rmSync(`/home/${agent}/${file}`, { force: true });
  });

  test('at most 64 shares: a 65th is refused at mount add; a config with 65 is reported by info and doctor, and au run says why', () => {
    const original = readFileSync(config, 'utf8');
    const dirs = Array.from({ length: 65 }, (_, i) => `${human.home}/many/d${i}`);
    asHuman(`mkdir -p ${dirs.join(' ')}`);
    const withShares = (count: number): void => {
      const parsed = loadConfig(config);
      const entry = parsed.agents.find((a) => a.userName === agent)!;
      entry.mounts = dirs.slice(0, count).map((source, i) => ({ source, target: `/home/${agent}/many/d${i}`, readOnly: true }));
      saveConfig(config, parsed);
      chownSync(config, human.uid, human.uid);
    };
    try {
      withShares(64);
      const run = human.au(['run', '-a', agent, '--', 'sh', '-c', `ls /home/${agent}/many | wc -l`]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), '64', 'the entrypoint takes 64 shares');
      const refused = human.au(['mount', 'add', '-a', agent, dirs[64]!]);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /already has 64 shares, the most one run can mount \(64\)/);
      assert.equal(loadConfig(config).agents.find((a) => a.userName === agent)!.mounts.length, 64, 'nothing recorded');
      assert.doesNotMatch(must(['getfacl', '-p', dirs[64]!]), new RegExp(`user:${agent}:`), 'no ACL set');

      withShares(65); // as a hand edit, or another tool, would leave it
      const info = human.au(['info', '-a', agent]);
      assert.equal(info.status, 1, info.stdout);
      assert.match(info.stdout, /65 shares, but one run can mount at most 64/);
      const doctor = human.au(['doctor']);
      assert.equal(doctor.status, 1);
      assert.match(doctor.stdout, new RegExp(`^FAIL  agent ${agent} launch: .*65 shares`, 'm'));
      const again = human.au(['run', '-a', agent, '--', 'true']);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /65 shares, but one run can mount at most 64: remove some \(au mount remove\)/);
    } finally {
      writeFileSync(config, original);
      chownSync(config, human.uid, human.uid);
    }
  });
});
