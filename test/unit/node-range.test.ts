import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickNodeRelease, satisfies } from '../../src/profiles/node-range.js';

test('engines.node ranges: the forms packages use, read as npm reads them', () => {
  const cases: [string, string, boolean][] = [
    ['20.20.2', '>=22.0.0', false],
    ['22.0.0', '>=22.0.0', true],
    ['22.23.5', '>=22', true],
    ['18.20.0', '>=18.0.0', true],
    ['20.1.0', '^18 || ^20', true],
    ['21.0.0', '^18 || ^20', false],
    ['20.9.0', '^20.10.0 || >=22', false],
    ['20.10.0', '^20.10.0 || >=22', true],
    ['24.0.0', '>= 20 < 23', false],
    ['22.9.0', '>= 20 < 23', true],
    ['22.9.0', '20.x || 22.x', true],
    ['23.0.0', '~22.1', false],
    ['22.1.9', '~22.1', true],
    ['0.3.1', '^0.2', false],
    ['18.0.0', '18 - 20', true],
    ['20.99.0', '18 - 20', true],
    ['21.0.0', '18 - 20', false],
    ['26.0.0', '*', true],
    ['26.0.0', '', true],
    ['22.0.0', '>21', true],
    ['21.5.0', '>21', false],
    ['21.0.0', '<=20', false],
    ['v22.1.0', '>=v22', true],
  ];
  for (const [version, range, expected] of cases)
    assert.equal(satisfies(version, range), expected, `${version} in ${JSON.stringify(range)}`);
});

test('a range it cannot read is "cannot tell", not a guess', () => {
  assert.equal(satisfies('22.0.0', 'latest'), undefined);
  assert.equal(satisfies('22.0.0', '>=22; rm -rf /'), undefined);
  assert.equal(satisfies('not-a-version', '>=22'), undefined);
  // One readable alternative that holds is enough.
  assert.equal(satisfies('22.0.0', 'garbage || >=22'), true);
});

test('the Node.js release given to the agent: the oldest fitting LTS line, its newest release', () => {
  const available = ['20.20.2', '21.7.3', '22.0.0', '22.23.5', '22.23.3', '23.11.1', '24.4.0', '25.1.0', '26.12.1', '26.0.0-rc.1'];
  assert.equal(pickNodeRelease(available, ['>=22.0.0']), '22.23.5');
  assert.equal(pickNodeRelease(available, ['>=22.0.0', '>=24']), '24.4.0');
  assert.equal(pickNodeRelease(available, ['>=23 <24']), '23.11.1', 'an odd line when only it fits');
  assert.equal(pickNodeRelease(available, ['>=99']), undefined);
  assert.equal(pickNodeRelease(available, ['nonsense']), undefined);
});

test("au install reads the agent's answers strictly: manifests, its Node.js, the installed programs", async () => {
  const { parseManifest, parseAgentNode, parseInstalledPrograms, pinnedSpec, specKind } = await import('../../src/profiles/install.js');
  const { agentProgramChecks } = await import('../../src/doctor/agent-programs.js');
  const { BUILTIN_PROFILES } = await import('../../src/profiles/builtin.js');
  const manifest = parseManifest(
    '{\n  "name": "@anthropic-ai/claude-code",\n  "version": "2.1.332",\n  "engines": { "node": ">=22.0.0" }\n}\n',
  );
  assert.deepEqual(manifest, { name: '@anthropic-ai/claude-code', version: '2.1.332', node: '>=22.0.0' });
  assert.equal(
    pinnedSpec('@anthropic-ai/claude-code', manifest),
    '@anthropic-ai/claude-code@2.1.332',
    'the release checked is the release installed',
  );
  assert.equal(pinnedSpec('/opt/x/standin.tgz', manifest), '/opt/x/standin.tgz');
  assert.equal(
    parseManifest('{"name":"x","version":"1.0.0","engines":{"node":">=22\\u001b[2J"}}'),
    undefined,
    'no control bytes from the agent',
  );
  assert.equal(parseManifest('[{"name":"x","version":"1.0.0"},{"name":"x","version":"1.1.0"}]')?.version, '1.1.0');
  assert.equal(specKind('@anthropic-ai/claude-code@latest'), 'registry');
  assert.equal(specKind('/opt/a/b.tgz'), 'tarball');
  assert.equal(specKind('https://example.com/b.tgz'), 'other');
  assert.deepEqual(parseAgentNode('20.20.2\n/usr/bin/node\nlinux-x64\n'), {
    version: '20.20.2',
    path: '/usr/bin/node',
    platform: 'linux-x64',
  });
  assert.equal(parseAgentNode('20.20.2\n/usr/bin/no de\nlinux-x64\n'), undefined);

  const programs = parseInstalledPrograms(
    '=node 20.20.2 /usr/bin/node\nclaude 2.1.332\n=engines claude >=22.0.0\ncodex -\nbogus 1.0\n=engines codex >=18\x1b]52;\n',
    BUILTIN_PROFILES,
  );
  assert.deepEqual(programs.node, { version: '20.20.2', path: '/usr/bin/node' });
  assert.equal(programs.versions.get('claude'), '2.1.332');
  assert.equal(programs.engines.get('claude'), '>=22.0.0');
  assert.equal(programs.engines.has('codex'), false);
  const checks = agentProgramChecks('bot', programs, BUILTIN_PROFILES);
  assert.deepEqual(
    checks.map((c) => [c.status, c.check]),
    [
      ['PASS', 'agent bot node'],
      ['WARN', 'agent bot claude'],
    ],
  );
  assert.match(
    checks[1]!.detail,
    /claude 2\.1\.332 needs Node\.js >=22\.0\.0, the agent's programs get Node\.js 20\.20\.2 \(\/usr\/bin\/node\)/,
  );
  assert.match(checks[1]!.fix!, /^au install -a bot claude/);
  const fine = agentProgramChecks(
    'bot',
    parseInstalledPrograms('=node 22.23.5 /home/bot/.local/bin/node\nclaude 2.1.332\n=engines claude >=22.0.0\n', BUILTIN_PROFILES),
    BUILTIN_PROFILES,
  );
  assert.equal(fine[1]!.status, 'PASS');
});
