// Each command's happy path and each bad input, end to end, as a real non-root human.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Human,
  createHuman,
  forceRemoveAgent,
  groupExists,
  must,
  packageForHumans,
  sh,
  uniqueName,
  userExists,
} from '../helpers/system.js';

const ENTRYPOINT_ROOT = '/usr/local/libexec/agent-as-unix-user';

/** A folder of the human's, owned by the human. */
function humanDir(human: Human, relative: string): string {
  const path = `${human.home}/${relative}`;
  mkdirSync(path, { recursive: true });
  must(['chown', '-R', `${human.name}:${human.name}`, human.home]);
  return path;
}

describe('agent life cycle', () => {
  let human: Human;
  let agent: string;

  before(() => {
    human = createHuman();
    agent = uniqueName();
    human.track(agent);
  });
  after(() => human.cleanup());

  test('au new creates the user, groups, home and entrypoint, printing each command', () => {
    const r = human.au(['new', '-y', '-a', agent]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'au new prints its commands on stderr only');
    assert.match(r.stderr, new RegExp(`^\\$ sudo groupadd su-as-${agent}$`, 'm'));
    assert.match(r.stderr, /^\$ sudo useradd .*--user-group/m);
    assert.match(r.stderr, /^\$ cc .*-Werror/m);
    assert.ok(userExists(agent) && groupExists(`su-as-${agent}`));
    // The agent's primary group is its own, never su-as-NAME: it must not run its entrypoint.
    assert.equal(must(['id', '-gn', agent]).trim(), agent);
    assert.doesNotMatch(must(['id', '-Gn', agent]), /su-as-/);
    assert.match(must(['id', '-Gn', human.name]), new RegExp(`su-as-${agent}`));
    const home = statSync(`/home/${agent}`);
    assert.equal(home.mode & 0o7777, 0o2770);
    assert.equal(must(['stat', '-c', '%G', `/home/${agent}`]).trim(), `su-as-${agent}`);
    assert.match(must(['getfacl', '-p', `/home/${agent}`]), new RegExp(`default:group:su-as-${agent}:rwx`));
    const entry = `${ENTRYPOINT_ROOT}/${agent}/su_as_agent`;
    const st = lstatSync(entry);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o7777, 0o4750);
    assert.equal(must(['stat', '-c', '%G', entry]).trim(), `su-as-${agent}`);
    const config = readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8');
    assert.match(config, new RegExp(`user_name = "${agent}"`));
    assert.match(config, /bootstrapped = true/);
    assert.match(config, /entrypoint_sha256 = "[0-9a-f]{64}"/);
  });

  test('au list and au info report the agent as healthy, in text and JSON', () => {
    const list = human.au(['list']);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout, `${agent}\n`);
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 0, info.stdout + info.stderr);
    assert.match(info.stdout, new RegExp(`^  entrypoint: ${ENTRYPOINT_ROOT}/${agent}/su_as_agent$`, 'm'));
    assert.match(info.stdout, /^ {2}mounts: none$/m);
    assert.doesNotMatch(info.stdout, /BROKEN/);
    const json = JSON.parse(human.au(['info', '--json', '-a', agent]).stdout) as { healthy: boolean; problems: string[] };
    assert.equal(json.healthy, true, json.problems.join('; '));
    assert.deepEqual(JSON.parse(human.au(['list', '--json']).stdout), [{ name: agent, default: false, healthy: true }]);
  });

  test('au info says BROKEN (exit 1) when the entrypoint loses its mode, setuid bit or owner', () => {
    const entry = `${ENTRYPOINT_ROOT}/${agent}/su_as_agent`;
    const breakages: [string[], RegExp][] = [
      [['chmod', '4755', entry], /mode 4755, expected 4750/],
      [['chmod', '0750', entry], /mode 0750, expected 4750/],
      [['chown', `${human.name}:su-as-${agent}`, entry], /not owned by root/],
      [['chmod', 'g+w', `${ENTRYPOINT_ROOT}/${agent}`], /writable by group or others/],
    ];
    for (const [breakIt, problem] of breakages) {
      must(breakIt);
      try {
        const info = human.au(['info', '-a', agent]);
        assert.equal(info.status, 1, breakIt.join(' '));
        assert.match(info.stdout, /BROKEN/);
        assert.match(info.stdout, problem);
        assert.match(human.au(['list']).stdout, /BROKEN/);
        const run = human.au(['run', '-a', agent, '--', 'true']);
        assert.equal(run.status, 1, `au run must refuse: ${breakIt.join(' ')}`);
        assert.match(run.stderr, /refusing to run/);
      } finally {
        must(['chown', `root:su-as-${agent}`, entry]);
        must(['chmod', '4750', entry]);
        must(['chmod', '0755', `${ENTRYPOINT_ROOT}/${agent}`]);
      }
    }
    assert.equal(human.au(['info', '-a', agent]).status, 0);
  });

  test('au run: pipes, exit codes, signals, environment, working directory', () => {
    const cat = human.au(['run', '-a', agent, '--', 'cat'], { input: 'hi\n' });
    assert.equal(cat.status, 0, cat.stderr);
    assert.equal(cat.stdout, 'hi\n');
    assert.equal(human.au(['run', '-a', agent, '--', 'id', '-un']).stdout, `${agent}\n`);
    assert.equal(human.au(['run', '-a', agent, '--', 'sh', '-c', 'exit 7']).status, 7);
    assert.equal(human.au(['run', '-a', agent, '--', 'sh', '-c', 'kill -TERM $$']).status, 128 + 15);
    assert.equal(human.au(['run', '-a', agent, '--', 'no-such-command-aut']).status, 127);
    const env = human.au([
      'run',
      '-a',
      agent,
      '-e',
      'URL=a=b',
      '--env',
      'EMPTY=',
      '--',
      'sh',
      '-c',
      'printf "%s|%s|%s" "$URL" "${EMPTY-unset}" "$HOME"',
    ]);
    assert.equal(env.stdout, `a=b||/home/${agent}`);
    assert.equal(human.au(['run', '-a', agent, '--', 'pwd']).stdout, `/home/${agent}\n`);
    const mkdir = human.au(['run', '-a', agent, '--', 'mkdir', '-p', 'sub/dir']);
    assert.equal(mkdir.status, 0, mkdir.stderr);
    assert.equal(human.au(['run', '-a', agent, '-d', `/home/${agent}/sub/dir`, '--', 'pwd']).stdout, `/home/${agent}/sub/dir\n`);
    const missingDir = human.au(['run', '-a', agent, '-d', `/home/${agent}/nope`, '--', 'pwd']);
    assert.equal(missingDir.status, 125);
    assert.match(missingDir.stderr, /chdir .*nope/);
    const dry = human.au(['run', '--dry-run', '-a', agent, '-e', 'TOKEN=s3cret-value', '--', 'touch', 'dry-run-ran']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stderr, /^\$ env -i .*AU_ENV_TOKEN=\.\.\. .*su_as_agent .* touch dry-run-ran$/m);
    assert.doesNotMatch(dry.stderr, /s3cret-value/);
    assert.notEqual(sh(['test', '-e', `/home/${agent}/dry-run-ran`]).status, 0, 'a dry run runs nothing');
    // Arguments reach the command intact, without a second round of shell parsing.
    assert.equal(human.au(['run', '-a', agent, 'printf', '%s\\n', 'a b', '$HOME', '*']).stdout, 'a b\n$HOME\n*\n');
  });

  test('an fd the caller leaks to au run never reaches the processes that become the agent', async () => {
    const secret = `${human.home}/leaked-secret.txt`;
    writeFileSync(secret, 'private\n', { mode: 0o600 });
    chownSync(secret, human.uid, human.uid);
    // The human's shell holds the file open on fd 200 when it starts au (a leak au must not pass on).
    const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    const run = spawn('runuser', ['-u', human.name, '--', 'bash', '-c', `exec 200<${secret}; exec ${au} run -a ${agent} -- sleep 30`], {
      stdio: 'ignore',
    });
    try {
      let agentPids: string[] = [];
      for (let i = 0; i < 100 && agentPids.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        agentPids = sh(['pgrep', '-u', agent]).stdout.split('\n').filter(Boolean);
      }
      assert.ok(agentPids.length > 0, 'set-up: the agent is running');
      for (const pid of agentPids) {
        const fds = sh(['ls', '-l', `/proc/${pid}/fd`]).stdout;
        assert.doesNotMatch(fds, /leaked-secret/, `agent process ${pid} holds the leaked fd:\n${fds}`);
      }
    } finally {
      run.kill('SIGTERM');
    }
  });

  test('au mount add/list/remove: read-only and read-write shares with ACLs', () => {
    const ro = humanDir(human, 'docs');
    writeFileSync(`${ro}/readme.txt`, 'read me\n');
    const rw = humanDir(human, 'proj');
    writeFileSync(`${rw}/main.txt`, 'v1\n');
    must(['chown', '-R', `${human.name}:${human.name}`, human.home]);

    let r = human.au(['mount', 'add', '-a', agent, ro]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^\\$ setfacl-by-fd --physical --owner ${human.name} --modify user:${agent}:rX,default:user:${agent}:rX -- ${ro}$`, 'm'),
      'ACLs are set as the human (no sudo), by fd',
    );
    r = human.au(['mount', 'add', '-a', agent, '--rw', rw, 'work/proj']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /runs as you/);
    assert.match(must(['getfacl', '-p', rw]), new RegExp(`default:user:${agent}:rwx`));
    assert.match(must(['getfacl', '-p', rw]), new RegExp(`default:user:${human.name}:rwx`));

    const list = human.au(['mount', 'list', '-a', agent]);
    assert.equal(list.stdout, `${ro} -> /home/${agent}/docs [ro]\n${rw} -> /home/${agent}/work/proj [rw]\n`);
    assert.deepEqual(JSON.parse(human.au(['mount', 'list', '--json', '-a', agent]).stdout), [
      { source: ro, target: `/home/${agent}/docs`, mode: 'ro' },
      { source: rw, target: `/home/${agent}/work/proj`, mode: 'rw' },
    ]);

    assert.equal(human.au(['run', '-a', agent, '--', 'cat', 'docs/readme.txt']).stdout, 'read me\n');
    assert.notEqual(human.au(['run', '-a', agent, '--', 'touch', 'docs/new']).status, 0);
    const write = human.au(['run', '-a', agent, '--', 'sh', '-c', 'echo v2 > work/proj/main.txt && echo agent > work/proj/by-agent.txt']);
    assert.equal(write.status, 0, write.stderr);
    assert.equal(readFileSync(`${rw}/main.txt`, 'utf8'), 'v2\n');
    // The human can edit what the agent created (default ACL for the human).
    assert.equal(human.run(['sh', '-c', `echo human >> ${rw}/by-agent.txt`]).status, 0);
    // Started from inside a share, the agent starts in the matching target.
    assert.equal(human.au(['run', '-a', agent, '--', 'pwd'], { cwd: rw }).stdout, `/home/${agent}/work/proj\n`);

    r = human.au(['mount', 'remove', '-a', agent, rw]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(must(['getfacl', '-p', rw]), new RegExp(`user:${agent}:`));
    r = human.au(['mount', 'remove', '-a', agent, `/home/${agent}/docs`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(human.au(['mount', 'list', '-a', agent]).stdout, `No access bind mount configured for agent ${agent}.\n`);
  });

  test('au mount add refuses bad sources and targets, changing nothing', () => {
    const dir = humanDir(human, 'shareme');
    const before = readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8');
    const cases: [string[], RegExp][] = [
      [['mount', 'add', '-a', agent, `${human.home}/missing`], /does not exist/],
      [['mount', 'add', '-a', agent, '/etc'], /not inside your home/],
      [['mount', 'add', '-a', agent, dir, '../escape'], /must not contain '\.\.'/],
      [['mount', 'add', '-a', agent, dir, `/home/${agent}/a/../../x`], /must not contain '\.\.'/],
      [['mount', 'add', '-a', agent, dir, '/tmp/elsewhere'], /not inside the agent home/],
      [['mount', 'add', '-a', 'aut-nobody', dir], /unknown agent/],
    ];
    for (const [args, message] of cases) {
      const r = human.au(args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    assert.equal(human.au(['mount', 'add', '-a', agent, dir]).status, 0);
    const dup = human.au(['mount', 'add', '-a', agent, dir]);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /conflicts with the existing share/);
    assert.equal(human.au(['mount', 'remove', '-a', agent, dir]).status, 0);
    assert.equal(readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8'), before);
  });

  test('au run refuses bad input with one line and a non-zero exit', () => {
    const cases: [string[], number, RegExp][] = [
      [['run', '-a', 'aut-nobody', '--', 'true'], 1, /unknown agent/],
      [['run', '-a', agent, '--env', 'FOO', '--', 'true'], 2, /expected KEY=VALUE/],
      [['run', '-a', agent, '--env', '=x', '--', 'true'], 2, /key is empty/],
      [['run', '-a', agent], 2, /missing required argument/],
    ];
    for (const [args, code, message] of cases) {
      const r = human.au(args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(human.au(['info', '-a', 'aut-nobody']).status, 1);
    assert.equal(human.au(['delete', '-y', '-a', 'aut-nobody']).status, 1);
  });

  test('au delete removes the user, groups, entrypoint and home', () => {
    const r = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^\$ sudo userdel --remove /m);
    assert.ok(!userExists(agent));
    assert.ok(!groupExists(agent) && !groupExists(`su-as-${agent}`));
    assert.throws(() => lstatSync(`${ENTRYPOINT_ROOT}/${agent}`));
    assert.throws(() => lstatSync(`/home/${agent}`));
    assert.equal(human.au(['list']).stdout, 'No agents configured.\n');
  });
});

describe('names and existing accounts', () => {
  let human: Human;
  before(() => {
    human = createHuman();
  });
  after(() => human.cleanup());

  test('invalid names are refused before anything is created', () => {
    for (const name of ['root', '-x', 'a b', 'x/y']) {
      const r = human.au(['new', '-y', '-a', name]);
      assert.equal(r.status, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /agent name|unknown option/, name);
      assert.doesNotMatch(r.stderr, /^\$ /m, 'no command was run');
    }
    assert.equal(human.au(['list']).stdout, 'No agents configured.\n');
  });

  test("an existing user's name is refused, and delete can never remove that user", () => {
    const victim = uniqueName('aut-u');
    must(['useradd', '--create-home', victim]);
    try {
      const r = human.au(['new', '-y', '-a', victim]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /already exists/);
      assert.doesNotMatch(r.stderr, /^\$ /m);
      assert.ok(!groupExists(`su-as-${victim}`));
      assert.notEqual(human.au(['delete', '-y', '-a', victim]).status, 0);
      // Even a hand-forged config entry for that user cannot make au delete it.
      const config = `${human.home}/.config/agent-as-unix-user.toml`;
      mkdirSync(`${human.home}/.config`, { recursive: true });
      writeFileSync(
        config,
        `[[agents]]\nuser_name = "${victim}"\nsu_as_agent_group = "su-as-${victim}"\nentrypoint = "/x"\nentrypoint_sha256 = ""\nbootstrapped = true\n`,
      );
      chownSync(config, human.uid, human.uid);
      const del = human.au(['delete', '-y', '-H', '-a', victim]);
      assert.equal(del.status, 1);
      assert.match(del.stderr, /refusing to delete user/);
      assert.ok(userExists(victim), 'the real user is still there');
      assert.equal(sh(['test', '-d', `/home/${victim}`]).status, 0);
      writeFileSync(config, '');
    } finally {
      sh(['userdel', '--remove', victim]);
    }
  });

  test('--dry-run prints the commands and changes nothing', () => {
    const name = uniqueName();
    human.track(name);
    const r = human.au(['new', '--dry-run', '-a', name]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^\$ sudo groupadd /m);
    assert.match(r.stderr, /^\$ sudo useradd /m);
    assert.match(r.stderr, /^\$ sudo install .* -m 4750 /m);
    assert.ok(!userExists(name) && !groupExists(`su-as-${name}`));
    assert.equal(human.au(['list']).stdout, 'No agents configured.\n');
  });

  test('au new is resumable after a failure half-way, and delete undoes a half-created agent', () => {
    const name = uniqueName();
    human.track(name);
    // A compiler that fails stands in for a crash after the user was created.
    const fakeBin = `${human.home}/fakebin`;
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(`${fakeBin}/cc`, '#!/bin/sh\necho "cc: simulated crash" >&2\nexit 1\n', { mode: 0o755 });
    must(['chown', '-R', `${human.name}:${human.name}`, fakeBin]);
    const broken = human.au(['new', '-y', '-a', name], { env: { PATH: `${fakeBin}:/usr/local/bin:/usr/bin:/bin` } });
    assert.equal(broken.status, 1);
    assert.ok(userExists(name), 'the user was created before the failure');
    const info = human.au(['info', '-a', name]);
    assert.equal(info.status, 1);
    assert.match(info.stdout, /BROKEN/);
    assert.match(human.au(['run', '-a', name, '--', 'true']).stderr, /not fully set up/);
    const resumed = human.au(['new', '-y', '-a', name]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stderr, /useradd/, 'the done steps are not redone');
    assert.equal(human.au(['info', '-a', name]).status, 0);
    assert.equal(human.au(['run', '-a', name, '--', 'id', '-un']).stdout, `${name}\n`);

    const second = uniqueName();
    human.track(second);
    assert.equal(human.au(['new', '-y', '-a', second], { env: { PATH: `${fakeBin}:/usr/local/bin:/usr/bin:/bin` } }).status, 1);
    const del = human.au(['delete', '-y', '-H', '-a', second]);
    assert.equal(del.status, 0, del.stderr);
    assert.ok(!userExists(second) && !groupExists(`su-as-${second}`));
    forceRemoveAgent(second);
  });
});
