// End-to-end test fixtures on the real machine (tests run as root): a real non-root human
// with sudo, real agents created by `au` as that human, and cleanup of exactly what a test
// created, even when it fails. Every name is unique: aut-<random>.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

export function sh(
  argv: readonly string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Result {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const r: SpawnSyncReturns<string> = spawnSync(file, args, {
    input: options.input ?? '',
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? 128 + 9, stdout: r.stdout, stderr: r.stderr };
}

export function must(argv: readonly string[]): string {
  const r = sh(argv);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export const uniqueName = (prefix = 'aut'): string => `${prefix}-${randomBytes(4).toString('hex')}`;

export const userExists = (name: string): boolean => sh(['getent', 'passwd', name]).status === 0;
export const groupExists = (name: string): boolean => sh(['getent', 'group', name]).status === 0;
export const uidOf = (name: string): number => Number(must(['id', '-u', name]).trim());

let installedPackage: string | undefined;
/**
 * A copy of the built package that any user can read: the checkout itself may live under a
 * private directory (root's home), and the human must run `au` from somewhere it can read.
 */
export function packageForHumans(): string {
  if (installedPackage) return installedPackage;
  const dir = mkdtempSync(join(tmpdir(), 'aut-pkg-'));
  chmodSync(dir, 0o755);
  for (const part of ['bin', 'dist', 'package.json', 'native/build/Release/au_native.node'])
    cpSync(join(REPO, part), join(dir, part), { recursive: true });
  for (const part of ['package.json', 'lib', 'build/Release']) {
    cpSync(join(REPO, 'node_modules/node-pty', part), join(dir, 'node_modules/node-pty', part), { recursive: true });
  }
  must(['chmod', '-R', 'a+rX', dir]);
  installedPackage = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `au` as argv: Node and the copy of the package that every user can read. */
export const auArgv = (): string[] => [process.execPath, join(packageForHumans(), 'bin', 'au')];

/** `au` as a human types it in a shell. */
export const auCommandLine = (): string => auArgv().join(' ');

let fallbackPackage: string | undefined;
/** The same package without the native addon: exercises au's pure-Node fallback paths. */
export function packageWithoutNative(): string {
  if (fallbackPackage) return fallbackPackage;
  const dir = mkdtempSync(join(tmpdir(), 'aut-pkg-nonative-'));
  chmodSync(dir, 0o755);
  cpSync(packageForHumans(), dir, { recursive: true });
  rmSync(join(dir, 'native'), { recursive: true, force: true });
  fallbackPackage = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const AU_ENV_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';

export class Human {
  readonly home: string;
  readonly uid: number;
  private readonly agents = new Set<string>();

  constructor(readonly name: string) {
    this.home = `/home/${name}`;
    this.uid = uidOf(name);
  }

  /** The environment a login shell of the human would have (plus `extra`). */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { HOME: this.home, USER: this.name, LOGNAME: this.name, PATH: AU_ENV_PATH, LANG: 'C.UTF-8', ...extra };
  }

  /** ARGV as the human would run it: runuser (fresh credentials, like a login) with env() only. */
  asHuman(argv: readonly string[], extra: Record<string, string> = {}): string[] {
    return ['runuser', '-u', this.name, '--', 'env', '-i', ...Object.entries(this.env(extra)).map(([k, v]) => `${k}=${v}`), ...argv];
  }

  /** Runs a command as the human (fresh credentials from the group database, like a login). */
  run(argv: readonly string[], options: { input?: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Result {
    return sh(this.asHuman(argv, options.env), {
      input: options.input,
      cwd: options.cwd ?? this.home,
      timeoutMs: options.timeoutMs,
    });
  }

  au(args: readonly string[], options: { input?: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Result {
    return this.run([process.execPath, join(packageForHumans(), 'bin', 'au'), ...args], options);
  }

  /** `au new` for a fresh unique agent, registered for cleanup. */
  newAgent(name = uniqueName()): string {
    this.agents.add(name);
    const r = this.au(['new', '-y', '-a', name]);
    if (r.status !== 0) throw new Error(`au new -a ${name} failed (${r.status}): ${r.stderr}`);
    return name;
  }

  /** Registers an agent name created some other way, so cleanup removes it. */
  track(agent: string): void {
    this.agents.add(agent);
  }

  /** Deletes every agent this human created, through au and then by force for leftovers. */
  cleanup(): void {
    for (const agent of this.agents) {
      this.au(['delete', '-y', '-H', '-a', agent]);
      forceRemoveAgent(agent);
    }
    sh(['pkill', '-KILL', '-u', this.name]);
    sh(['userdel', '--remove', this.name]);
    rmSync(`/etc/sudoers.d/${this.name}`, { force: true });
  }
}

/** Removes whatever is left of an agent the test created (only names it generated). */
export function forceRemoveAgent(agent: string): void {
  if (!agent.startsWith('aut-')) throw new Error(`refusing to force-remove ${agent}: not a test name`);
  if (userExists(agent)) {
    sh(['pkill', '-KILL', '-u', agent]);
    sh(['userdel', '--remove', agent]);
  }
  for (const group of [agent, `su-as-${agent}`]) if (groupExists(group)) sh(['groupdel', group]);
  rmSync(`/usr/local/libexec/agent-as-unix-user/${agent}`, { recursive: true, force: true });
  rmSync(`/home/${agent}`, { recursive: true, force: true });
  rmSync(`/var/lib/agent-as-unix-user/review/${agent}`, { recursive: true, force: true }); // review shares' staging
  removeCgroupsOf(agent);
  if (sh(['nft', 'list', 'table', 'inet', `au-${agent}`]).status === 0) sh(['nft', 'delete', 'table', 'inet', `au-${agent}`]);
  // The line au new adds to the cron/at deny files (only this exact name; other lines stay).
  for (const file of ['/etc/cron.deny', '/etc/at.deny']) if (existsSync(file)) sh(['sed', '-i', `/^${agent}$/d`, file]);
}

/** The agent's cgroups (made by its entrypoint for limits, by `au net apply` for a policy), run cgroups first. */
export function removeCgroupsOf(agent: string): void {
  for (const hierarchy of ['memory', 'cpu', 'cpu,cpuacct', 'pids', '.', 'unified']) {
    const dir = `/sys/fs/cgroup/${hierarchy}/agent-as-unix-user/${agent}`;
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) sh(['rmdir', `${dir}/${entry.name}`]);
    sh(['rmdir', dir]);
    sh(['rmdir', `/sys/fs/cgroup/${hierarchy}/agent-as-unix-user`]); // fails while other agents have theirs
  }
}

/** A real non-root human with passwordless sudo, as on a developer's machine. */
export function createHuman(): Human {
  const name = uniqueName('aut-h');
  must(['useradd', '--create-home', '--shell', '/bin/bash', name]);
  chmodSync(`/home/${name}`, 0o750);
  writeFileSync(`/etc/sudoers.d/${name}`, `${name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  return new Human(name);
}
