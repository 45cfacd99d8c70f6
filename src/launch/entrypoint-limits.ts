// What su_as_agent.c refuses in its arguments, known before it runs: so that `au mount add`
// refuses the share that would break every run, and `au info` / `au doctor` fail on a config
// the entrypoint would refuse, instead of saying healthy while every run exits 125.
// The numbers are the C file's (MAX_MOUNTS, MAX_ENV); a unit test reads them from there.
import type { MountConfig } from '../config/schema.js';

/** At most this many shares (--mount-ro/--mount-rw/--mount-review) in one run, and as many --seed paths. */
export const MAX_SHARES = 64;
export const MAX_SEEDS = 64;
/** At most this many AU_ENV_* variables. */
export const MAX_ENV_VARIABLES = 256;
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** An absolute path without empty, `.` or `..` components and without a trailing slash (the C path_ok). */
export function isNormalisedPath(path: string): boolean {
  if (path.length === 0 || Buffer.byteLength(path) >= PATH_MAX || !path.startsWith('/') || path.endsWith('/')) return false;
  return path
    .slice(1)
    .split('/')
    .every((part) => part !== '' && part !== '.' && part !== '..' && Buffer.byteLength(part) <= NAME_MAX);
}

const strictlyInside = (path: string, dir: string): boolean => path.startsWith(`${dir}/`) && path.length > dir.length + 1;

export interface EntrypointInput {
  mounts: readonly MountConfig[];
  seeds: readonly string[];
  envVariables: number;
  workdir: string;
  /** The human's home as in passwd, and resolved: a share source must be inside one of them. */
  humanHomes: readonly string[];
  agentHome: string;
}

/** Each thing the entrypoint would refuse, as a line that says what to do. */
export function entrypointRefusals(input: EntrypointInput): string[] {
  const problems: string[] = [];
  if (input.mounts.length > MAX_SHARES) {
    problems.push(`${input.mounts.length} shares, but one run can mount at most ${MAX_SHARES}: remove some (au mount remove)`);
  }
  if (input.seeds.length > MAX_SEEDS) problems.push(`${input.seeds.length} files to seed the throw-away home, at most ${MAX_SEEDS}`);
  if (input.envVariables > MAX_ENV_VARIABLES) problems.push(`${input.envVariables} variables for the agent, at most ${MAX_ENV_VARIABLES}`);
  for (const mount of input.mounts) {
    if (!isNormalisedPath(mount.source) || !input.humanHomes.some((home) => strictlyInside(mount.source, home))) {
      problems.push(`share source ${mount.source} is not a normalised path inside your home: fix or remove it (au mount remove)`);
    }
    if (!isNormalisedPath(mount.target) || !strictlyInside(mount.target, input.agentHome)) {
      problems.push(`share target ${mount.target} is not a normalised path inside ${input.agentHome}: fix or remove it (au mount remove)`);
    }
  }
  if (!input.workdir.startsWith('/') || Buffer.byteLength(input.workdir) >= PATH_MAX)
    problems.push(`working directory ${input.workdir} is not an absolute path`);
  return problems;
}
