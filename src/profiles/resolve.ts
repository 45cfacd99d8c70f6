// Profiles as the human configured them: the built-ins, overridden field by field by
// `[profiles.NAME]` tables of the config, plus the human's own profiles. A profile can never
// take the name of a built-in command (`au run` stays `au run`).
import { AuError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/schema.js';
import type { SecretSource } from '../secrets/sources.js';
import { BUILTIN_PROFILES, type Profile } from './builtin.js';

export const COMMAND_NAMES = [
  'new',
  'run',
  'mount',
  'info',
  'list',
  'delete',
  'doctor',
  'limit',
  'net',
  'server',
  'attach',
  'sessions',
  'completions',
  'profiles',
  'profile',
  'aliases',
  'install',
  'update',
  'keys',
  'migrate',
  'changes',
  'accept',
  'discard',
  'help',
] as const;

const PROFILE_NAME = /^[a-z][a-z0-9_-]*$/;

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ConfigError(`${where} must be a list of strings`);
  return value;
}

export function parseSecretSource(value: unknown, where: string): SecretSource {
  if (!isTable(value)) throw new ConfigError(`${where} must be a table: { env = "NAME" } or { command = [...] }`);
  if (typeof value.env === 'string') return { env: value.env };
  if (value.command !== undefined) {
    const command = stringList(value.command, `${where}.command`);
    if (command.length === 0) throw new ConfigError(`${where}.command must not be empty`);
    const timeout = value.timeout_ms;
    if (timeout !== undefined && (typeof timeout !== 'number' || timeout <= 0))
      throw new ConfigError(`${where}.timeout_ms must be a positive number`);
    return timeout === undefined ? { command } : { command, timeoutMs: timeout };
  }
  throw new ConfigError(`${where} needs env = "NAME" or command = [...]`);
}

function parseSecrets(value: unknown, where: string): Record<string, SecretSource> {
  if (!isTable(value)) throw new ConfigError(`${where} must be a table`);
  return Object.fromEntries(Object.entries(value).map(([key, source]) => [key, parseSecretSource(source, `${where}.${key}`)]));
}

function overlay(base: Profile, table: Table, where: string): Profile {
  const profile: Profile = { ...base, secrets: { ...base.secrets } };
  if (table.command !== undefined) {
    profile.command = typeof table.command === 'string' ? [table.command] : stringList(table.command, `${where}.command`);
    if (profile.command.length === 0) throw new ConfigError(`${where}.command must not be empty`);
  }
  if (table.env !== undefined) profile.env = stringList(table.env, `${where}.env`);
  if (table.secrets !== undefined) Object.assign(profile.secrets, parseSecrets(table.secrets, `${where}.secrets`));
  if (table.install_hint !== undefined) {
    if (typeof table.install_hint !== 'string') throw new ConfigError(`${where}.install_hint must be a string`);
    profile.installHint = table.install_hint;
  }
  if (table.package !== undefined) {
    if (typeof table.package !== 'string' || table.package === '')
      throw new ConfigError(`${where}.package must be an npm package name (or a tarball path)`);
    profile.package = table.package;
  }
  if (table.node_major !== undefined) {
    if (typeof table.node_major !== 'number' || !Number.isInteger(table.node_major))
      throw new ConfigError(`${where}.node_major must be a whole number`);
    profile.nodeMajor = table.node_major;
  }
  if (table.state_dirs !== undefined) profile.stateDirs = stringList(table.state_dirs, `${where}.state_dirs`);
  if (table.settings_files !== undefined) profile.settingsFiles = stringList(table.settings_files, `${where}.settings_files`);
  if (table.credential_files !== undefined) profile.credentialFiles = stringList(table.credential_files, `${where}.credential_files`);
  return profile;
}

/** Every profile: built-ins (possibly overridden) then the human's own, by name. */
export function allProfiles(config: Config): Profile[] {
  const profiles = new Map(BUILTIN_PROFILES.map((p) => [p.name, p]));
  const tables = config.extra.profiles ?? {};
  if (!isTable(tables)) throw new ConfigError('"profiles" must be a table of [profiles.NAME] tables');
  for (const [name, table] of Object.entries(tables)) {
    const where = `profiles.${name}`;
    if (!PROFILE_NAME.test(name)) throw new ConfigError(`${where}: invalid profile name`);
    if ((COMMAND_NAMES as readonly string[]).includes(name))
      throw new ConfigError(`${where}: a profile cannot shadow the command \`au ${name}\``);
    if (!isTable(table)) throw new ConfigError(`${where} must be a table`);
    const base = profiles.get(name);
    if (!base && table.command === undefined) throw new ConfigError(`${where}: a new profile needs a command`);
    profiles.set(
      name,
      overlay(
        base ?? { name, command: [], env: [], secrets: {}, installHint: '', stateDirs: [], settingsFiles: [], credentialFiles: [] },
        table,
        where,
      ),
    );
  }
  return [...profiles.values()];
}

export class UnknownProfileError extends AuError {}

export function findProfile(config: Config, name: string): Profile {
  const profile = allProfiles(config).find((p) => p.name === name);
  if (!profile) throw new UnknownProfileError(`unknown profile ${JSON.stringify(name)} (see \`au profiles\`)`);
  return profile;
}

/** Top-level `[secrets]`: sources for `-e NAME` given without a value. */
export function configuredSecrets(config: Config): Record<string, SecretSource> {
  const table = config.extra.secrets;
  return table === undefined ? {} : parseSecrets(table, 'secrets');
}
