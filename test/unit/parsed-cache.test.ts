import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  fstatSync,
  linkSync,
  openSync,
  closeSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { parsedCacheKey, parsedCachePath, readParsedCache, writeParsedCache } from '../../src/config/parsed-cache.js';
import { configFromToml } from '../../src/config/schema.js';
import { REPO } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

const TOML = `[[agents]]
user_name = "aut-cache"
su_as_agent_group = "su-as-aut-cache"
entrypoint = "/usr/local/libexec/agent-as-unix-user/aut-cache/su_as_agent"
entrypoint_sha256 = "${'a'.repeat(64)}"
bootstrapped = true
mounts = [{ source = "/home/h/src", target = "/home/aut-cache/src", read_only = true }]
group_gid = 1002
`;

function configFile(dir: string, text = TOML): { path: string; key: string } {
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  const key = parsedCacheKey(path, fstatSync(fd, { bigint: true }), 'code-1');
  closeSync(fd);
  return { path, key };
}

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

test('the parsed config is given back for the same file state and code, and for nothing else', () => {
  const dir = tempDir();
  const cache = parsedCachePath(join(dir, 'state'));
  const { path, key } = configFile(dir);
  const config = configFromToml(parse(TOML));
  assert.equal(readParsedCache(cache, key), undefined, 'no cache yet');
  writeParsedCache(cache, key, config);
  assert.equal(fstatSync(openSync(cache, 'r')).mode & 0o777, 0o600);
  assert.deepEqual(readParsedCache(cache, key), roundTrip(config));
  const fd = openSync(path, 'r');
  const stats = fstatSync(fd, { bigint: true });
  closeSync(fd);
  assert.equal(readParsedCache(cache, parsedCacheKey(path, stats, 'code-2')), undefined, 'another au build parses again');
  assert.equal(
    readParsedCache(cache, parsedCacheKey(join(dir, 'other.toml'), stats, 'code-1')),
    undefined,
    'another config path parses again',
  );
  // The file changed (even to the same size): its ctime/mtime, so the key, moved on.
  const changed = configFile(dir, TOML.replace('aut-cache/su_as_agent', 'aut-cachX/su_as_agent'));
  assert.notEqual(changed.key, key);
  assert.equal(readParsedCache(cache, changed.key), undefined);
});

test('a config that JSON would not give back as it is (a date among unknown keys) is not kept', () => {
  const dir = tempDir();
  const cache = parsedCachePath(dir);
  const text = `${TOML}\n[[agents]]\nuser_name = "aut-other"\nsu_as_agent_group = "su-as-aut-other"\nentrypoint = "/x"\nentrypoint_sha256 = ""\nbootstrapped = true\nmounts = []\nwhen = 1979-05-27T07:32:00Z\n`;
  const { key } = configFile(dir, text);
  writeParsedCache(cache, key, configFromToml(parse(text)));
  assert.equal(readParsedCache(cache, key), undefined);
});

// The cache decides what au run executes (the entrypoint path, its hash, the shares): a forged
// entry with the right key must not be taken from a file anyone but the human could write.
test(
  'attack: a cache entry with the right key is not used from a file others could have written',
  { skip: process.getuid?.() !== 0 && 'needs root (chown)' },
  () => {
    const dir = tempDir();
    const { key } = configFile(dir);
    const forged = configFromToml(
      parse(TOML.replace('/usr/local/libexec/agent-as-unix-user/aut-cache/su_as_agent', '/home/aut-cache/evil')),
    );
    const cache = parsedCachePath(join(dir, 'state'));
    writeParsedCache(cache, key, forged);
    assert.equal(readParsedCache(cache, key)?.agents[0]?.entrypoint, '/home/aut-cache/evil', 'set-up: the entry is read as written');
    const others = join(dir, 'others.json');
    for (const [mode, why] of [
      [0o620, 'writable by the group'],
      [0o606, 'writable by others'],
      [0o640, 'readable by the group (an ACL mask that may grant a named user more)'],
    ] as const) {
      copyFileSync(cache, others);
      chmodSync(others, mode);
      assert.equal(readParsedCache(others, key), undefined, `a cache ${why} was used`);
    }
    copyFileSync(cache, others);
    chmodSync(others, 0o600);
    chownSync(others, 65534, 65534);
    assert.equal(readParsedCache(others, key), undefined, 'a cache owned by another user was used');
    const link = join(dir, 'link.json');
    symlinkSync(cache, link);
    assert.equal(readParsedCache(link, key), undefined, 'a symlink to a cache was followed');
    const hard = join(dir, 'hard.json');
    linkSync(cache, hard);
    assert.equal(readParsedCache(hard, key), undefined, 'a cache with another hard link was used');
  },
);

// Through the bundle, where au run keeps it: a changed config is read anew, never the kept one.
test('au run (bundled) keeps the parsed config and reads a changed config anew', () => {
  const dir = tempDir();
  const home = join(dir, 'home');
  const config = join(dir, 'config.toml');
  const run = (): string =>
    spawnSync(process.execPath, [join(REPO, 'bin', 'au'), 'run', '--dry-run', '-C', config, '-a', 'aut-cache', '--', 'true'], {
      env: { PATH: '/usr/bin:/bin', HOME: home },
      encoding: 'utf8',
    }).stderr;
  writeFileSync(config, TOML);
  const first = run();
  assert.match(first, /agent-as-unix-user\/aut-cache:/);
  const kept = join(home, '.local', 'state', 'agent-as-unix-user', 'parsed-config.json');
  assert.match(readFileSync(kept, 'utf8'), /aut-cache\/su_as_agent/, 'the run kept its parse');
  assert.equal(run(), first);
  writeFileSync(
    config,
    TOML.replaceAll(
      '/usr/local/libexec/agent-as-unix-user/aut-cache/su_as_agent',
      '/usr/local/libexec/agent-as-unix-user/aut-cachf/su_as_agent',
    ),
  );
  assert.match(run(), /agent-as-unix-user\/aut-cachf:/);
});
