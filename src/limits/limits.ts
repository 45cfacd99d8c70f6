// Per-agent resource limits: what the human may ask for, how they are stored in the config,
// and the numbers handed to the entrypoint, which applies them on every run (see su_as_agent.c).
// Pure: no side effects, cheap to load on the `au run` path.
import { AuUsageError } from '../errors.js';

export interface Limits {
  /** Bytes of memory for all of the agent's processes together (cgroup). */
  memory?: number;
  /** Percent of one CPU (150 = one and a half CPUs) (cgroup). */
  cpu?: number;
  /** Processes and threads: cgroup pids.max and RLIMIT_NPROC (per uid). */
  pids?: number;
  /** Open files per process: RLIMIT_NOFILE. */
  nofile?: number;
}

export const LIMIT_KEYS = ['memory', 'cpu', 'pids', 'nofile'] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];

export class LimitError extends AuUsageError {}

/** Ranges the entrypoint accepts (it checks them again). */
const RANGES: Record<LimitKey, [number, number]> = {
  memory: [2 ** 20, 2 ** 50],
  cpu: [1, 100_000],
  pids: [1, 4_194_304],
  nofile: [8, 1_048_576],
};

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

function inRange(key: LimitKey, value: number, input: string): number {
  const [lo, hi] = RANGES[key];
  if (!Number.isSafeInteger(value) || value < lo || value > hi) {
    throw new LimitError(`invalid --${key} ${JSON.stringify(input)}: must be between ${formatLimit(key, lo)} and ${formatLimit(key, hi)}`);
  }
  return value;
}

/** `512M`, `16G`, `1.5G`, `1048576` (bytes); K/M/G/T are powers of 1024, an optional trailing B or iB. */
export function parseMemory(input: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(input.trim());
  if (!m) throw new LimitError(`invalid --memory ${JSON.stringify(input)}: expected a size such as 512M or 16G`);
  return inRange('memory', Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!), input);
}

/** `150%` or `150`: percent of one CPU. */
export function parseCpu(input: string): number {
  const m = /^(\d+)%?$/.exec(input.trim());
  if (!m) throw new LimitError(`invalid --cpu ${JSON.stringify(input)}: expected a percentage of one CPU such as 150%`);
  return inRange('cpu', Number(m[1]), input);
}

export function parseCount(key: 'pids' | 'nofile', input: string): number {
  if (!/^\d+$/.test(input.trim())) throw new LimitError(`invalid --${key} ${JSON.stringify(input)}: expected a whole number`);
  return inRange(key, Number(input.trim()), input);
}

export function parseLimit(key: LimitKey, input: string): number {
  if (key === 'memory') return parseMemory(input);
  if (key === 'cpu') return parseCpu(input);
  return parseCount(key, input);
}

export function formatLimit(key: LimitKey, value: number): string {
  if (key === 'cpu') return `${value}%`;
  if (key !== 'memory') return String(value);
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    if (value >= UNITS[unit]! && value % UNITS[unit]! === 0) return `${value / UNITS[unit]!}${unit}`;
  }
  return String(value);
}

export const hasLimits = (limits: Limits | undefined): boolean => LIMIT_KEYS.some((key) => limits?.[key] !== undefined);
/** Limits that need a cgroup (nofile alone is an rlimit). */
export const needsCgroup = (limits: Limits | undefined): boolean =>
  (['memory', 'cpu', 'pids'] as const).some((key) => limits?.[key] !== undefined);

/** The entrypoint's options for these limits: numbers only. */
export function limitArguments(limits: Limits | undefined): string[] {
  const args: string[] = [];
  for (const key of LIMIT_KEYS) {
    const value = limits?.[key];
    if (value !== undefined) args.push(`--${key}`, String(value));
  }
  return args;
}

/** The `[agents.limits]` table of the config; undefined when absent. Throws a message for bad values. */
export function limitsFromToml(value: unknown, where: string): Limits | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LimitError(`${where}: "limits" must be a table`);
  const table = value as Record<string, unknown>;
  const limits: Limits = {};
  for (const key of LIMIT_KEYS) {
    let v = table[key];
    if (v === undefined) continue;
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v !== 'number') throw new LimitError(`${where}: limits.${key} must be a number`);
    limits[key] = inRange(key, v, String(v));
  }
  return limits;
}

export function limitsToToml(limits: Limits): Record<string, number> {
  const table: Record<string, number> = {};
  for (const key of LIMIT_KEYS) if (limits[key] !== undefined) table[key] = limits[key]!;
  return table;
}
