// Limits and network policies: parsing, storage, the entrypoint's arguments, the nftables
// ruleset and the proxy's destination check (pure logic, no system).
import { tempDir } from '../helpers/temp.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/schema.js';
import { loadConfig, saveConfig } from '../../src/config/store.js';
import { LimitError, formatLimit, limitArguments, parseCpu, parseCount, parseMemory } from '../../src/limits/limits.js';
import { limitMechanism } from '../../src/limits/cgroups.js';
import {
  NetPolicyError,
  type NetPolicy,
  conntrackMark,
  domainAllowed,
  parseAllowEntry,
  parseDomain,
  policyId,
  renderRuleset,
} from '../../src/net/policy.js';
import { checkDestination } from '../../src/net/proxy.js';
import { entrypointArguments } from '../../src/launch/arguments.js';

test('limit values: sizes, percentages, counts, and their ranges', () => {
  assert.equal(parseMemory('64M'), 64 * 2 ** 20);
  assert.equal(parseMemory('16G'), 16 * 2 ** 30);
  assert.equal(parseMemory('1.5G'), 1.5 * 2 ** 30);
  assert.equal(parseMemory('512MiB'), 512 * 2 ** 20);
  assert.equal(parseMemory('2097152'), 2 ** 21);
  assert.equal(parseCpu('150%'), 150);
  assert.equal(parseCpu('50'), 50);
  assert.equal(parseCount('pids', '512'), 512);
  for (const bad of ['', 'lots', '-1M', '1K', '2P']) assert.throws(() => parseMemory(bad), LimitError, bad);
  for (const bad of ['0%', '1.5', '100001']) assert.throws(() => parseCpu(bad), LimitError, bad);
  assert.throws(() => parseCount('pids', '0'), LimitError);
  assert.throws(() => parseCount('nofile', '4'), LimitError);
  assert.throws(() => parseCount('nofile', '1e3'), LimitError);
  assert.equal(formatLimit('memory', 64 * 2 ** 20), '64M');
  assert.equal(formatLimit('memory', 1.5 * 2 ** 30), '1536M');
  assert.equal(formatLimit('cpu', 150), '150%');
});

test('the entrypoint gets numbers only, before --, and the policy id', () => {
  const args = entrypointArguments({
    mounts: [],
    workdir: '/home/a',
    command: ['true'],
    via: 'login-shell',
    interactive: false,
    limits: { memory: 2 ** 26, pids: 64, nofile: 32 },
    netPolicy: 'abc',
  });
  assert.deepEqual(args.slice(0, args.indexOf('--')), [
    '--memory',
    '67108864',
    '--pids',
    '64',
    '--nofile',
    '32',
    '--net-policy',
    'abc',
    '--chdir',
    '/home/a',
  ]);
  assert.deepEqual(limitArguments(undefined), []);
});

test('limits and the network policy round-trip through the config; bad values are config errors', () => {
  const path = join(tempDir(), 'c.toml');
  writeFileSync(
    path,
    `[[agents]]\nuser_name = "a"\nsu_as_agent_group = "su-as-a"\nentrypoint = "/e"\n[agents.limits]\nmemory = 67108864\npids = 64\n[agents.net]\npolicy = "deny"\nloopback_ports = [8080]\n`,
  );
  const config = loadConfig(path);
  assert.deepEqual(config.agents[0]!.limits, { memory: 67108864, pids: 64 });
  assert.deepEqual(config.agents[0]!.net, { policy: 'deny', loopbackPorts: [8080], allow: [], domains: [] });
  saveConfig(path, config);
  assert.deepEqual(loadConfig(path).agents[0], config.agents[0]);
  writeFileSync(path, readFileSync(path, 'utf8').replace('pids = 64', 'pids = 0'));
  assert.throws(() => loadConfig(path), ConfigError);
  writeFileSync(path, readFileSync(path, 'utf8').replace('pids = 0', 'pids = 1').replace('"deny"', '"open"'));
  assert.throws(() => loadConfig(path), ConfigError);
});

test('mechanism lines', () => {
  const v1 = { version: 1 as const, controllers: ['memory', 'cpu', 'pids'], hierarchies: {} };
  assert.equal(limitMechanism(v1, { memory: 2 ** 30, nofile: 64 }), 'cgroup v1 (memory, cpu, pids) + RLIMIT_NOFILE');
  assert.equal(limitMechanism(v1, undefined), 'none (no limits set)');
  assert.equal(limitMechanism(v1, { nofile: 64 }), 'RLIMIT_NOFILE');
});

test('allowlist entries and domains', () => {
  assert.deepEqual(parseAllowEntry('10.0.0.0/8'), { host: '10.0.0.0/8', family: 4 });
  assert.deepEqual(parseAllowEntry('1.2.3.4:443'), { host: '1.2.3.4', family: 4, port: 443 });
  assert.deepEqual(parseAllowEntry('[2001:db8::1]:443'), { host: '2001:db8::1', family: 6, port: 443 });
  assert.deepEqual(parseAllowEntry('2001:db8::/32'), { host: '2001:db8::/32', family: 6 });
  assert.deepEqual(parseAllowEntry('example.com:80'), { host: 'example.com', family: 'name', port: 80 });
  for (const bad of ['1.2.3.4/33', '1.2.3.4:0', 'a b', '', '1.2.3.4/8/8', 'x;y'])
    assert.throws(() => parseAllowEntry(bad), NetPolicyError, bad);
  assert.equal(parseDomain('Example.COM.'), 'example.com');
  assert.throws(() => parseDomain('bad domain'), NetPolicyError);
  assert.ok(domainAllowed(['example.com'], 'example.com'));
  for (const bad of ['10.0.0.2', '*.0.0.1', 'bücher.de', 'a\u0000.example.com', 'a%00.example.com', '0x7f.1'])
    assert.throws(() => parseDomain(bad), NetPolicyError, bad);
  assert.equal(parseDomain('*.XN--bcher-kva.example.'), '*.xn--bcher-kva.example');
  assert.ok(!domainAllowed(['example.com'], 'api.example.com'));
  assert.ok(domainAllowed(['*.example.com'], 'api.example.com'));
  assert.ok(!domainAllowed(['*.example.com'], 'example.com'));
  assert.ok(!domainAllowed(['*.example.com'], 'badexample.com'));
});

const CG = { nftPath: 'unified/agent-as-unix-user/a', level: 2, id: 77 };

test('the ruleset: only the agent uid, listed loopback ports, counted refusal; the id changes with the policy', () => {
  const deny: NetPolicy = { policy: 'deny', loopbackPorts: [8080], allow: [], domains: [] };
  const rules = renderRuleset('a', 1234, deny, [], CG);
  assert.match(rules, /^ {4}meta skuid 1234 jump agent$/m);
  // Flows are marked with the uid (bits 8-31) only where they are accepted.
  assert.match(rules, /^ {4}fib daddr type local tcp dport \{ 8080 \} ct mark set ct mark and 0x000000ff or 0x0004d200 accept$/m);
  assert.match(rules, /^ {4}fib daddr type local counter name refused reject with icmpx admin-prohibited$/m);
  assert.match(rules, /^ {4}counter name refused reject with icmpx admin-prohibited$/m);
  assert.match(rules, new RegExp(`comment "au-policy:${policyId(deny, 1234, 77)}"`));
  assert.match(policyId(deny, 1234, 77), /^3-[0-9a-z]{1,30}$/, 'an entrypoint without the inbound rules refuses a `-`');
  assert.equal(policyId(deny, 1234, 77), policyId({ ...deny }, 1234, 77));
  assert.notEqual(policyId(deny, 1234, 77), policyId({ ...deny, loopbackPorts: [8081] }, 1234, 77));
  assert.notEqual(policyId(deny, 1234, 77), policyId(deny, 1235, 77));
  assert.notEqual(policyId(deny, 1234, 77), policyId(deny, 1234, 78), 'a cgroup made again is another policy');
  assert.notEqual(policyId(deny, 1234, 77), policyId({ ...deny, listenPorts: [3000] }, 1234, 77));
  const list = renderRuleset(
    'a',
    1,
    { policy: 'allowlist', loopbackPorts: [], allow: ['x'], domains: [] },
    [{ addresses: ['10.0.0.0/8'] }, { addresses: ['::1'], port: 443 }],
    CG,
  );
  assert.match(list, /^ {4}ip daddr 10\.0\.0\.0\/8 ct mark set ct mark and 0x000000ff or 0x00000100 accept$/m);
  assert.match(
    list,
    /^ {4}ip6 daddr ::1 meta l4proto \{ tcp, udp \} th dport 443 ct mark set ct mark and 0x000000ff or 0x00000100 accept$/m,
  );
  const lines = list.split('\n').map((l) => l.trim());
  assert.ok(
    lines.indexOf('fib daddr type local counter name refused reject with icmpx admin-prohibited') <
      lines.findIndex((l) => l.startsWith('ip daddr 10.0.0.0/8')),
    "the machine's own addresses are refused before the allowlist",
  );
  assert.throws(() => renderRuleset('a', 0x1000000, deny, [], CG), NetPolicyError, 'a uid beyond the mark bits');
  assert.equal(conntrackMark(1234), '0x0004d200/0xffffff00');
});

test('the ruleset covers both directions, no DNS of the agent, the proxy at its exact address', () => {
  const domains: NetPolicy = {
    policy: 'domains',
    loopbackPorts: [],
    allow: [],
    domains: ['example.com'],
    proxyPort: 3128,
    listenPorts: [3000],
  };
  const rules = renderRuleset('a', 1234, domains, [], CG);
  const agent = rules.slice(rules.indexOf('chain agent {'), rules.indexOf('chain agent_in {'));
  const lines = agent.split('\n').map((l) => l.trim());
  // Only the agent's own flows pass as established; nothing is marked before the refusals.
  assert.equal(lines[1], 'ct mark and 0xffffff00 == 0x0004d200 accept', agent);
  assert.ok(lines.indexOf('ct state != new counter name refused drop') > 0, agent);
  assert.doesNotMatch(agent, /ct state established|ct direction reply accept/, agent);
  assert.ok(
    lines.indexOf('meta l4proto { tcp, udp } th dport 53 counter name refused reject with icmpx admin-prohibited') <
      lines.indexOf('ip daddr 127.0.0.1 tcp dport 3128 ct mark set ct mark and 0x000000ff or 0x0004d200 accept'),
  );
  assert.ok(
    lines.findIndex((l) => l.includes('ct mark set')) >
      lines.indexOf('meta l4proto { tcp, udp } th dport 53 counter name refused reject with icmpx admin-prohibited'),
    agent,
  );
  assert.doesNotMatch(agent, /127\.0\.0\.0\/8 tcp dport \{ 3128|::1 tcp dport \{ 3128/, 'the proxy port on 127.0.0.1 only');
  assert.match(agent, /^ {4}ct direction reply ip daddr 127\.0\.0\.0\/8 tcp sport \{ 3000 \} accept$/m);
  assert.match(rules, /^ {4}socket cgroupv2 level 2 "unified\/agent-as-unix-user\/a" jump agent_in$/m);
  assert.match(rules, /^ {4}iif lo ip daddr 127\.0\.0\.0\/8 tcp dport \{ 3000 \} accept$/m);
  assert.match(
    rules,
    /chain agent_in \{\n {4}ct mark and 0xffffff00 == 0x0004d200 accept\n(.*\n){2} {4}meta l4proto tcp counter name refused reject with tcp reset\n {4}counter name refused reject with icmpx port-unreachable\n {2}\}/,
  );
});

test('the proxy refuses unlisted names, other ports, and names resolving to loopback unless listed', async () => {
  const policy: NetPolicy = { policy: 'domains', loopbackPorts: [], allow: [], domains: ['localhost'], proxyPort: 1 };
  assert.match(JSON.stringify(await checkDestination(policy, 'example.org', 443)), /not a listed domain/);
  assert.match(JSON.stringify(await checkDestination(policy, 'localhost', 22)), /not HTTP/);
  assert.match(JSON.stringify(await checkDestination(policy, 'localhost', 80)), /loopback/);
  const listed = await checkDestination({ ...policy, allow: ['127.0.0.0/8', '::1'] }, 'localhost', 80);
  assert.ok('address' in listed, JSON.stringify(listed));
});

test("a policy change refuses while the agent has live processes, changes nothing, and forgets the agent's flows by its mark", async () => {
  const { LiveRunsError, forgetFlows, settleLiveRuns } = await import('../../src/net/live-runs.js');
  const { RecordingRunner } = await import('../../src/system/runner.js');
  const runner = new RecordingRunner();
  const live = { userName: 'a', uid: process.getuid!(), extra: {} } as unknown as Parameters<typeof settleLiveRuns>[1];
  assert.throws(
    () => settleLiveRuns(runner, live, false, () => {}),
    (e: unknown) => e instanceof LiveRunsError && /has \d+ live process.*--force/.test(e.message),
  );
  assert.equal(runner.changes.length, 0, 'nothing ended, nothing changed');
  settleLiveRuns(runner, { ...live, uid: 0xfffff0 }, false, () => {});
  assert.equal(runner.changes.length, 0, 'no process: nothing to do');
  forgetFlows(runner, { ...live, uid: 1234 }, () => {});
  const deletes = runner.changes.map((c) => c.filter((a) => !a.includes('/conntrack')).join(' '));
  if (deletes.length) assert.deepEqual(deletes, ['-D -f ipv4 -m 0x0004d200/0xffffff00', '-D -f ipv6 -m 0x0004d200/0xffffff00']);
});
