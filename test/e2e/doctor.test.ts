// au doctor on this very machine: every line must be true, checked against the real values.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { humanWithAgent } from '../helpers/fixtures.js';
import type { Human } from '../helpers/system.js';

interface Check {
  status: 'PASS' | 'WARN' | 'FAIL';
  check: string;
  detail: string;
  fix: string | null;
}

const sysctl = (name: string): string | undefined => {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

describe('au doctor', () => {
  let human: Human;
  let agent: string;
  humanWithAgent((made) => ({ human, agent } = made));

  const doctor = (): { status: number; checks: Check[]; text: string } => {
    const json = human.au(['doctor', '--json']);
    const text = human.au(['doctor']);
    assert.equal(json.status, text.status);
    return { status: json.status, checks: JSON.parse(json.stdout) as Check[], text: text.stdout };
  };
  const find = (checks: Check[], name: string): Check => {
    const c = checks.find((x) => x.check === name);
    assert.ok(c, `a line for ${name}`);
    return c;
  };

  test('every line matches the machine; every WARN/FAIL has its fix; exit 0 without FAIL', () => {
    const { status, checks, text } = doctor();
    assert.equal(status, checks.some((c) => c.status === 'FAIL') ? 1 : 0);
    for (const c of checks) {
      if (c.status === 'PASS') assert.equal(c.fix, null);
      else assert.ok(c.fix && c.fix.length > 0, `${c.check} has a fix`);
      assert.match(text, new RegExp(`^${c.status}  ${c.check.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'));
    }
    for (const name of ['fs.protected_symlinks', 'fs.protected_regular']) {
      const value = sysctl(name)!;
      const c = find(checks, name);
      assert.equal(c.status, Number(value) >= 1 ? 'PASS' : 'WARN');
      assert.match(c.detail, new RegExp(`^${value}`));
      if (c.status === 'WARN')
        assert.equal(c.fix, `sudo sysctl -w ${name}=1 && echo '${name} = 1' | sudo tee /etc/sysctl.d/60-au-${name}.conf >/dev/null`);
    }
    const tiocsti = sysctl('dev.tty.legacy_tiocsti');
    const t = find(checks, 'dev.tty.legacy_tiocsti');
    if (tiocsti === undefined) assert.equal(t.status, 'WARN');
    else assert.equal(t.status, tiocsti === '0' ? 'PASS' : 'WARN');
    const ptrace = sysctl('kernel.yama.ptrace_scope');
    if (ptrace === undefined) assert.ok(!checks.some((c) => c.check === 'kernel.yama.ptrace_scope'), 'no yama line without yama');
    else assert.equal(find(checks, 'kernel.yama.ptrace_scope').status, Number(ptrace) >= 1 ? 'PASS' : 'WARN');
    // Each run has its own pid namespace and /proc: hidepid on the host's /proc changes nothing for agents.
    const hidepid = find(checks, 'proc.hidepid');
    assert.equal(hidepid.status, 'PASS');
    assert.doesNotMatch(hidepid.detail, /see every process/);
    const cgroup = find(checks, 'cgroup');
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    assert.match(cgroup.detail, new RegExp(`^cgroup v${v2 ? 2 : 1}, controllers: `));
    assert.equal(find(checks, 'home').status, 'PASS');
    assert.equal(find(checks, 'cc').status, 'PASS');
    assert.equal(find(checks, 'acl').status, 'PASS');
    assert.equal(find(checks, 'nftables').status, 'PASS');
    assert.equal(find(checks, `agent ${agent}`).status, 'PASS');
    assert.equal(find(checks, `agent ${agent} network`).detail, 'policy allow (no filtering)');
    assert.equal(find(checks, `group su-as-${agent}`).status, 'PASS');
  });

  test('a home readable by others is a FAIL with its fix, and exit 1', () => {
    chmodSync(human.home, 0o755);
    try {
      const { status, checks } = doctor();
      assert.equal(status, 1);
      const home = find(checks, 'home');
      assert.equal(home.status, 'FAIL');
      assert.equal(home.fix, `chmod o-rwx ${human.home}`);
    } finally {
      chmodSync(human.home, 0o750);
    }
  });

  test('limits in force are a PASS with their mechanism; a lost group membership is a FAIL', () => {
    assert.equal(human.au(['limit', 'set', '-a', agent, '--pids', '100']).status, 0);
    const limits = find(doctor().checks, `agent ${agent} limits`);
    assert.equal(limits.status, 'PASS');
    assert.match(limits.detail, /cgroup v[12] \(.*pids.*\) \+ RLIMIT_NPROC/);
    assert.equal(human.run(['sudo', 'gpasswd', '-d', human.name, `su-as-${agent}`]).status, 0);
    try {
      const { status, checks } = doctor();
      assert.equal(status, 1);
      const group = find(checks, `group su-as-${agent}`);
      assert.equal(group.status, 'FAIL');
      assert.equal(group.fix, `sudo usermod -aG su-as-${agent} ${human.name}`);
    } finally {
      human.run(['sudo', 'usermod', '-aG', `su-as-${agent}`, human.name]);
    }
  });
});
