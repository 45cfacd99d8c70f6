// The environment the agent gets: LANG, TERM and the terminal's identity (COLORTERM...) from
// the human, plus the pairs given with
// -e. The entrypoint builds the agent's environment from scratch; we hand it the pairs as
// AU_ENV_<KEY> variables because glibc strips some names (TMPDIR, LD_*...) from the
// environment of setuid programs, and argv would show values to every user in `ps`.
import { AuUsageError } from '../errors.js';
export class EnvError extends AuUsageError {}

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the entrypoint: the agent's identity from passwd, SHELL (bash) and its runtime directory. */
const RESERVED_KEYS = new Set(['HOME', 'USER', 'LOGNAME', 'SHELL', 'XDG_RUNTIME_DIR']);
export const ENV_PREFIX = 'AU_ENV_';
const INHERITED = ['LANG', 'TERM'] as const;
/**
 * How the human's terminal identifies itself (truecolor support, the emulator's name): TUIs
 * choose colours and key protocols from these. The entrypoint reads only LANG, TERM and
 * AU_ENV_*, so they travel as AU_ENV_ pairs; an explicit -e of the same name wins.
 */
const TERMINAL_IDENTITY = ['COLORTERM', 'TERM_PROGRAM', 'TERM_PROGRAM_VERSION'] as const;

/**
 * Parses `KEY=VALUE` (split on the first `=`, so values may contain `=`), or `KEY` alone, whose
 * value `lookup` provides (the human's environment, or a configured secret source).
 */
export function parseEnvPair(item: string, lookup?: (key: string) => string | undefined): [string, string] {
  const eq = item.indexOf('=');
  if (eq < 0) {
    checkKey(item, item);
    const value = lookup?.(item);
    if (value === undefined)
      throw new EnvError(`invalid --env ${JSON.stringify(item)}: expected KEY=VALUE, or a KEY set in your environment`);
    return [item, value];
  }
  const key = item.slice(0, eq);
  checkKey(key, item);
  return [key, item.slice(eq + 1)];
}

function checkKey(key: string, item: string): void {
  if (key === '') throw new EnvError(`invalid --env ${JSON.stringify(item)}: the key is empty`);
  if (!KEY_PATTERN.test(key)) throw new EnvError(`invalid --env key ${JSON.stringify(key)}: use letters, digits and _`);
  if (RESERVED_KEYS.has(key)) throw new EnvError(`--env cannot set ${key}: the agent's own value is always used`);
}

/** The complete environment handed to the entrypoint: nothing else of the human's leaks. */
export function entrypointEnvironment(
  pairs: readonly (readonly [string, string])[],
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = from[key];
    if (value !== undefined) env[key] = value;
  }
  for (const key of TERMINAL_IDENTITY) {
    const value = from[key];
    if (value !== undefined) env[`${ENV_PREFIX}${key}`] = value;
  }
  for (const [key, value] of pairs) env[`${ENV_PREFIX}${key}`] = value;
  return env;
}
