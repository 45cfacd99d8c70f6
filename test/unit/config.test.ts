import { tempDir } from '../helpers/temp.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  assert.throws(() => loadConfig(tempConfig('[[kept_accounts]]\nuser_name = "x"\nsu_as_agent_group = "su-as-x"\ngid = 1\n')), /"uid" and "gid" are required/);
});
