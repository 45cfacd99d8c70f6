// The one list of risky paths of a review share (issue 16, THREAT-MODEL A31): changes that make
// code run as the human the next time they, their editor, their shell or git touch the folder.
// `au changes` flags them and `au accept` applies them only when they are named or with
// --include-risky. README.md ("Review shares") documents this list: keep the two in step.

/** What the risk rules need to know of one staged change. */
export interface RiskInput {
  /** The path's components, relative to the share's root. */
  components: readonly string[];
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** A deletion: only the path rules apply (nothing new can run). */
  deleted?: boolean;
  /** Permission bits before (absent when the entry is new) and after (absent when deleted). */
  oldMode?: number;
  newMode?: number;
  /** A new file's first BINARY_HEAD bytes: content --diff does not show is risky. */
  head?: Buffer;
  /** For a package.json: its content before and after, to compare the scripts. */
  oldContent?: Buffer;
  newContent?: Buffer;
}

/** A rule on the path's components: the reason when it matches. */
interface PathRule {
  reason: string;
  matches(components: readonly string[]): boolean;
}

const anyComponent =
  (...names: string[]) =>
  (components: readonly string[]): boolean =>
    components.some((c) => names.includes(c));
const baseName =
  (...names: string[]) =>
  (components: readonly string[]): boolean =>
    names.includes(components[components.length - 1] ?? '');
/** DIR/SUB/ at any depth, and DIR/SUB itself. */
const underPair =
  (dir: string, sub: string) =>
  (components: readonly string[]): boolean =>
    components.some((c, i) => c === dir && components[i + 1] === sub);

/** The last component starts with one of PREFIXES (or ends with SUFFIX). */
const baseStarts = (components: readonly string[], ...prefixes: string[]): boolean =>
  prefixes.some((p) => (components[components.length - 1] ?? '').startsWith(p));
const baseEnds = (components: readonly string[], suffix: string): boolean => (components[components.length - 1] ?? '').endsWith(suffix);

export const SHELL_RC_FILES = [
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.profile',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.zlogin',
  '.zlogout',
  '.kshrc',
  '.cshrc',
  '.tcshrc',
];

const PATH_RULES: readonly PathRule[] = [
  {
    reason: 'git metadata (.git/): hooks and config such as core.hooksPath or core.fsmonitor run code when you use git',
    matches: anyComponent('.git'),
  },
  { reason: 'git hook manager (.husky/): its scripts run on your commits', matches: anyComponent('.husky') },
  { reason: 'pre-commit hook configuration: it names programs git runs on your commits', matches: baseName('.pre-commit-config.yaml') },
  { reason: '.gitattributes can name filter and diff drivers git runs', matches: baseName('.gitattributes') },
  { reason: '.envrc: direnv runs it when you enter the folder', matches: baseName('.envrc') },
  {
    reason: 'editor configuration (.vscode/): tasks and settings can run programs when the folder is opened',
    matches: anyComponent('.vscode'),
  },
  { reason: 'editor configuration (.idea/): run configurations and tools can run programs', matches: anyComponent('.idea') },
  {
    reason: 'dev container configuration (.devcontainer/): it chooses images and commands your editor runs',
    matches: anyComponent('.devcontainer'),
  },
  {
    reason: "CI workflow (.github/workflows/): it runs with the repository's secrets once pushed",
    matches: underPair('.github', 'workflows'),
  },
  { reason: 'Makefile: make runs its recipes', matches: baseName('Makefile', 'makefile', 'GNUmakefile') },
  { reason: 'shell start-up file: your shell runs it', matches: (c) => baseName(...SHELL_RC_FILES)(c) || underPair('.config', 'fish')(c) },
  {
    reason: 'package manager configuration: it can point installs at other registries or scripts',
    matches: baseName('.npmrc', '.yarnrc', '.yarnrc.yml', 'pip.conf', 'pip.ini', '.pnpmfile.cjs'),
  },
  {
    reason: 'yarn release or plugin (.yarn/releases/, .yarn/plugins/): every yarn command runs it',
    matches: (c) => underPair('.yarn', 'releases')(c) || underPair('.yarn', 'plugins')(c),
  },
  {
    reason: 'git hook manager configuration (lint-staged, lefthook): the programs it names run on your commits',
    matches: (c) =>
      baseStarts(c, '.lintstagedrc', 'lint-staged.config.') ||
      baseName('lefthook.yml', 'lefthook.yaml', '.lefthook.yml', '.lefthook.yaml')(c),
  },
  { reason: 'Mercurial repository configuration (.hg/hgrc): its hooks run on hg commands', matches: underPair('.hg', 'hgrc') },
  {
    reason: 'cargo configuration or toolchain override: it names programs cargo and rust-analyzer run',
    matches: (c) =>
      underPair('.cargo', 'config')(c) || underPair('.cargo', 'config.toml')(c) || baseName('rust-toolchain', 'rust-toolchain.toml')(c),
  },
  { reason: 'binding.gyp: npm install builds it with node-gyp, whose actions run commands', matches: baseName('binding.gyp') },
  {
    reason: 'build tool wrapper or extensions (gradlew, gradle/wrapper/, .mvn/): your IDE or build downloads and runs what it names',
    matches: (c) =>
      baseName('gradlew', 'gradlew.bat', 'mvnw', 'mvnw.cmd')(c) || underPair('gradle', 'wrapper')(c) || anyComponent('.mvn')(c),
  },
  {
    reason: 'editor workspace or start-up file (*.code-workspace, .vimrc, .config/nvim/): it can run programs when opened',
    matches: (c) =>
      baseEnds(c, '.code-workspace') || baseName('.vimrc', '.gvimrc', '.exrc', '.nvimrc')(c) || underPair('.config', 'nvim')(c),
  },
  {
    reason: 'tool version manager configuration (.mise.toml, .tool-versions): it installs and runs tools, and mise runs its hooks on cd',
    matches: (c) => baseName('.mise.toml', 'mise.toml', '.tool-versions')(c) || underPair('.config', 'mise')(c),
  },
  { reason: '.gitmodules: submodule URLs and update commands git runs', matches: baseName('.gitmodules') },
  { reason: 'git configuration (.config/git/): it can name programs git runs', matches: underPair('.config', 'git') },
  { reason: 'ssh configuration (.ssh/): keys that log in as you, commands ssh runs', matches: anyComponent('.ssh') },
];

/** How much of a file decides whether it is binary (isBinary). */
export const BINARY_HEAD = 8000;

/**
 * Binary, for `au changes --diff` (shown as "Binary files differ") and the risk rules alike: its
 * start is not valid UTF-8. A NUL alone does not make a file binary: the agent can put one in a
 * script's comment (`/*\0*\/`) that still runs, so such a file is shown, its NULs escaped like
 * every control (\x00) on a terminal. One not shown is flagged risky: nobody read it.
 */
export function isBinary(content: Buffer): boolean {
  try {
    // stream: a character cut at the end of the head is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(content.subarray(0, BINARY_HEAD), { stream: true });
    return false;
  } catch {
    return true;
  }
}

const executable = (mode: number | undefined): boolean => mode !== undefined && (mode & 0o111) !== 0;

/** Fields of a package.json that make npm, yarn or a git hook manager run code. */
const RUNNING_FIELDS = ['scripts', 'lint-staged', 'husky', 'simple-git-hooks', 'pre-commit', 'gypfile', 'bin', 'config', 'packageManager'];
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'overrides', 'resolutions'];

/** A dependency spec that is no registry version range: a URL, git, a file or link path (its code is not the registry's). */
const nonRegistrySpec = (spec: unknown): boolean =>
  typeof spec !== 'string' || (!/^(?:npm|workspace):/.test(spec) && /^(?:[a-z][a-z0-9+.-]*:|[./~]|[^@\s]+\/[^\s]+$)/i.test(spec));

/** A package.json's fields, parsed; undefined when it does not parse. */
function fieldsOf(content: Buffer | undefined): Record<string, unknown> | undefined {
  if (content === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Dependency specs of a package.json that are not registry versions, as comparable text. */
function nonRegistryDependencies(fields: Record<string, unknown>): string {
  const out: string[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    const deps = fields[field];
    if (typeof deps !== 'object' || deps === null) continue;
    for (const [name, spec] of Object.entries(deps as Record<string, unknown>))
      if (nonRegistrySpec(spec)) out.push(`${field}.${name}=${JSON.stringify(spec)}`);
  }
  return out.sort().join('\n');
}

/** Why a package.json change is risky: the fields that run code that changed. */
function packageJsonReasons(oldContent: Buffer | undefined, newContent: Buffer): string[] {
  const before = fieldsOf(oldContent) ?? {};
  const after = fieldsOf(newContent);
  if (after === undefined) return ['package.json that does not parse: its scripts cannot be checked'];
  const changed = RUNNING_FIELDS.filter((f) => JSON.stringify(before[f] ?? null) !== JSON.stringify(after[f] ?? null));
  const reasons = changed.map((f) =>
    f === 'scripts'
      ? 'package.json scripts changed: npm and yarn run them'
      : `package.json "${f}" changed: npm, yarn or a git hook manager runs what it names`,
  );
  if (nonRegistryDependencies(after) !== '' && nonRegistryDependencies(after) !== nonRegistryDependencies(before))
    reasons.push('package.json dependency from a URL, git or a path: its install scripts run on npm install');
  return reasons;
}

/** Why this change is risky: one reason per rule it meets, none when it is not. */
export function riskReasons(change: RiskInput): string[] {
  const reasons = PATH_RULES.filter((rule) => rule.matches(change.components)).map((rule) => rule.reason);
  if (change.deleted) return reasons;
  const name = change.components[change.components.length - 1];
  if (name === 'package.json' && change.type === 'file' && change.newContent !== undefined)
    reasons.push(...packageJsonReasons(change.oldContent, change.newContent));
  if (change.type === 'file' && change.head !== undefined && isBinary(change.head))
    reasons.push('binary content (not UTF-8 text): au changes --diff does not show it');
  if (change.type === 'file' && executable(change.newMode) && !executable(change.oldMode)) reasons.push('file became executable');
  // Staged files are the human's: a set-uid one would run as them (accept drops the bits anyway).
  if (
    change.newMode !== undefined &&
    (change.newMode & 0o6000) !== 0 &&
    (change.oldMode === undefined || (change.oldMode & 0o6000) !== (change.newMode & 0o6000))
  ) {
    reasons.push('set-uid or set-gid bit (au drops it when applying)');
  }
  // Write for group or others on one of the human's entries (or others on a new one): any local user could change it.
  if (
    change.type !== 'symlink' &&
    change.newMode !== undefined &&
    (change.newMode & (change.oldMode === undefined ? 0o002 : 0o022) & ~(change.oldMode ?? 0)) !== 0
  ) {
    reasons.push('writable by other users (group or other write added)');
  }
  if (change.type === 'symlink') reasons.push('symbolic link: programs that open it reach its target');
  return reasons;
}

/** Names of files that some program runs: scripts by their extension (a path list cannot know which a hook or build calls). */
const SCRIPT_NAME = /\.(?:sh|bash|zsh|fish|js|cjs|mjs|ts|cts|mts|py|rb|pl|php|lua|ps1|bat|cmd)$/;

/** A modified file that keeps running as the human wherever it is already called from: an executable or a script. */
export function runsAsYou(change: { kind: string; type: string; path: string; mode?: number }): boolean {
  if (change.type !== 'file' || !['modified', 'renamed', 'replaced'].includes(change.kind)) return false;
  return executable(change.mode) || SCRIPT_NAME.test(change.path);
}
