// Everyday use: profiles and their shortcuts, secrets, profile import, completions, aliases.
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, must, packageForHumans, sh } from '../helpers/system.js';

const SECRET_FROM_ENV = 'sk-env-4f1c2e';
const SECRET_FROM_COMMAND = 'sk-cmd-9b7d31';

describe('profiles, secrets and shell integration', () => {
  let human: Human;
  let agent: string;
  let config: string;
  let originalConfig: string;

  /** Writes a file owned by `owner` (mode 755 for scripts). */
  function put(path: string, text: string, owner: string, mode = 0o644): void {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text, { mode });
    must(['chown', `${owner}:`, path]);
  }

  /** The config as au wrote it, with `extra` tables in front. */
  function writeConfigExtra(extra: string): void {
    writeFileSync(config, `${extra}\n${originalConfig}`);
    chownSync(config, human.uid, human.uid);
  }

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    config = `${human.home}/.config/agent-as-unix-user.toml`;
    originalConfig = readFileSync(config, 'utf8');
    // A stand-in `claude` in the agent's PATH (~/.local/bin is added by Debian's ~/.profile).
    must(['mkdir', '-p', `/home/${agent}/.local/bin`]);
    put(`/home/${agent}/.local/bin/claude`, '#!/bin/sh\necho "claude args: $*"\necho "key=${ANTHROPIC_API_KEY:-unset}"\n', agent, 0o755);
    must(['chown', '-R', `${agent}:`, `/home/${agent}/.local`]);
    // A stand-in secret tool of the human's.
    put(`${human.home}/bin/fake-secret-tool`, `#!/bin/sh\necho ${SECRET_FROM_COMMAND}\n`, human.name, 0o755);
    put(`${human.home}/bin/failing-secret-tool`, `#!/bin/sh\necho ${SECRET_FROM_COMMAND}\nexit 3\n`, human.name, 0o755);
  });
  after(() => human.cleanup());

  test('au claude --version runs the stand-in claude as the agent, with the profile flags and key', () => {
    const r = human.au(['claude', '-a', agent, '--version'], { env: { ANTHROPIC_API_KEY: SECRET_FROM_ENV } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^claude args: --dangerously-skip-permissions --version$/m);
    assert.match(r.stdout, new RegExp(`^key=${SECRET_FROM_ENV}$`, 'm'));
    const viaRun = human.au(['run', '-a', agent, '--profile', 'claude', '--', '--help']);
    assert.match(viaRun.stdout, /^claude args: --dangerously-skip-permissions --help$/m);
    assert.match(viaRun.stdout, /^key=unset$/m, 'no key in the environment, none passed');
  });

  test('after an interactive au claude, au adds its own resume line (the program output is untouched); none for a pipe or a one-shot', async () => {
    const { Terminal } = await import('../helpers/tmux.js');
    const t = new Terminal(human, 120, 30);
    try {
      t.type(`${process.execPath} ${join(packageForHumans(), 'bin', 'au')} claude -a ${agent}; echo done-$((1+1))`);
      const screen = await t.waitFor(/done-2/);
      assert.match(
        screen,
        new RegExp(`claude args: --dangerously-skip-permissions\\s*\\n(?:.*\\n)*?au: resume with: au claude -a ${agent} --resume\\s*\\n`),
      );
      t.type(`${process.execPath} ${join(packageForHumans(), 'bin', 'au')} claude -a ${agent} --version; echo done-$((2+2))`);
      const after = (await t.waitFor(/done-4/)).split('done-2').pop()!;
      assert.doesNotMatch(after, /resume with/, 'a one-shot has nothing to resume');
    } finally {
      t.close();
    }
    assert.doesNotMatch(human.au(['claude', '-a', agent]).stderr, /resume with/, 'not a terminal: no hint');
  });

  test('a missing program prints the install hint and exits 127', () => {
    const r = human.au(['codex', '-a', agent]);
    assert.equal(r.status, 127, r.stderr);
    assert.match(r.stderr, /codex is not installed for the agent/);
    assert.match(r.stderr, new RegExp(`au install -a ${agent} codex`));
  });

  test('au profiles lists built-ins and the human own, which cannot shadow commands', () => {
    writeConfigExtra('[profiles.mytool]\ncommand = ["echo", "mytool"]\n');
    const list = human.au(['profiles']);
    assert.equal(list.status, 0, list.stderr);
    for (const name of ['claude', 'codex', 'gemini', 'opencode', 'pi', 'shell', 'mytool'])
      assert.match(list.stdout, new RegExp(`^${name}: `, 'm'));
    assert.equal(human.au(['mytool', '-a', agent, 'extra']).stdout, 'mytool extra\n');
    const names = (JSON.parse(human.au(['profiles', '--json']).stdout) as { name: string }[]).map((p) => p.name);
    assert.ok(names.includes('mytool'));
    writeConfigExtra('[profiles.run]\ncommand = ["echo", "shadow"]\n');
    const shadow = human.au(['profiles']);
    assert.equal(shadow.status, 1);
    assert.match(shadow.stderr, /cannot shadow the command `au run`/);
    writeConfigExtra('');
  });

  test('secrets from the environment and from a command reach the agent, and are written nowhere', () => {
    writeConfigExtra(
      `[secrets]\nGH_TOKEN = { env = "MY_GH" }\n\n[profiles.claude.secrets]\nANTHROPIC_API_KEY = { command = ["${human.home}/bin/fake-secret-tool"] }\n`,
    );
    const fromEnv = human.au(['run', '-a', agent, '-e', 'GH_TOKEN', '--', 'printenv', 'GH_TOKEN'], { env: { MY_GH: SECRET_FROM_ENV } });
    assert.equal(fromEnv.stdout, `${SECRET_FROM_ENV}\n`, fromEnv.stderr);
    const plain = human.au(['run', '-a', agent, '-e', 'PLAIN_VAR', '--', 'printenv', 'PLAIN_VAR'], { env: { PLAIN_VAR: 'plain' } });
    assert.equal(plain.stdout, 'plain\n');
    const unset = human.au(['run', '-a', agent, '-e', 'NOT_SET_ANYWHERE', '--', 'true']);
    assert.equal(unset.status, 2);
    const fromCommand = human.au(['claude', '-a', agent]);
    assert.match(fromCommand.stdout, new RegExp(`^key=${SECRET_FROM_COMMAND}$`, 'm'), fromCommand.stderr);

    const dry = human.au(['claude', '--dry-run', '-a', agent, '-e', 'GH_TOKEN'], { env: { MY_GH: SECRET_FROM_ENV } });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stderr, /AU_ENV_ANTHROPIC_API_KEY=\.\.\./);
    for (const text of [dry.stdout, dry.stderr, readFileSync(config, 'utf8')]) {
      assert.doesNotMatch(text, new RegExp(`${SECRET_FROM_ENV}|${SECRET_FROM_COMMAND}`));
    }
    // Nor anywhere in the human's state (audit logs, recordings) or config directories.
    const leaks = sh(['grep', '-rlE', `${SECRET_FROM_ENV}|${SECRET_FROM_COMMAND}`, `${human.home}/.config`, `${human.home}/.local/state`]);
    assert.equal(leaks.stdout, '', `secret written to: ${leaks.stdout}`);
    writeConfigExtra(`[profiles.claude.secrets]\nANTHROPIC_API_KEY = { command = ["${human.home}/bin/failing-secret-tool"] }\n`);
    const failing = human.au(['claude', '-a', agent]);
    assert.equal(failing.status, 1);
    assert.match(failing.stderr, /secret ANTHROPIC_API_KEY: .*failing-secret-tool exited with 3/);
    assert.doesNotMatch(failing.stderr + failing.stdout, new RegExp(SECRET_FROM_COMMAND));
    writeConfigExtra('');
  });

  test('au profile import copies settings (not credentials unless asked), written as the agent', () => {
    put(`${human.home}/.claude/settings.json`, '{"theme":"dark"}\n', human.name);
    put(`${human.home}/.claude/.credentials.json`, '{"token":"secret"}\n', human.name);
    must(['chown', `${human.name}:`, `${human.home}/.claude`]);
    const r = human.au(['profile', 'import', '-a', agent, 'claude']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(`/home/${agent}/.claude/settings.json`, 'utf8'), '{"theme":"dark"}\n');
    assert.equal(must(['stat', '-c', '%U', `/home/${agent}/.claude/settings.json`]).trim(), agent, 'written as the agent');
    assert.ok(!existsSync(`/home/${agent}/.claude/.credentials.json`), 'credentials only when asked');
    assert.equal(human.au(['profile', 'import', '-a', agent, '--with-credentials', 'claude']).status, 0);
    assert.ok(existsSync(`/home/${agent}/.claude/.credentials.json`));
  });

  test('a symlink the agent planted does not make profile import write into the human files', () => {
    put(`${human.home}/.gemini/settings.json`, '{"a":1}\n', human.name);
    must(['chown', `${human.name}:`, `${human.home}/.gemini`]);
    put(`${human.home}/victim/settings.json`, 'original\n', human.name);
    must(['chown', `${human.name}:`, `${human.home}/victim`]);
    // The hostile agent points its ~/.gemini at a folder of the human's.
    must(['runuser', '-u', agent, '--', 'ln', '-sfn', `${human.home}/victim`, `/home/${agent}/.gemini`]);
    human.au(['profile', 'import', '-a', agent, 'gemini']);
    assert.equal(readFileSync(`${human.home}/victim/settings.json`, 'utf8'), 'original\n');
  });

  test('completion scripts are valid and complete profile names', () => {
    for (const [shell, check] of [
      ['bash', ['bash', '-n']],
      ['zsh', ['zsh', '-n']],
      ['fish', ['fish', '-n']],
    ] as const) {
      const script = human.au(['completions', shell]);
      assert.equal(script.status, 0, script.stderr);
      const file = `/tmp/aut-completion-${human.name}.${shell}`;
      writeFileSync(file, script.stdout);
      try {
        if (sh(['which', check[0]]).status !== 0) continue;
        const r = sh([...check, file]);
        assert.equal(r.status, 0, `${shell} -n: ${r.stderr}`);
      } finally {
        sh(['rm', '-f', file]);
      }
    }
    const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    const drive = `au() { ${au} "$@"; }; source <(au completions bash); COMP_WORDS=(au run --profile ''); COMP_CWORD=3; _au_complete; echo "\${COMPREPLY[*]}"; COMP_WORDS=(au run -a ''); COMP_CWORD=3; _au_complete; echo "\${COMPREPLY[*]}"`;
    const r = human.run(['bash', '-c', drive]);
    assert.equal(r.status, 0, r.stderr);
    const [profiles, agents] = r.stdout.split('\n');
    assert.deepEqual(profiles!.split(' ').sort(), ['claude', 'codex', 'gemini', 'opencode', 'pi', 'shell']);
    assert.equal(agents, agent);
  });

  test('au aliases install writes marked wrappers, idempotently, and never replaces files of the human', () => {
    assert.equal(human.au(['aliases', 'install']).status, 0);
    const wrapper = `${human.home}/.local/bin/au-claude`;
    assert.match(readFileSync(wrapper, 'utf8'), /exec au claude "\$@"/);
    assert.equal(human.au(['aliases', 'install']).status, 0, 'idempotent');
    put(`${human.home}/.local/bin/au-codex`, '#!/bin/sh\necho mine\n', human.name, 0o755);
    const refused = human.au(['aliases', 'install']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /not replacing files au did not write: .*au-codex/);
    assert.equal(readFileSync(`${human.home}/.local/bin/au-codex`, 'utf8'), '#!/bin/sh\necho mine\n');
    assert.equal(human.au(['aliases', 'install', '--force']).status, 0);
    assert.match(readFileSync(`${human.home}/.local/bin/au-codex`, 'utf8'), /exec au codex/);

    for (let i = 0; i < 2; i++) assert.equal(human.au(['aliases', 'install', '--mode', 'rc', '--shell', 'bash']).status, 0);
    const rc = readFileSync(`${human.home}/.bashrc`, 'utf8');
    assert.equal(rc.split('>>> managed by agent-as-unix-user').length, 2, 'one block, however often it runs');
    assert.match(rc, /alias au-claude='au claude'/);
  });
});
