// Untrusted repositories: `au run --lockdown`, and a repo-local .au.toml that may only narrow.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, must, sh } from '../helpers/system.js';

describe('lockdown and .au.toml', () => {
  let human: Human;
  let agent: string;
  let server: Server;
  let port: number;
  let repo: string;

  const asHuman = (cmd: string): void => {
    const r = human.run(['sh', '-c', cmd]);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  };
  /** A TCP connection from the agent to the human's listener on 127.0.0.1. */
  const connect = (extra: string[], cwd = repo) =>
    human.au(['run', '-a', agent, ...extra, '--', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`], { cwd });

  before(async () => {
    human = createHuman();
    agent = human.newAgent();
    repo = `${human.home}/repo`;
    asHuman(`mkdir -p ~/repo ~/docs && echo code > ~/repo/file && echo doc > ~/docs/readme.txt && chmod -R go+rX ~/repo ~/docs`);
    must(['runuser', '-u', agent, '--', 'sh', '-c', 'echo kept > ~/marker']);
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    human.cleanup();
  });

  test('lockdown: a throw-away home, the repo read-only, no network, no secret', () => {
    assert.match(connect([]).stdout, /connected/, 'control: without lockdown the agent reaches the listener');
    const r = human.au(
      [
        'run',
        '-a',
        agent,
        '--lockdown',
        '--',
        'bash',
        '-c',
        'echo junk > ~/junk && cat ~/junk && cat file && test ! -e ~/marker && echo marker-hidden; touch file2 || echo repo-read-only; pwd',
      ],
      { cwd: repo },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^junk$/m);
    assert.match(r.stdout, /^code$/m);
    assert.match(r.stdout, /^marker-hidden$/m);
    assert.match(r.stdout, /^repo-read-only$/m);
    assert.match(r.stdout, new RegExp(`^/home/${agent}/repo$`, 'm'));
    assert.ok(!existsSync(`/home/${agent}/junk`), 'the throw-away home is gone');
    assert.equal(must(['cat', `/home/${agent}/marker`]), 'kept\n', 'the real home is untouched');
    assert.ok(!existsSync(`${repo}/file2`));
    assert.doesNotMatch(connect(['--lockdown']).stdout, /connected/, 'no network in lockdown');
    assert.match(connect(['--lockdown', '--net']).stdout, /connected/, '--net keeps it');

    const secret = human.au(['run', '-a', agent, '--lockdown', '-e', 'MY_SECRET', '--', 'true'], {
      cwd: repo,
      env: { MY_SECRET: 's3cr3t' },
    });
    assert.equal(secret.status, 2, 'no secret is looked up in lockdown');
    must([
      'sh',
      '-c',
      `printf '[profiles.envcheck]\\ncommand = ["printenv", "ANTHROPIC_API_KEY"]\\nenv = ["ANTHROPIC_API_KEY"]\\n' >> ${human.home}/.config/agent-as-unix-user.toml`,
    ]);
    const withKey = human.au(['envcheck', '-a', agent], { cwd: repo, env: { ANTHROPIC_API_KEY: 'sk-x' } });
    assert.equal(withKey.stdout, 'sk-x\n', 'control: the profile passes its key normally');
    const locked = human.au(['envcheck', '-a', agent, '--lockdown'], { cwd: repo, env: { ANTHROPIC_API_KEY: 'sk-x' } });
    assert.equal(locked.stdout, '', 'not in lockdown');
  });

  test("lockdown seeds the throw-away home with the profile's allowed files only, copied as the agent", () => {
    // The agent's real home: settings (allowed), credentials (not), and a planted symlink.
    must([
      'runuser',
      '-u',
      agent,
      '--',
      'sh',
      '-c',
      `mkdir -p ~/.seedtool/agents && echo seeded > ~/.seedtool/settings.json && echo sub > ~/.seedtool/agents/a.md && echo secret > ~/.seedtool/creds.json && ln -s ${human.home}/.bashrc ~/.seedtool/agents/link`,
    ]);
    must([
      'sh',
      '-c',
      `printf '[profiles.seedtool]\\ncommand = ["sh", "-c"]\\nsettings_files = [".seedtool/settings.json", ".seedtool/agents", ".missing"]\\ncredential_files = [".seedtool/creds.json"]\\n' >> ${human.home}/.config/agent-as-unix-user.toml`,
    ]);
    const script =
      'cat ~/.seedtool/settings.json ~/.seedtool/agents/a.md; test -e ~/.seedtool/creds.json || echo no-creds; test -e ~/.seedtool/agents/link || echo no-link; echo changed > ~/.seedtool/settings.json';
    const r = human.au(['seedtool', '-a', agent, '--lockdown', script], { cwd: repo });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'seeded\nsub\nno-creds\nno-link\n');
    assert.equal(must(['cat', `/home/${agent}/.seedtool/settings.json`]), 'seeded\n', 'the real file is untouched');
  });

  test('lockdown --rw-cwd: writes reach the repo, and the temporary ACL is removed afterwards', () => {
    const r = human.au(['run', '-a', agent, '--lockdown', '--rw-cwd', '--', 'sh', '-c', 'echo from-agent > out.txt'], { cwd: repo });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(must(['cat', `${repo}/out.txt`]), 'from-agent\n');
    assert.doesNotMatch(must(['getfacl', '-p', repo]), new RegExp(`user:${agent}:`));
  });

  test('.au.toml narrows: fewer shares, read-only, no network', () => {
    assert.equal(human.au(['mount', 'add', '-a', agent, '--rw', repo]).status, 0);
    assert.equal(human.au(['mount', 'add', '-a', agent, `${human.home}/docs`]).status, 0);
    const both = human.au(['run', '-a', agent, '--', 'sh', '-c', 'cat ~/docs/readme.txt && touch ~/repo/w1 && echo wrote'], { cwd: repo });
    assert.match(both.stdout, /doc\nwrote/, `control: ${both.stderr}`);

    writeFileSync(`${repo}/.au.toml`, 'shares = ["."]\nread_only = true\nnetwork = "none"\n');
    const narrowed = human.au(
      ['run', '-a', agent, '--', 'sh', '-c', 'test -e ~/docs/readme.txt || echo docs-gone; touch w2 || echo repo-ro'],
      { cwd: repo },
    );
    assert.equal(narrowed.status, 0, narrowed.stderr);
    assert.match(narrowed.stdout, /docs-gone/);
    assert.match(narrowed.stdout, /repo-ro/);
    assert.doesNotMatch(connect([]).stdout, /connected/);
  });

  test('.au.toml that would widen access is refused', () => {
    const cases = [`shares = ["${human.home}/private"]\n`, 'read_only = false\n', 'network = "allow"\n', '[[mounts]]\nsource = "/etc"\n'];
    for (const text of cases) {
      writeFileSync(`${repo}/.au.toml`, text);
      const r = human.au(['run', '-a', agent, '--', 'touch', 'should-not-run'], { cwd: repo });
      assert.equal(r.status, 1, text);
      assert.match(r.stderr, /refusing .*\.au\.toml/, text);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(sh(['test', '-e', `${repo}/should-not-run`]).status, 1);
    }
    sh(['rm', '-f', `${repo}/.au.toml`]);
  });
});
