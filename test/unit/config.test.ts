import { tempDir } from '../helpers/temp.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AuError } from '../../src/errors.js';
import { test } from 'node:test';
import { loadConfig, saveConfig, updateConfig } from '../../src/config/store.js';

// A file as the seed's Python `au` writes it.
const SEED_FILE = `disable_home_access_check = true

[[agents]]
user_name = "agent"
su_as_agent_group = "su-as-agent"
entrypoint = "/home/agent/su_as_agent"
entrypoint_sha256 = "abc123"
bootstrapped = true
[[agents.mounts]]
source = "/home/alice/proj"
target = "/home/agent/proj"
read_only = false
`;

const tempConfig = (text?: string): string => {
  const path = join(tempDir(), 'agent-as-unix-user.toml');
  if (text !== undefined) writeFileSync(path, text);
  return path;
};

test("reads the seed's config file unchanged", () => {
  const config = loadConfig(tempConfig(SEED_FILE));
  assert.equal(config.disableHomeAccessCheck, true);
  assert.equal(config.agents.length, 1);
  const agent = config.agents[0]!;
  assert.equal(agent.userName, 'agent');
  assert.equal(agent.group, 'su-as-agent');
  assert.equal(agent.entrypoint, '/home/agent/su_as_agent');
  assert.deepEqual(agent.mounts, [{ source: '/home/alice/proj', target: '/home/agent/proj', readOnly: false }]);
});

test('round-trips the seed format, our new keys and keys we do not know', () => {
  const path = tempConfig(SEED_FILE.replace('bootstrapped = true', 'bootstrapped = true\nfuture_key = "kept"'));
  const config = loadConfig(path);
  config.agents[0]!.uid = 1234;
  saveConfig(path, config);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /\[\[agents\]\]/);
  assert.match(text, /\[\[agents\.mounts\]\]/);
  assert.match(text, /user_name = "agent"/);
  assert.match(text, /read_only = false/);
  assert.match(text, /future_key = "kept"/);
  const again = loadConfig(path);
  assert.equal(again.agents[0]!.uid, 1234);
  assert.equal(again.agents[0]!.extra.future_key, 'kept');
});

test('a missing or empty file is an empty config', () => {
  assert.deepEqual(loadConfig(tempConfig()).agents, []);
  assert.deepEqual(loadConfig(tempConfig('')).agents, []);
});

test('invalid TOML is one clear error', () => {
  assert.throws(() => loadConfig(tempConfig('[[agents]\nuser_name=')), /is not valid TOML/);
  assert.throws(() => loadConfig(tempConfig('[[agents]]\nuser_name = 3\n')), /user_name/);
});

test('updateConfig saves under the lock; a dry run writes nothing', () => {
  const path = tempConfig(SEED_FILE);
  updateConfig(path, true, (config, save) => {
    config.agents = [];
    save();
  });
  assert.equal(loadConfig(path).agents.length, 1);
  updateConfig(path, false, (config, save) => {
    config.agents = [];
    save();
  });
  assert.equal(loadConfig(path).agents.length, 0);
});

// A config as a human keeps it: comments everywhere, a key au does not know inside a mount table.
const COMMENTED = `# my agents
disable_home_access_check = false # keep the check

# the main one
[[agents]]
user_name = "agent"   # its unix name
su_as_agent_group = "su-as-agent"
entrypoint = "/usr/local/libexec/agent-as-unix-user/agent/su_as_agent"
entrypoint_sha256 = "abc"
bootstrapped = true
uid = 1500
[[agents.mounts]]
# the project
source = "/home/alice/proj"
target = "/home/agent/proj"
read_only = true
note = "kept" # a key only the human knows

# the other one
[[agents]]
user_name = "other"
su_as_agent_group = "su-as-other"
entrypoint = "/x"
entrypoint_sha256 = ""
bootstrapped = true
`;

test('an update rewrites only what changed: comments and unknown keys in mount tables survive', () => {
  const path = tempConfig(COMMENTED);
  updateConfig(path, false, (config, save) => {
    config.agents[0]!.mounts.push({ source: '/home/alice/docs', target: '/home/agent/docs', readOnly: false });
    config.agents[0]!.gid = 1501;
    config.agents[1]!.limits = { memory: 2 ** 30 };
    save();
  });
  const text = readFileSync(path, 'utf8');
  for (const kept of [
    '# my agents',
    '# keep the check',
    '# the main one',
    '# its unix name',
    '# the project',
    'note = "kept" # a key only the human knows',
    '# the other one',
  ]) {
    assert.ok(text.includes(kept), `lost ${kept}:\n${text}`);
  }
  const config = loadConfig(path);
  assert.equal(config.agents[0]!.gid, 1501);
  assert.deepEqual(
    config.agents[0]!.mounts.map((m) => m.target),
    ['/home/agent/proj', '/home/agent/docs'],
  );
  assert.equal(config.agents[1]!.limits?.memory, 2 ** 30);
  assert.ok(text.indexOf('/home/agent/docs') < text.indexOf('# the other one'), 'the new mount goes with its agent');
});

test('removing an agent or a mount removes its lines and their comment, nothing else', () => {
  const path = tempConfig(COMMENTED);
  updateConfig(path, false, (config, save) => {
    config.agents[0]!.mounts = [];
    config.agents = config.agents.filter((a) => a.userName !== 'other');
    save();
  });
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes('other') && !text.includes('/home/alice/proj') && !text.includes('# the project'), text);
  assert.ok(text.includes('# the main one') && text.includes('# its unix name'), text);
  assert.equal(loadConfig(path).agents.length, 1);
});

test('a symlinked config stays a symlink, its target keeps its mode', () => {
  const dir = tempDir();
  const real = join(dir, 'dotfiles-au.toml');
  writeFileSync(real, COMMENTED, { mode: 0o640 });
  chmodSync(real, 0o640);
  const link = join(dir, 'agent-as-unix-user.toml');
  symlinkSync(real, link);
  updateConfig(link, false, (config, save) => {
    config.agents[1]!.bootstrapped = false;
    save();
  });
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.equal(loadConfig(link).agents[1]!.bootstrapped, false);
  assert.ok(readFileSync(real, 'utf8').includes('# the other one'));
});

test('a symlink to a file others can write is refused', () => {
  const dir = tempDir();
  const real = join(dir, 'shared.toml');
  writeFileSync(real, COMMENTED);
  chmodSync(real, 0o666);
  const link = join(dir, 'agent-as-unix-user.toml');
  symlinkSync(real, link);
  assert.throws(() => updateConfig(link, false, (_, save) => save()), /others can write/);
});

test('a read-only config is refused with the fix, and left as it was', () => {
  const path = tempConfig(COMMENTED);
  chmodSync(path, 0o444);
  assert.throws(
    () =>
      updateConfig(path, false, (config, save) => {
        config.agents = [];
        save();
      }),
    (error: unknown) => error instanceof AuError && /read-only \(mode 0444\)/.test(error.message) && /chmod u\+w/.test(error.hint ?? ''),
  );
  assert.equal(readFileSync(path, 'utf8'), COMMENTED);
});

test('the file is written on its own inode', () => {
  const path = tempConfig(COMMENTED);
  const inode = statSync(path).ino;
  updateConfig(path, false, (config, save) => {
    config.agents.pop();
    save();
  });
  assert.equal(statSync(path).ino, inode);
});

test('a write cut short by a kill is finished by the next command; one superseded by another writer is dropped', () => {
  const path = tempConfig(COMMENTED);
  const next = COMMENTED.replace('uid = 1500', 'uid = 1600\ngid = 77');
  // What a kill in the middle of the in-place write leaves: the journal and a torn file.
  const torn = next.slice(0, 200) + COMMENTED.slice(200);
  const header = `au-config-journal 1 ${Buffer.byteLength(COMMENTED)} ${Buffer.byteLength(next)} ${createHash('sha256').update(COMMENTED).update(next).digest('hex')}\n`;
  const journal = join(dirname(path), `.${basename(path)}.au-journal`);
  writeFileSync(journal, header + COMMENTED + next);
  writeFileSync(path, torn);
  assert.equal(loadConfig(path).agents[0]!.gid, 77);
  assert.equal(readFileSync(path, 'utf8'), next);
  assert.ok(!existsSync(journal));
  // The Python tool wrote the file after the kill: its text wins, the journal goes.
  writeFileSync(journal, header + COMMENTED + next);
  writeFileSync(path, SEED_FILE);
  updateConfig(path, false, () => {});
  assert.equal(readFileSync(path, 'utf8'), SEED_FILE);
  assert.ok(!existsSync(journal));
  // A journal cut short itself: the config was not touched yet.
  writeFileSync(journal, (header + COMMENTED + next).slice(0, 300));
  assert.equal(loadConfig(path).agents[0]!.userName, 'agent');
  assert.ok(!existsSync(journal));
});

test('TOML errors name the line', () => {
  assert.throws(() => loadConfig(tempConfig('a = 1\n[[agents]\nuser_name = "x"\n')), /agent-as-unix-user\.toml:2:\d+ is not valid TOML/);
});

test('an async change keeps the lock until it settles', async () => {
  const path = tempConfig(SEED_FILE);
  await updateConfig(path, false, async (config, save) => {
    await new Promise((resolve) => setImmediate(resolve));
    config.agents[0]!.uid = 4242;
    save();
  });
  assert.equal(loadConfig(path).agents[0]!.uid, 4242);
});

test('temp files a kill left (from au versions that replaced the config by rename) are removed under the lock', () => {
  const path = tempConfig(SEED_FILE);
  const stale = join(dirname(path), '.4242.1700000000000.agent-as-unix-user.toml.tmp');
  writeFileSync(stale, 'half');
  updateConfig(path, false, () => {});
  assert.ok(!existsSync(stale));
});

test('kept accounts (au delete without -H) round-trip, and a kept account without its uid is refused', () => {
  const path = tempConfig(`${SEED_FILE}
[[kept_accounts]]
user_name = "old"
uid = 1005
gid = 1006
su_as_agent_group = "su-as-old"
group_gid = 1004
`);
  const config = loadConfig(path);
  assert.deepEqual(config.kept, [{ userName: 'old', uid: 1005, gid: 1006, group: 'su-as-old', groupGid: 1004 }]);
  saveConfig(path, config);
  assert.deepEqual(loadConfig(path).kept, config.kept);
  assert.deepEqual(loadConfig(tempConfig(SEED_FILE)).kept, []);
  assert.throws(
    () => loadConfig(tempConfig('[[kept_accounts]]\nuser_name = "x"\nsu_as_agent_group = "su-as-x"\ngid = 1\n')),
    /"uid" and "gid" are required/,
  );
});

test('a shape the line editor leaves alone (dotted keys, inline tables) is still saved right', () => {
  const path = tempConfig(
    SEED_FILE.replace(
      'bootstrapped = true\n',
      'bootstrapped = true\nlimits.memory = 1073741824\nnet = { policy = "deny", loopback_ports = [], allow = [], domains = [] }\n',
    ),
  );
  assert.equal(loadConfig(path).agents[0]!.limits?.memory, 2 ** 30);
  assert.equal(loadConfig(path).agents[0]!.net?.policy, 'deny');
  updateConfig(path, false, (config, save) => {
    config.agents[0]!.limits = { memory: 2 ** 31 };
    config.agents[0]!.net = undefined;
    save();
  });
  const config = loadConfig(path);
  assert.equal(config.agents[0]!.limits?.memory, 2 ** 31);
  assert.equal(config.agents[0]!.net, undefined);
  assert.equal(config.agents[0]!.mounts.length, 1);
});

test('a review share keeps its key across a save; a malformed key is refused', () => {
  const path = tempConfig(SEED_FILE);
  const config = loadConfig(path);
  config.agents[0]!.mounts[0]!.review = 'abcdefghij012345';
  saveConfig(path, config);
  assert.match(readFileSync(path, 'utf8'), /review = "abcdefghij012345"/);
  assert.equal(loadConfig(path).agents[0]!.mounts[0]!.review, 'abcdefghij012345');
  for (const bad of ['"../../etc"', '"ABCDEFGHIJ012345"', '"short"', '1']) {
    assert.throws(() => loadConfig(tempConfig(`${SEED_FILE}review = ${bad}\n`)), /"review" must be 16 of \[a-z0-9\]/, bad);
  }
});
