// What `au install` and `au update` ask the agent to run: npm, as the agent, with the agent's
// own prefix (~/.local, which the login profile puts on PATH), after checking that the agent's
// Node.js is new enough for the package (npm would otherwise quietly install an old release).
// Pure: the command is run by the same path as `au run`.
import { AuError } from '../errors.js';
import type { Profile } from './builtin.js';

export class InstallError extends AuError {}

export interface InstallRequest {
  profiles: readonly Profile[];
  /** update: the newest release (`PKG@latest`); install: whatever npm picks. */
  update: boolean;
  /** Install even when the agent's Node.js is older than the package needs. */
  force: boolean;
}

/*
 * Runs as the agent (bash -c, positional parameters only, so no quoting can go wrong):
 * $1 = 1 to skip the Node.js check, then NEED=PROFILE=SPEC triples. `$HOME` is the agent's,
 * expanded on the agent's side: a `~` typed by the human would be the human's home.
 */
const AGENT_SCRIPT = [
  'force=$1; shift',
  'have=$(node -p \'process.versions.node.split(".")[0]\' 2>/dev/null) || { echo "au: node is not installed for the agent: install Node.js system-wide first" >&2; exit 127; }',
  'specs=()',
  'for item in "$@"; do need=${item%%=*}; rest=${item#*=}; profile=${rest%%=*}; spec=${rest#*=}',
  '  if [ "$force" != 1 ] && [ "$need" -gt "$have" ]; then printf \'au: %s needs Node.js >= %s, the agent runs Node.js %s (%s): install a newer Node.js system-wide, or pass --force to install an older release\\n\' "$profile" "$need" "$have" "$(command -v node)" >&2; exit 1; fi',
  '  specs+=("$spec"); done',
  'exec npm install --global --prefix "$HOME/.local" --no-fund --no-audit --loglevel=error "${specs[@]}"',
].join('\n');

/** The package spec npm gets: a tarball path or URL as is; a name at @latest for an update. */
function specOf(pkg: string, update: boolean): string {
  const isNamed = /^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/.test(pkg);
  return update && isNamed ? `${pkg}@latest` : pkg;
}

/** The command to run as the agent (the argv after `au run --`). */
export function agentInstallCommand(request: InstallRequest): string[] {
  if (request.profiles.length === 0) throw new InstallError('nothing to install: name a profile (see `au profiles`)');
  const items = request.profiles.map((profile) => {
    if (!profile.package) throw new InstallError(`profile ${profile.name} names no npm package to install: set \`package\` in [profiles.${profile.name}] of your config, or install it yourself with au run`);
    return `${profile.nodeMajor ?? 0}=${profile.name}=${specOf(profile.package, request.update)}`;
  });
  return ['bash', '-c', AGENT_SCRIPT, 'au-install', request.force ? '1' : '0', ...items];
}

/** How the command reads to a person: what npm does, with the agent's $HOME. */
export function describeInstall(request: InstallRequest, agentName: string): string {
  const specs = request.profiles.map((p) => specOf(p.package ?? '?', request.update));
  return `au run -a ${agentName} -- npm install --global --prefix '$HOME/.local' ${specs.join(' ')}`;
}

/*
 * Runs as the agent: for each PROFILE=PROGRAM pair, the version of the npm package that provides
 * PROGRAM on the agent's PATH (found from the program's real path up to its package.json), `?`
 * when it is there but not from npm, `-` when it is missing.
 */
const VERSION_SCRIPT = [
  'for item in "$@"; do profile=${item%%=*}; bin=${item#*=}',
  '  path=$(command -v -- "$bin" 2>/dev/null) || { printf "%s -\\n" "$profile"; continue; }',
  '  d=$(dirname -- "$(readlink -f -- "$path")"); v="?"',
  '  while [ "$d" != / ]; do if [ -f "$d/package.json" ]; then v=$(grep -o \'"version" *: *"[^"]*"\' "$d/package.json" | head -n 1 | sed \'s/.*"\\([^"]*\\)"$/\\1/\'); break; fi; d=$(dirname -- "$d"); done',
  '  printf "%s %s\\n" "$profile" "${v:-?}"; done',
].join('\n');

export const installedVersionsCommand = (profiles: readonly Profile[]): string[] => [
  'bash',
  '-c',
  VERSION_SCRIPT,
  'au-versions',
  ...profiles.filter((p) => p.command[0]).map((p) => `${p.name}=${p.command[0]}`),
];

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

/** What the agent printed, kept only where it is a profile asked for and a plausible version. */
export function parseInstalledVersions(output: string, profiles: readonly Profile[]): Map<string, string> {
  const names = new Set(profiles.map((p) => p.name));
  const versions = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [name, version, ...rest] = line.split(' ');
    if (!name || !version || rest.length > 0 || !names.has(name)) continue;
    if (version === '-' || version === '?' || VERSION.test(version)) versions.set(name, version);
  }
  return versions;
}
