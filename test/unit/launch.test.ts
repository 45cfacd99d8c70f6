// The one launch path (src/launch/plan.ts), pure: every way across the boundary gets the same
// limits, network policy check, .au.toml narrowing, proxy variables and environment rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentConfig } from '../../src/config/schema.js';
import { MAX_ENV_VARIABLES, MAX_SEEDS, MAX_SHARES, entrypointRefusals, isNormalisedPath } from '../../src/launch/entrypoint-limits.js';
import { visibleText } from '../../src/launch/helper-run.js';
import { type LaunchFacts, LaunchError, type LaunchRequest, planLaunch } from '../../src/launch/plan.js';
import { launchProblems } from '../../src/launch/prepare.js';
import { policyId } from '../../src/net/policy.js';
import { RepoPolicyError } from '../../src/run/repo-policy.js';
import entrypointSource from '../../src/entrypoint/su_as_agent.c';
import { REVIEW_ROOT } from '../../src/review/staging.js';

const HUMAN = { name: 'h', uid: 1000, gid: 1000, home: '/home/h' };
const NET = { policy: 'domains' as const, loopbackPorts: [], allow: [], domains: ['example.com'], proxyPort: 31999 };

function agent(extra: Partial<AgentConfig> = {}): AgentConfig {
  return {
    userName: 'a',
    group: 'su-as-a',
    entrypoint: '/usr/local/libexec/agent-as-unix-user/a/su_as_agent',
    entrypointSha256: 'x',
    bootstrapped: true,
    mounts: [
      { source: '/home/h/repo', target: '/home/a/repo', readOnly: false },
      { source: '/home/h/docs', target: '/home/a/docs', readOnly: true },
    ],
    uid: 1234,
    limits: { memory: 2 ** 28, pids: 64, nofile: 128 },
    net: NET,
    extra: {},
    ...extra,
  };
}

const facts = (extra: Partial<LaunchFacts> = {}): LaunchFacts => ({
  humanHomes: ['/home/h'],
  humanEnv: { LANG: 'C.UTF-8', TERM: 'screen', SECRET: 'no' },
  ...extra,
});
const policy = (extra: Record<string, unknown>) => ({ path: '/home/h/repo/.au.toml', ...extra });

/** Every way across the boundary, as its caller asks for it. */
const WAYS: { name: string; request: (a: AgentConfig) => LaunchRequest; facts?: Partial<LaunchFacts> }[] = [
  {
    name: 'au run',
    request: (a) => ({
      agent: a,
      command: ['make'],
      via: 'login-shell',
      interactive: false,
      cwd: '/home/h/repo',
      shares: 'configured',
      env: [['K', 'v']],
    }),
  },
  {
    name: 'server session',
    request: (a) => ({
      agent: a,
      command: ['bash'],
      via: 'login-shell',
      interactive: true,
      cwd: '/home/h/repo',
      shares: 'configured',
      env: [],
      term: 'xterm-256color',
    }),
  },
  {
    name: 'profile import',
    request: (a) => ({
      agent: a,
      command: ['tar', '--extract', '--file', '-'],
      via: 'program',
      interactive: false,
      cwd: '/home/h/repo',
      shares: 'none',
      env: [],
    }),
  },
  {
    name: 'lockdown',
    request: (a) => ({
      agent: a,
      command: ['make'],
      via: 'login-shell',
      interactive: false,
      cwd: '/home/h/repo',
      shares: 'configured',
      env: [],
      lockdown: { rwCwd: true, network: true, seeds: ['.claude/settings.json'] },
    }),
    facts: { lockdownSource: '/home/h/repo', lockdownTarget: '/home/a/repo' },
  },
];

const options = (args: readonly string[]): string[] => args.slice(0, args.indexOf('--'));
const valueOf = (args: readonly string[], flag: string): string | undefined => {
  const opts = options(args);
  const i = opts.indexOf(flag);
  return i < 0 ? undefined : opts[i + 1];
};

for (const way of WAYS) {
  test(`${way.name}: the agent's limits and network policy id, checked whatever the run`, () => {
    const plan = planLaunch(way.request(agent()), facts(way.facts));
    assert.equal(valueOf(plan.args, '--memory'), String(2 ** 28));
    assert.equal(valueOf(plan.args, '--pids'), '64');
    assert.equal(valueOf(plan.args, '--nofile'), '128');
    assert.equal(valueOf(plan.args, '--net-policy'), policyId(NET, 1234, 0));
    assert.equal(plan.entrypoint, agent().entrypoint);
    // Only LANG, TERM and AU_ENV_* reach the entrypoint; the proxy variables of a domains policy.
    for (const key of Object.keys(plan.env)) assert.match(key, /^(LANG|TERM|AU_ENV_\w+)$/);
    assert.equal(plan.env.LANG, 'C.UTF-8');
    assert.equal(plan.env.AU_ENV_HTTPS_PROXY, 'http://127.0.0.1:31999');
    assert.equal(plan.proxyPort, 31999);
  });

  test(`${way.name}: a repo's .au.toml narrows it (read-only, no network)`, () => {
    const plan = planLaunch(way.request(agent()), facts({ ...way.facts, repoPolicy: policy({ readOnly: true, noNetwork: true }) }));
    assert.ok(options(plan.args).includes('--no-network'));
    assert.ok(!options(plan.args).includes('--mount-rw'), 'no share writable');
    assert.equal(plan.noNetwork, true);
    assert.equal(plan.proxyPort, undefined, 'no proxy without a network');
    assert.equal(plan.env.AU_ENV_HTTPS_PROXY, undefined);
    assert.equal(valueOf(plan.args, '--net-policy'), policyId(NET, 1234, 0), 'the policy is still checked');
  });

  test(`${way.name}: a .au.toml that would add a share is refused (lockdown: it uses no configured share)`, () => {
    const run = (): unknown =>
      planLaunch(way.request(agent()), facts({ ...way.facts, repoPolicy: policy({ shares: ['/home/h/private'] }) }));
    if (way.name === 'lockdown')
      assert.deepEqual((run() as { mounts: unknown }).mounts, [{ source: '/home/h/repo', target: '/home/a/repo', readOnly: false }]);
    else assert.throws(run, RepoPolicyError);
  });

  test(`${way.name}: no network policy, no limits: nothing to check, nothing added`, () => {
    const plan = planLaunch(way.request(agent({ limits: undefined, net: undefined })), facts(way.facts));
    for (const flag of ['--memory', '--pids', '--nofile', '--cpu', '--net-policy']) assert.ok(!options(plan.args).includes(flag), flag);
  });
}

test('au run: configured shares, narrowed to those listed; the working directory follows them', () => {
  const plain = planLaunch(WAYS[0]!.request(agent()), facts());
  assert.equal(
    valueOf(planLaunch(WAYS[0]!.request(agent()), facts({ agentCgroupId: 42 })).args, '--net-policy'),
    policyId(NET, 1234, 42),
    'the policy id names the cgroup the inbound rules match',
  );
  assert.deepEqual(options(plain.args), [
    '--mount-rw',
    '/home/h/repo',
    '/home/a/repo',
    '--mount-ro',
    '/home/h/docs',
    '/home/a/docs',
    '--memory',
    String(2 ** 28),
    '--pids',
    '64',
    '--nofile',
    '128',
    '--net-policy',
    policyId(NET, 1234, 0),
    '--chdir',
    '/home/a/repo',
  ]);
  assert.deepEqual(plain.args.slice(plain.args.indexOf('--')), [
    '--',
    'bash',
    '--login',
    '-c',
    'declare -F -- "$1" >/dev/null && { "$@"; exit; }; exec "$@"',
    'bash',
    'make',
  ]);
  assert.equal(plain.env.AU_ENV_K, 'v');
  assert.equal(plain.env.TERM, 'screen');
  const narrowed = planLaunch(WAYS[0]!.request(agent()), facts({ repoPolicy: policy({ shares: ['/home/h/docs'] }) }));
  assert.deepEqual(narrowed.mounts, [{ source: '/home/h/docs', target: '/home/a/docs', readOnly: true }]);
  assert.equal(narrowed.workdir, '/home/a', 'the repo is no longer shared: the agent home');
});

test('server session: interactive login shell on the server PTY type', () => {
  const plan = planLaunch(WAYS[1]!.request(agent()), facts());
  assert.deepEqual(plan.args.slice(plan.args.indexOf('--')), [
    '--',
    'bash',
    '--login',
    '-i',
    '-c',
    'declare -F -- "$1" >/dev/null && { "$@"; exit; }; exec "$@"',
    'bash',
    'bash',
  ]);
  assert.equal(plan.env.TERM, 'xterm-256color');
});

test('profile import: tar itself (no login shell, so no login file of the agent runs), no share, in the agent home', () => {
  const plan = planLaunch(WAYS[2]!.request(agent()), facts());
  assert.deepEqual(plan.args.slice(plan.args.indexOf('--')), ['--', 'tar', '--extract', '--file', '-']);
  assert.ok(!plan.args.includes('bash'));
  assert.deepEqual(plan.mounts, []);
  assert.equal(plan.workdir, '/home/a');
  assert.throws(() => planLaunch({ ...WAYS[2]!.request(agent()), missingHint: 'x' }, facts()), LaunchError);
});

test('lockdown: the current directory only (temporary unless configured), throw-away home with seeds', () => {
  const configured = planLaunch(WAYS[3]!.request(agent()), facts(WAYS[3]!.facts));
  assert.deepEqual(configured.mounts, [{ source: '/home/h/repo', target: '/home/a/repo', readOnly: false }]);
  assert.deepEqual(configured.temporaryShares, [], 'already configured: its ACLs exist');
  assert.deepEqual(options(configured.args).slice(0, 3), ['--tmp-home', '--seed', '.claude/settings.json']);
  assert.ok(!options(configured.args).includes('--no-network'), '--net keeps the network');
  const other = planLaunch(
    { ...WAYS[3]!.request(agent()), lockdown: { rwCwd: false, network: false, seeds: [] } },
    facts({ lockdownSource: '/home/h/untrusted', lockdownTarget: '/home/a/untrusted' }),
  );
  assert.deepEqual(other.temporaryShares, [{ source: '/home/h/untrusted', target: '/home/a/untrusted', readOnly: true }]);
  assert.equal(other.workdir, '/home/a/untrusted');
  assert.ok(options(other.args).includes('--no-network'));
  assert.throws(() => planLaunch(WAYS[3]!.request(agent()), facts()), LaunchError, 'the share must have been resolved');
});

test("the limits the planner checks are the entrypoint C file's", () => {
  assert.equal(Number(/#define MAX_MOUNTS (\d+)/.exec(entrypointSource)?.[1]), MAX_SHARES);
  assert.equal(MAX_SEEDS, MAX_SHARES, 'seeds share MAX_MOUNTS in the C file');
  assert.equal(Number(/#define MAX_ENV (\d+)/.exec(entrypointSource)?.[1]), MAX_ENV_VARIABLES);
});

test('a config the entrypoint would refuse is refused before it runs, and reported by info/doctor', () => {
  const many = Array.from({ length: MAX_SHARES + 1 }, (_, i) => ({ source: `/home/h/d${i}`, target: `/home/a/d${i}`, readOnly: true }));
  assert.throws(() => planLaunch(WAYS[0]!.request(agent({ mounts: many })), facts()), /at most 64/);
  assert.doesNotThrow(() => planLaunch(WAYS[0]!.request(agent({ mounts: many.slice(0, MAX_SHARES) })), facts()));
  assert.match(launchProblems(agent({ mounts: many }), HUMAN).join('\n'), /65 shares, but one run can mount at most 64/);
  assert.deepEqual(launchProblems(agent(), HUMAN), []);
  const bad = agent({ mounts: [{ source: '/home/other/x', target: '/home/a/../etc', readOnly: true }] });
  const problems = launchProblems(bad, HUMAN).join('\n');
  assert.match(problems, /share source \/home\/other\/x is not a normalised path inside your home/);
  assert.match(problems, /share target \/home\/a\/\.\.\/etc/);
  const env = Array.from({ length: MAX_ENV_VARIABLES + 1 }, (_, i) => [`K${i}`, 'v'] as const);
  assert.throws(
    () => planLaunch({ ...WAYS[0]!.request(agent({ net: undefined })), env }, facts()),
    /\d+ variables for the agent, at most 256/,
  );
  assert.deepEqual(
    entrypointRefusals({ mounts: [], seeds: [], envVariables: 0, workdir: 'rel', humanHomes: ['/home/h'], agentHome: '/home/a' }),
    ['working directory rel is not an absolute path'],
  );
  for (const good of ['/a', '/a/b.c', '/home/h/..x']) assert.ok(isNormalisedPath(good), good);
  for (const bad of ['', 'a', '/a/', '/a//b', '/a/./b', '/a/../b', `/${'x'.repeat(256)}`]) assert.ok(!isNormalisedPath(bad), bad);
});

test('agent output printed by a helper run: printable ASCII only', () => {
  assert.equal(visibleText(Buffer.from('ok\n\x1b]52;c;eA==\x07\\ é')), 'ok\n\\x1b]52;c;eA==\\x07\\x5c \\xc3\\xa9');
});

test("an agent with shares trusts them in git (they are the human's, git would call them dubious); a caller's own git config wins", () => {
  const plan = planLaunch(WAYS[0]!.request(agent({})), facts());
  assert.ok(plan.mounts.length > 0);
  assert.equal(plan.env.AU_ENV_GIT_CONFIG_KEY_0, 'safe.directory');
  assert.equal(plan.env.AU_ENV_GIT_CONFIG_VALUE_0, '*');
  const own = planLaunch({ ...WAYS[0]!.request(agent({})), env: [['GIT_CONFIG_COUNT', '0']] }, facts());
  assert.equal(own.env.AU_ENV_GIT_CONFIG_COUNT, '0');
  assert.equal(own.env.AU_ENV_GIT_CONFIG_KEY_0, undefined);
});

test('--share: folders for this run only, mounted beside the configured ones, narrowed by .au.toml; clashes refused', () => {
  const extra = { source: '/home/h/other', target: '/home/a/other', readOnly: false };
  const plan = planLaunch(WAYS[0]!.request(agent()), facts({ runShares: [extra] }));
  assert.deepEqual(plan.temporaryShares, [extra]);
  assert.ok(plan.mounts.some((m) => m.source === '/home/h/other' && !m.readOnly));
  assert.ok(options(plan.args).join(' ').includes('--mount-rw /home/h/other /home/a/other'));
  const narrowed = planLaunch(
    WAYS[0]!.request(agent()),
    facts({ runShares: [extra], repoPolicy: { path: '/home/h/repo/.au.toml', readOnly: true } }),
  );
  assert.ok(narrowed.temporaryShares[0]!.readOnly, 'read_only = true narrows a run share too');
  const configured = agent().mounts[0]!;
  assert.deepEqual(
    planLaunch(WAYS[0]!.request(agent()), facts({ runShares: [configured] })).temporaryShares,
    [],
    'a configured share keeps its ACLs',
  );
  assert.throws(() => planLaunch(WAYS[0]!.request(agent()), facts({ runShares: [{ ...extra, target: configured.target }] })), /clashes/);
  assert.throws(() => planLaunch(WAYS[3]!.request(agent()), facts({ ...WAYS[3]!.facts, runShares: [extra] })), /--share and --lockdown/);
});

test('a review share crosses every way as --mount-review SRC TGT KEY (read-only when narrowed), never a temporary ACL share', () => {
  const KEY = 'abcdefghij012345';
  const reviewed = agent({ mounts: [{ source: '/home/h/repo', target: '/home/a/repo', readOnly: false, review: KEY }] });
  const spelled = (args: string[]): string[] => args.slice(args.indexOf('--mount-review'), args.indexOf('--mount-review') + 4);
  for (const way of WAYS.filter((w) => w.name !== 'profile import')) {
    const plan = planLaunch(way.request(reviewed), facts(way.facts));
    assert.deepEqual(plan.temporaryShares, [], `${way.name}: no ACL grant`);
    assert.deepEqual(spelled(plan.args), ['--mount-review', '/home/h/repo', '/home/a/repo', KEY], way.name);
    assert.ok(!plan.args.includes('--mount-rw') && !plan.args.includes('--mount-ro'), way.name);
  }
  const narrowed = planLaunch(WAYS[0]!.request(reviewed), facts({ repoPolicy: policy({ readOnly: true }) }));
  assert.ok(options(narrowed.args).includes('--mount-review-ro'), 'a read-only .au.toml mounts the overlay read-only');
  const readOnlyLockdown = planLaunch(
    { ...WAYS[3]!.request(reviewed), lockdown: { rwCwd: false, network: false, seeds: [] } },
    facts(WAYS[3]!.facts),
  );
  assert.ok(options(readOnlyLockdown.args).includes('--mount-review-ro'));
  assert.throws(
    () => planLaunch(WAYS[3]!.request(reviewed), facts({ lockdownSource: '/home/h/repo/sub', lockdownTarget: '/home/a/sub' })),
    /inside the review share/,
  );
  const inside = { source: '/home/h/repo/sub', target: '/home/a/sub', readOnly: false };
  assert.throws(() => planLaunch(WAYS[0]!.request(reviewed), facts({ runShares: [inside] })), /review share/);
  assert.ok(entrypointSource.includes(`#define REVIEW_ROOT "${REVIEW_ROOT}"`), 'the C file and staging.ts name the same root');
});
