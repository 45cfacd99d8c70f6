// The README's install command, run as a new user would: a real non-root human with sudo, a
// fresh clone in their home, no npm cache. It must work twice in a row, leave no file in the
// clone that is not the human's, and install a copy that a second human (who cannot read the
// first one's home) can run.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Human, REPO, createHuman, must, sh, uniqueName } from '../helpers/system.js';

/** The first shell block of the README's quick start: the install-and-run command. */
function readmeInstallCommand(): string {
  const readme = readFileSync(`${REPO}/README.md`, 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([^]*?)```/.exec(quickStart);
  assert.ok(block, 'README has a quick-start shell block');
  const lines = block[1]!.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  return lines.join('\n');
}

describe('install from a fresh clone (README quick start)', () => {
  let human: Human;
  let colleague: Human;
  const agent = uniqueName();
  const prefix = `/opt/${uniqueName()}`;

  before(() => {
    human = createHuman();
    colleague = createHuman();
    human.track(agent);
    // The clone a new user makes: only what is committed, owned by the human.
    must(['git', 'clone', '--quiet', '--no-hardlinks', REPO, `${human.home}/au`]);
    must(['chown', '-R', `${human.name}:${human.name}`, `${human.home}/au`]);
  });
  after(() => {
    human.cleanup();
    colleague.cleanup();
    rmSync(prefix, { recursive: true, force: true });
  });

  test('the README command installs au and runs a command as the agent, twice in a row', () => {
    // Only the agent's name is made unique (a test never creates "agent"); AU_PREFIX keeps the
    // copy out of npm's global prefix on a developer's machine.
    const command = readmeInstallCommand()
      .replace(/\bau new -y\b/g, `au new -y -a ${agent}`)
      .replace(/\bau run --/g, `au run -a ${agent} --`);
    assert.match(command, /install\.sh/);
    const env = { AU_PREFIX: prefix, PATH: `${prefix}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` };
    for (const round of [1, 2]) {
      // The second round skips the system packages (AU_SKIP_APT): apt-get proved nothing about au
      // the first time round that it would the second, and costs seconds of network.
      const roundEnv = round === 1 ? env : { ...env, AU_SKIP_APT: '1' };
      const r = human.run(['bash', '-euc', command], { cwd: `${human.home}/au`, env: roundEnv, timeoutMs: 600_000 });
      assert.equal(r.status, 0, `round ${round}: ${r.stderr.slice(-3000)}`);
      assert.match(r.stdout, new RegExp(`uid=\\d+\\(${agent}\\)`), `round ${round}: au run -- id ran as the agent`);
    }
    const foreign = must(['find', `${human.home}/au`, '-not', '-user', human.name]).trim();
    assert.equal(foreign, '', 'every file in the clone is the human\'s');
  });

  test('the installed copy works for a second human who cannot read the first one\'s home', () => {
    assert.equal(sh(['stat', '-c', '%a', human.home]).stdout.trim(), '750');
    const r = colleague.run([`${prefix}/bin/au`, '--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+\.\d+\.\d+/);
    const list = colleague.run([`${prefix}/bin/au`, 'list']);
    assert.equal(list.status, 0, list.stderr);
  });
});

describe('au install / au update: the agent\'s programs, installed as the agent', () => {
  let human: Human;
  let agent: string;
  const store = `/opt/${uniqueName()}`;

  /** A stand-in for an agent CLI, packed as npm would serve it: prints its version and arguments. */
  function packStandIn(version: string): string {
    const dir = `${store}/standin-${version}`;
    must(['mkdir', '-p', dir]);
    writeFileSync(`${dir}/package.json`, JSON.stringify({ name: 'aut-agent-standin', version, bin: { claude: 'cli.js' } }));
    writeFileSync(`${dir}/cli.js`, `#!/usr/bin/env node\nconsole.log('stand-in ${version}', process.argv.slice(2).join(' '));\n`, { mode: 0o755 });
    must(['npm', 'pack', '--silent', '--pack-destination', store, dir]);
    return `${store}/aut-agent-standin-${version}.tgz`;
  }

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    must(['mkdir', '-p', store]);
    must(['chmod', '755', store]);
  });
  after(() => {
    human.cleanup();
    rmSync(store, { recursive: true, force: true });
  });

  // The stand-in runs on any Node.js (node_major = 0), unlike the real Claude Code.
  const setPackage = (tarball: string, nodeMajor = 0): void => {
    const config = `${human.home}/.config/agent-as-unix-user.toml`;
    const base = readFileSync(config, 'utf8').replace(/\n\[profiles\.claude\][^]*$/, '\n');
    writeFileSync(config, `${base}\n[profiles.claude]\npackage = "${tarball}"\nnode_major = ${nodeMajor}\n`);
  };

  test('the missing-program hint names a command that works as pasted', () => {
    const r = human.au(['claude', '-a', agent]);
    assert.equal(r.status, 127);
    assert.match(r.stderr, new RegExp(`au install -a ${agent} claude`));
    assert.doesNotMatch(r.stderr, /~\/\.local/);
  });

  test('au install puts the program on the agent\'s PATH, in its own home; au claude runs it', () => {
    setPackage(packStandIn('1.0.0'));
    const r = human.au(['install', '-a', agent, 'claude']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^\$ au run -a \S+ -- npm install --global --prefix '\$HOME\/\.local' /m);
    assert.equal(sh(['stat', '-c', '%U', `/home/${agent}/.local/lib/node_modules/aut-agent-standin`]).stdout.trim(), agent);
    const run = human.au(['claude', '-a', agent, '--', '--hello']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /stand-in 1\.0\.0 --dangerously-skip-permissions --hello/);
    const profiles = human.au(['profiles', '-a', agent]);
    assert.equal(profiles.status, 0, profiles.stderr);
    assert.match(profiles.stdout, new RegExp(`^claude: .*\\[${agent}: 1\\.0\\.0\\]$`, 'm'), 'au profiles shows the installed version');
    assert.match(profiles.stdout, new RegExp(`^codex: .*\\[${agent}: not installed\\]$`, 'm'));
  });

  test('au update installs the newer release', () => {
    setPackage(packStandIn('2.0.0'));
    const r = human.au(['update', '-a', agent, 'claude']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(human.au(['claude', '-a', agent]).stdout, /stand-in 2\.0\.0/);
  });

  test('a Node.js too old for the program is said clearly, and nothing is installed', () => {
    setPackage(packStandIn('3.0.0'), 999);
    const r = human.au(['install', '-a', agent, 'claude']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /claude needs Node\.js >= 999, the agent runs Node\.js \d+/);
    assert.match(human.au(['claude', '-a', agent]).stdout, /stand-in 2\.0\.0/);
  });

  test('bad input: an unknown profile, and no profile at all', () => {
    assert.equal(human.au(['install', '-a', agent, 'nosuch']).status, 1);
    const none = human.au(['update', '-a', agent]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /name a profile/);
  });
});
