// Resource limits (au limit), end to end on the real cgroups of this machine: the entrypoint
// puts every agent process in a root-owned cgroup of its agent and sets rlimits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { humanWithAgent } from '../helpers/fixtures.js';
import { type Human, packageForHumans, sh } from '../helpers/system.js';

const CG = '/sys/fs/cgroup';
const v2 = existsSync(`${CG}/cgroup.controllers`);
const agentCgroup = (controller: string, agent: string): string =>
  v2 ? `${CG}/agent-as-unix-user/${agent}` : `${CG}/${controller}/agent-as-unix-user/${agent}`;
const agentProcesses = (agent: string): string => sh(['pgrep', '-u', agent, '-a']).stdout.trim();

describe('resource limits (au limit)', () => {
  let human: Human;
  let agent: string;

  humanWithAgent((made) => ({ human, agent } = made));

  test('bad input is one line and exit 2; nothing is stored', () => {
    for (const args of [['--memory', 'lots'], ['--cpu', '0%'], ['--pids', '-3'], ['--nofile', '4'], []]) {
      const r = human.au(['limit', 'set', '-a', agent, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.match(human.au(['limit', 'show', '-a', agent]).stdout, /^memory: unlimited$/m);
  });

  test('--nofile 32 and --pids are seen inside; show and info say what enforces them', () => {
    assert.equal(human.au(['limit', 'set', '-a', agent, '--nofile', '32', '--pids', '64', '--memory', '512M', '--cpu', '150%']).status, 0);
    const show = human.au(['limit', 'show', '-a', agent]);
    assert.match(show.stdout, /^memory: 512M$/m);
    assert.match(show.stdout, /^cpu: 150%$/m);
    assert.match(
      show.stdout,
      new RegExp(`^enforced by: cgroup v${v2 ? 2 : 1} \\(memory, cpu, pids\\) \\+ RLIMIT_NPROC \\+ RLIMIT_NOFILE$`, 'm'),
    );
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 0, info.stdout);
    assert.match(info.stdout, /^ {2}limits: memory 512M, cpu 150%, pids 64, nofile 32 \[cgroup v/m);
    const r = human.au(['run', '-a', agent, '--', 'bash', '-c', 'ulimit -n; ulimit -u; cat /proc/self/cgroup']);
    assert.equal(r.status, 0, r.stderr);
    const [nofile, nproc] = r.stdout.split('\n');
    assert.equal(nofile, '32');
    assert.equal(nproc, '64');
    assert.match(r.stdout, new RegExp(`/agent-as-unix-user/${agent}/run-\\d+$`, 'm'));
    // The kernel has the values, in files the agent cannot write.
    const pids = agentCgroup('pids', agent);
    assert.equal(readFileSync(`${pids}/pids.max`, 'utf8').trim(), '64');
    assert.equal(statSync(`${pids}/pids.max`).uid, 0);
    if (!v2) {
      assert.equal(readFileSync(`${agentCgroup('memory', agent)}/memory.limit_in_bytes`, 'utf8').trim(), String(512 * 2 ** 20));
      assert.equal(readFileSync(`${agentCgroup('cpu', agent)}/cpu.cfs_quota_us`, 'utf8').trim(), '150000');
    }
    const write = human.au(['run', '-a', agent, '--', 'sh', '-c', `echo max > ${pids}/pids.max`]);
    assert.notEqual(write.status, 0, 'the agent must not raise its own limit');
    assert.equal(readFileSync(`${pids}/pids.max`, 'utf8').trim(), '64');
  });

  test('--pids 64: a fork bomb ends with the run, the human keeps working', async () => {
    assert.equal(human.au(['limit', 'set', '-a', agent, '--pids', '64']).status, 0);
    const au = join(packageForHumans(), 'bin', 'au');
    // The shell starts its timer before the bomb, then needs only builtins (no fork is left).
    const bomb = spawn(
      'runuser',
      [
        '-u',
        human.name,
        '--',
        'env',
        '-i',
        `HOME=${human.home}`,
        'PATH=/usr/bin:/bin',
        process.execPath,
        au,
        'run',
        '-a',
        agent,
        '--',
        'bash',
        '-c',
        'sleep 3 & t=$!; b(){ b | b & }; b 2>/dev/null; wait $t; echo survived',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    bomb.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number>((resolve) => bomb.on('close', (code) => resolve(code ?? -1)));
    await new Promise((r) => setTimeout(r, 2000));
    const current = Number(readFileSync(`${agentCgroup('pids', agent)}/pids.current`, 'utf8'));
    // Meanwhile the human can start processes as usual.
    const mine = human.run(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true || exit 1; done; echo fine']);
    assert.equal(mine.stdout, 'fine\n');
    assert.equal(await done, 0);
    assert.equal(out, 'survived\n');
    assert.ok(current > 8 && current <= 64, `at most 64 processes in the agent's cgroup, saw ${current}`);
    // (RLIMIT_NPROC, also 64, usually refuses the forks before the cgroup's pids.max does.)
    assert.equal(agentProcesses(agent), '', 'nothing of the bomb is left');
  });

  test('--memory 64M: allocating 256 MB is killed and reported', () => {
    assert.equal(human.au(['limit', 'set', '-a', agent, '--memory', '64M']).status, 0);
    const r = human.au(['run', '-a', agent, '--', 'python3', '-c', 'b = b"x" * (256 << 20); print("allocated")']);
    assert.equal(r.status, 128 + 9, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /allocated/);
    assert.match(r.stderr, /^su_as_agent: out of memory: a process of the run was killed \(memory limit of \S+: 67108864 bytes\)$/m);
    const ok = human.au(['run', '-a', agent, '--', 'python3', '-c', 'b = b"x" * (16 << 20); print("allocated")']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /out of memory/);
  });

  test('a process that left the process group and session (setsid -f) ends with the run', () => {
    const r = human.au(['run', '-a', agent, '--', 'sh', '-c', 'setsid -f sleep 1000; sleep 0.3; cat /proc/$(pgrep -x sleep)/cgroup']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`/agent-as-unix-user/${agent}/run-\\d+$`, 'm'), 'the escaped process is in the run cgroup');
    assert.equal(agentProcesses(agent), '');
  });

  test('clear: limits gone from the config, the next run is unlimited, the cgroups are removed', () => {
    const clear = human.au(['limit', 'clear', '-a', agent]);
    assert.equal(clear.status, 0, clear.stderr);
    assert.match(clear.stderr, /^\$ sudo rmdir /m);
    assert.match(human.au(['limit', 'show', '-a', agent]).stdout, /^enforced by: none \(no limits set\)$/m);
    const r = human.au(['run', '-a', agent, '--', 'sh', '-c', 'ulimit -n; cat /proc/self/cgroup']);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(r.stdout.split('\n')[0], '32');
    assert.doesNotMatch(r.stdout, /agent-as-unix-user/);
    for (const c of ['memory', 'cpu', 'pids']) assert.ok(!existsSync(agentCgroup(c, agent)), `${c} cgroup removed`);
  });
});
