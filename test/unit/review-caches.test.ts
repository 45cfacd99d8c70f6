// Review 8 (adversarial): the start-up caches. The V8 code cache next to the run bundle and the
// parsed-config cache in the human's state directory, attacked as a colleague or the agent would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as fs from 'node:fs';
import { parsedCacheKey } from '../../src/config/parsed-cache.js';
import { REPO } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

/** bin/au's readTrustedCache, taken from the file itself (it is not exported). */
function readTrustedCache(): (path: string, bundleStats: fs.Stats, f: typeof fs) => Buffer | undefined {
  const text = readFileSync(join(REPO, 'bin', 'au'), 'utf8');
  const start = text.indexOf('function readTrustedCache');
  assert.ok(start > 0, 'bin/au has readTrustedCache');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`${text.slice(start)}\nreturn readTrustedCache;`)() as never;
}

const isRoot = process.getuid?.() === 0;

// The bundle is group-writable for its own group (a shared checkout, umask 002): the check only
// compares permission bits, never the group, so a cache writable by ANOTHER group (whose
// members cannot write the bundle) is loaded as compiled code.
test(
  'attack: the code cache writable by a group that cannot write the bundle is not loaded',
  { skip: !isRoot && 'needs root (chown)' },
  () => {
    const dir = tempDir();
    const bundle = join(dir, 'run.cjs');
    const cache = `${bundle}.cache`;
    writeFileSync(bundle, '1');
    writeFileSync(cache, 'x');
    chownSync(bundle, 0, 0);
    chmodSync(bundle, 0o664);
    chownSync(cache, 0, 65534); // group nogroup: may write the cache, not the bundle
    chmodSync(cache, 0o664);
    const fd = openSync(bundle, 'r');
    const st = fstatSync(fd);
    closeSync(fd);
    assert.equal(readTrustedCache()(cache, st, fs), undefined, 'a cache writable by another group was trusted');
  },
);

test(
  'attack: a code cache writable by group or others when the bundle is not, or owned by another uid, is not loaded',
  { skip: !isRoot && 'needs root (chown)' },
  () => {
    const dir = tempDir();
    const bundle = join(dir, 'run.cjs');
    const cache = `${bundle}.cache`;
    writeFileSync(bundle, '1');
    writeFileSync(cache, 'x');
    chmodSync(bundle, 0o644);
    const st = fstatSync(openSync(bundle, 'r'));
    for (const mode of [0o664, 0o646]) {
      chmodSync(cache, mode);
      assert.equal(readTrustedCache()(cache, st, fs), undefined, `mode ${mode.toString(8)}`);
    }
    chmodSync(cache, 0o644);
    chownSync(cache, 65534, 65534);
    assert.equal(readTrustedCache()(cache, st, fs), undefined, 'owned by nobody');
  },
);

// V8 accepts a code cache for another source when only the length matches (its "source hash" is
// the length): a cache left from another bundle of the same size would run that bundle's code.
// V8 cannot be changed, so bin/au refuses a cache older than the bundle (a bundle rebuilt or
// replaced after its cache was made); the build writes the cache after the bundle, an install
// gives both the same mtime.
test('attack: a code cache older than the bundle (made for another source of the same length) is not loaded', () => {
  const dir = tempDir();
  const bundle = join(dir, 'run.cjs');
  const cache = `${bundle}.cache`;
  writeFileSync(bundle, '1');
  writeFileSync(cache, 'x');
  chmodSync(bundle, 0o644);
  chmodSync(cache, 0o644);
  fs.utimesSync(cache, 1_000_000, 1_000_000);
  fs.utimesSync(bundle, 2_000_000, 2_000_000);
  const stale = fstatSync(openSync(bundle, 'r'));
  assert.equal(readTrustedCache()(cache, stale, fs), undefined, 'a cache older than the bundle was trusted');
  fs.utimesSync(bundle, 1_000_000, 1_000_000); // as npm pack / install leave them: the same mtime
  const same = fstatSync(openSync(bundle, 'r'));
  assert.ok(readTrustedCache()(cache, same, fs), "a cache with the bundle's mtime is used");
});

// The parsed-config key: the human's tool rewrites the config in place to the same size and puts
// the mtime back (cp -p, rsync -t, touch -r): the ctime still moved, so the key does.
test('attack: a config rewritten in place to the same size with its mtime restored gets another parsed-cache key', () => {
  const dir = tempDir();
  const path = join(dir, 'config.toml');
  writeFileSync(path, 'read_only = true \n');
  copyFileSync(path, `${path}.bak`);
  spawnSync('touch', ['-r', path, `${path}.bak`]);
  const keyOf = (): string => {
    const fd = openSync(path, 'r');
    try {
      return parsedCacheKey(path, fstatSync(fd, { bigint: true }), 'code');
    } finally {
      closeSync(fd);
    }
  };
  const before = keyOf();
  writeFileSync(path, 'read_only = false\n');
  assert.equal(spawnSync('touch', ['-r', `${path}.bak`, path]).status, 0);
  assert.notEqual(keyOf(), before, 'same key for another content');
});

// The same with an ACL: a named user (a colleague outside the bundle's group) given write on
// the cache shows as group bits (the mask) that the group-writable bundle has too.
test(
  'attack: a code cache an ACL lets a colleague write (bundle group-writable) is not loaded',
  { skip: !isRoot && 'needs root (setfacl)' },
  () => {
    const dir = tempDir();
    const bundle = join(dir, 'run.cjs');
    const cache = `${bundle}.cache`;
    writeFileSync(bundle, '1');
    writeFileSync(cache, 'x');
    chmodSync(bundle, 0o664);
    chmodSync(cache, 0o644);
    assert.equal(spawnSync('setfacl', ['-m', 'u:nobody:rw', cache]).status, 0);
    const st = fstatSync(openSync(bundle, 'r'));
    assert.equal(readTrustedCache()(cache, st, fs), undefined, 'a cache a named user may write was trusted');
  },
);

const TOML = (readOnly: string): string => `[[agents]]
user_name = "aut-r8cache"
su_as_agent_group = "su-as-aut-r8cache"
entrypoint = "/usr/local/libexec/agent-as-unix-user/aut-r8cache/su_as_agent"
entrypoint_sha256 = "${'a'.repeat(64)}"
bootstrapped = true
mounts = [{ source = "/home/h/src", target = "/home/aut-r8cache/src", read_only = ${readOnly} }]
group_gid = 1002
`;

// Through the real bundle: a share made read-only by an in-place, same-size edit whose mtime
// was put back must not come back read-write from the parsed cache.
test('attack: au run (bundled) does not reuse a parse after a same-size edit with the mtime restored (a share made read-only)', () => {
  const dir = tempDir();
  const home = join(dir, 'home');
  const config = join(dir, 'config.toml');
  const run = (): string =>
    spawnSync(process.execPath, [join(REPO, 'bin', 'au'), 'run', '--dry-run', '-C', config, '-a', 'aut-r8cache', '--', 'true'], {
      env: { PATH: '/usr/bin:/bin', HOME: home },
      encoding: 'utf8',
    }).stderr;
  writeFileSync(config, TOML('false'));
  copyFileSync(config, `${config}.bak`);
  spawnSync('touch', ['-r', config, `${config}.bak`]);
  const first = run();
  const kept = join(home, '.local', 'state', 'agent-as-unix-user', 'parsed-config.json');
  assert.match(readFileSync(kept, 'utf8'), /"readOnly":false/, 'set-up: the run kept its parse');
  writeFileSync(config, TOML('true ')); // same size
  spawnSync('touch', ['-r', `${config}.bak`, config]);
  run();
  assert.match(readFileSync(kept, 'utf8'), /"readOnly":true/, `the parse of the read-only share was not kept anew: ${first.slice(0, 300)}`);
  assert.doesNotMatch(readFileSync(kept, 'utf8'), /"readOnly":false/, 'the read-write parse is still the kept one');
});

// homeDirectory() (new in this change, replacing os.homedir()) takes $HOME as it is: empty or
// relative, the config path and the state dir are relative to the cwd, where `au run` is
// typically started, a share the agent writes. The planted config (not even the human's
// file) is read, its mounts would be used with the human's real agent and entrypoint, and the
// parsed cache is written into the share. Same as os.homedir() before, kept by the rewrite.
for (const home of ['', '.']) {
  test(
    `attack: au run with HOME=${JSON.stringify(home)} in an agent-writable folder does not read a config planted there`,
    { skip: !isRoot && 'needs root (chown)' },
    () => {
      const dir = tempDir();
      chmodSync(dir, 0o777);
      fs.mkdirSync(join(dir, '.config'));
      writeFileSync(
        join(dir, '.config', 'agent-as-unix-user.toml'),
        `[[agents]]\nuser_name = "aut-r8planted"\nsu_as_agent_group = "su-as-aut-r8planted"\nentrypoint = "/r8-planted/su_as_agent"\nentrypoint_sha256 = "${'a'.repeat(64)}"\nbootstrapped = true\nmounts = [{ source = "/root/.ssh", target = "/home/aut-r8planted/ssh", read_only = false }]\n`,
      );
      spawnSync('chown', ['-R', 'nobody', dir]);
      const r = spawnSync(process.execPath, [join(REPO, 'bin', 'au'), 'run', '--dry-run', '-a', 'aut-r8planted', '--', 'true'], {
        cwd: dir,
        env: { PATH: '/usr/bin:/bin', HOME: home },
        encoding: 'utf8',
      });
      assert.doesNotMatch(r.stderr, /r8-planted/, `the planted config was read: ${r.stderr}`);
      assert.equal(fs.existsSync(join(dir, '.local')), false, 'au wrote its state into the cwd');
    },
  );
}

// process.dlopen loads the addon by a path built from the bundle's __dirname (bin/au passes the
// dirname of the resolved bundle path): an addon planted under the cwd (a share the agent
// writes) at the same relative place must never be loaded.
test(
  'attack: au run never dlopens an au_native.node planted under the cwd',
  { skip: spawnSync('cc', ['--version']).status !== 0 && 'needs a C compiler' },
  () => {
    const dir = tempDir();
    const marker = join(dir, 'LOADED');
    const lib = join(dir, 'native', 'build', 'Release');
    fs.mkdirSync(lib, { recursive: true });
    fs.mkdirSync(join(dir, 'dist'));
    const source = join(dir, 'evil.c');
    writeFileSync(
      source,
      `#include <stdio.h>\n__attribute__((constructor)) static void evil(void) { FILE *f = fopen("${marker}", "w"); if (f) fclose(f); }\n`,
    );
    assert.equal(spawnSync('cc', ['-shared', '-fPIC', '-o', join(lib, 'au_native.node'), source]).status, 0);
    for (const cwd of [dir, join(dir, 'dist')]) {
      spawnSync(
        process.execPath,
        [join(REPO, 'bin', 'au'), 'run', '--dry-run', '-C', join(dir, 'none.toml'), '-a', 'aut-x', '--', 'true'],
        { cwd, env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home') }, encoding: 'utf8' },
      );
    }
    assert.equal(fs.existsSync(marker), false, 'the planted addon ran');
  },
);
