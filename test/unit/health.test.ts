// The one health model (src/agents/health.ts), pure: the decisions au run, au info, au list and
// au doctor share, from facts made up here, without the system.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AgentFacts, type Finding, type SystemFacts, assessAgent, isBroken, reinstallReasons } from '../../src/agents/health.js';
import type { AgentConfig } from '../../src/config/schema.js';
import type { EntrypointFacts, StatFact } from '../../src/entrypoint/verify.js';
import { findingChecks, persistentSysctl } from '../../src/doctor/checks.js';
import type { CgroupSupport } from '../../src/limits/cgroups.js';
import { currentBuildStamp } from '../../src/entrypoint/build-stamp.js';
import { REPO } from '../helpers/system.js';

const PATH = '/usr/local/libexec/agent-as-unix-user/a/su_as_agent';
const BUILD = 'b'.repeat(64);
const SHA = 'c'.repeat(64);
const HUMAN = { name: 'h', uid: 1000 };
const DESTRUCTIVE = /au delete|userdel|groupdel|rm -/;

function agent(extra: Partial<AgentConfig> = {}): AgentConfig {
  return {
    userName: 'a',
    group: 'su-as-a',
    entrypoint: PATH,
    entrypointSha256: SHA,
    entrypointBuild: BUILD,
    bootstrapped: true,
    mounts: [],
    uid: 1234,
    gid: 1234,
    groupGid: 1235,
    extra: {},
    ...extra,
  };
}

const dir = (path: string, extra: Partial<StatFact> = {}): StatFact => ({ path, kind: 'directory', uid: 0, gid: 0, mode: 0o755, ...extra });
const ANCESTORS = [
  '/',
  '/usr',
  '/usr/local',
  '/usr/local/libexec',
  '/usr/local/libexec/agent-as-unix-user',
  '/usr/local/libexec/agent-as-unix-user/a',
];

function entrypoint(extra: Partial<EntrypointFacts> = {}, file: Partial<StatFact> = {}): EntrypointFacts {
  return {
    path: PATH,
    ancestors: ANCESTORS.map((p) => dir(p)),
    file: { path: PATH, kind: 'file', uid: 0, gid: 1235, mode: 0o4750, ...file },
    sha256: SHA,
    ...extra,
  };
}

function system(extra: Partial<SystemFacts> = {}): SystemFacts {
  return {
    userExists: true,
    foreignReasons: [],
    driverGid: 1235,
    humanInDriver: true,
    home: { isDirectory: true, mode: 0o2770, gid: 1235, acl: ['user::rwx', 'default:group:su-as-a:rwx'] },
    missingTools: [],
    limitProblems: [],
    launchProblems: [],
    netState: 'none',
    ...extra,
  };
}

const facts = (extra: Partial<AgentFacts> = {}): AgentFacts => ({
  human: HUMAN,
  entrypoint: entrypoint(),
  currentBuild: BUILD,
  system: system(),
  ...extra,
});
const details = (found: Finding[]): string => found.map((f) => `${f.severity} ${f.area}: ${f.detail} -> ${f.fix}`).join('\n');

test('a sound agent has no finding, for au run (entrypoint only) and for info/list/doctor', () => {
  assert.deepEqual(assessAgent(agent(), facts()), []);
  assert.deepEqual(assessAgent(agent(), facts({ system: undefined })), []);
});

test('right after au new: the shell lacks the group but the database lists the human: healthy', () => {
  // The hash was read through sg (health-facts.ts): the facts are those of a readable file.
  assert.deepEqual(assessAgent(agent(), facts({ system: system({ humanInDriver: true }) })), []);
});

test('an entrypoint unreadable for lack of membership is the membership finding alone, with a non-destructive fix', () => {
  const found = assessAgent(
    agent(),
    facts({ entrypoint: entrypoint({ sha256: undefined, readError: 'EACCES' }), system: system({ humanInDriver: false }) }),
  );
  assert.equal(found.length, 1, details(found));
  assert.equal(found[0]!.area, 'membership');
  assert.equal(found[0]!.fix, 'sudo usermod -aG su-as-a h');
});

test('unreadable while a member is still reported (the hash is unchecked)', () => {
  const found = assessAgent(agent(), facts({ entrypoint: entrypoint({ sha256: undefined, readError: 'EACCES' }) }));
  assert.ok(isBroken(found));
  assert.match(details(found), /cannot read entrypoint .* \(EACCES\) -> au new -a a/);
});

test('an entrypoint from an older au (other stamp, or none recorded) is broken, fixed by au new, for au run too', () => {
  for (const record of [agent({ entrypointBuild: 'old' }), agent({ entrypointBuild: undefined })]) {
    for (const f of [facts(), facts({ system: undefined })]) {
      const found = assessAgent(record, f);
      assert.equal(found.length, 1, details(found));
      assert.match(found[0]!.detail, /built by an older au/);
      assert.equal(found[0]!.fix, 'au new -a a');
      assert.deepEqual(reinstallReasons(record, found), [found[0]!.detail]);
    }
  }
});

test('a changed mode, owner, group or hash is broken; au new reinstalls it; nothing offered destroys the agent', () => {
  const cases: [Partial<EntrypointFacts>, Partial<StatFact>, RegExp][] = [
    [{}, { mode: 0o755 }, /mode 0755, expected 4750/],
    [{}, { uid: 1000 }, /not owned by root/],
    [{}, { gid: 0 }, /has group 0, expected 1235/],
    [{ sha256: 'd'.repeat(64) }, {}, /tampered/],
    [{}, { kind: 'other' }, /not a regular file/],
    [{}, { error: 'ENOENT', kind: undefined }, /missing \(ENOENT\)/],
  ];
  for (const [extra, file, want] of cases) {
    const found = assessAgent(agent(), facts({ entrypoint: entrypoint(extra, file) }));
    assert.ok(isBroken(found), details(found));
    assert.match(details(found), want);
    for (const f of found) assert.doesNotMatch(f.fix, DESTRUCTIVE, details(found));
    assert.ok(reinstallReasons(agent(), found).length > 0);
  }
});

test('an unsafe directory above the entrypoint is fixed there, not by reinstalling', () => {
  const ancestors = ANCESTORS.map((p) => dir(p, p === '/usr/local/libexec' ? { mode: 0o777 } : {}));
  const found = assessAgent(agent(), facts({ entrypoint: { path: PATH, ancestors } }));
  assert.equal(found.length, 1, details(found));
  assert.equal(found[0]!.fix, 'sudo chown root:root /usr/local/libexec && sudo chmod go-w /usr/local/libexec');
  assert.deepEqual(reinstallReasons(agent(), found), []);
});

test('home problems each get their own repair; only a missing account or home offers delete-and-recreate', () => {
  const found = assessAgent(agent(), facts({ system: system({ home: { isDirectory: true, mode: 0o775, gid: 0, acl: [] } }) }));
  assert.deepEqual(
    found.map((f) => f.fix),
    [
      'sudo chmod g+s /home/a',
      'sudo chgrp su-as-a /home/a',
      'sudo chmod o-rwx /home/a',
      'sudo setfacl --modify user:a:rwx,group:su-as-a:rwx,default:user:a:rwx,default:group:su-as-a:rwx /home/a',
    ],
  );
  const gone = assessAgent(agent(), facts({ system: system({ userExists: false }) }));
  assert.match(details(gone), /user a does not exist -> au delete -y -a a && au new -y -a a/);
  assert.deepEqual(
    reinstallReasons(agent(), [...gone, ...assessAgent(agent({ entrypointBuild: 'old' }), facts())]),
    [],
    'nothing to build for a missing account',
  );
});

test('unfinished set-up: one finding, fixed by au new', () => {
  const found = assessAgent(agent({ bootstrapped: false }), facts({ system: undefined, entrypoint: entrypoint({}, { error: 'ENOENT' }) }));
  assert.equal(found.length, 1);
  assert.equal(found[0]!.fix, 'au new -a a');
});

test('network: not loaded is broken, unverifiable is a warning only', () => {
  const net = { policy: 'deny' as const, loopbackPorts: [], allow: [], domains: [] };
  const missing = assessAgent(agent({ net }), facts({ system: system({ netState: 'missing' }) }));
  assert.ok(isBroken(missing));
  assert.equal(missing[0]!.fix, 'au net apply -a a');
  const unknown = assessAgent(agent({ net }), facts({ system: system({ netState: 'unknown' }) }));
  assert.equal(isBroken(unknown), false);
  assert.equal(unknown[0]!.severity, 'warn');
});

test('au doctor lines: one PASS per sound area, FAIL/WARN per finding with its fix', () => {
  const human = { name: 'h', uid: 1000, gid: 1000, home: '/home/h' };
  const cg: CgroupSupport = { version: 2, controllers: ['memory', 'cpu', 'pids'], hierarchies: {} };
  const sound = findingChecks(agent(), [], human, cg, ['agent', 'membership']);
  assert.deepEqual(
    sound.map((c) => [c.status, c.check, c.detail]),
    [
      ['PASS', 'agent a', 'healthy'],
      ['PASS', 'group su-as-a', 'h is a member'],
    ],
  );
  const stale = assessAgent(agent({ entrypointBuild: 'old' }), facts());
  const lines = findingChecks(agent(), stale, human, cg, ['agent']);
  assert.deepEqual(
    lines.map((c) => [c.status, c.fix]),
    [['FAIL', 'au new -a a']],
  );
});

test('sysctl fixes persist across a reboot', () => {
  assert.equal(
    persistentSysctl('sudo ', 'fs.protected_regular', 1),
    "sudo sysctl -w fs.protected_regular=1 && echo 'fs.protected_regular = 1' | sudo tee /etc/sysctl.d/60-au-fs.protected_regular.conf >/dev/null",
  );
});

test('the bundles carry the same entrypoint build stamp as the source computes; au run carries no C source', () => {
  const stamp = currentBuildStamp();
  assert.match(stamp, /^[0-9a-f]{64}$/);
  for (const bundle of ['au.cjs', 'run.cjs'])
    assert.ok(
      readFileSync(join(REPO, 'dist', bundle), 'utf8').includes(`"${stamp}"`),
      `dist/${bundle} is built from this source (node scripts/build.mjs)`,
    );
  assert.doesNotMatch(readFileSync(join(REPO, 'dist', 'run.cjs'), 'utf8'), /#include <|int main\(/);
});

test('a review share whose staging directory the entrypoint would refuse is a launch failure with its fix', () => {
  const problem = {
    source: '/home/h/proj',
    detail: 'staging directory /var/lib/x does not exist',
    fix: 'sudo install -d -o 1 -g 1 -m 0700 /var/lib/x',
  };
  const found = assessAgent(agent(), facts({ system: system({ reviewProblems: [problem] }) }));
  assert.deepEqual(
    found.map((f) => [f.severity, f.area, f.fix]),
    [['fail', 'launch', problem.fix]],
    details(found),
  );
  assert.match(found[0]!.detail, /review share \/home\/h\/proj: staging directory/);
});
