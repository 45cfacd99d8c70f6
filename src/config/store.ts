// Loading and saving the config file. Readers need no lock: writes are atomic (temp file,
// fsync, rename, fsync of the directory), so a reader sees the old or the new file, never half.
// Writers hold an exclusive flock on a sidecar lock file for their whole read-modify-write.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { type Config, ConfigError, configFromToml, configToToml, emptyConfig } from './schema.js';
import { acquireExclusiveLock } from './lock.js';

export const defaultConfigPath = (): string => join(homedir(), '.config', 'agent-as-unix-user.toml');

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyConfig();
    throw new ConfigError(`cannot read config ${path}: ${(error as Error).message}`);
  }
  if (text.trim() === '') return emptyConfig();
  try {
    return configFromToml(parse(text));
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`config ${path}: ${error.message}`);
    const first = (error as Error).message.split('\n')[0];
    throw new ConfigError(`config ${path} is not valid TOML: ${first}`);
  }
}

function writeAtomically(path: string, text: string): void {
  const dir = dirname(path);
  const temp = join(dir, `.${process.pid}.${Date.now()}.agent-as-unix-user.toml.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function saveConfig(path: string, config: Config): void {
  writeAtomically(path, stringify(configToToml(config)));
}

/**
 * Runs `change` on the current config under the lock and saves what it leaves, even when it
 * throws after having changed the config (so a half-done operation keeps its record).
 * With dryRun nothing is written.
 */
export function updateConfig<T>(path: string, dryRun: boolean, change: (config: Config, save: () => void) => T): T {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const release = acquireExclusiveLock(`${path}.lock`);
  try {
    const config = loadConfig(path);
    const save = (): void => {
      if (!dryRun) saveConfig(path, config);
    };
    return change(config, save);
  } finally {
    release();
  }
}
