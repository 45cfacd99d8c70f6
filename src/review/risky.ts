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

export const SHELL_RC_FILES = ['.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile', '.zshrc', '.zprofile', '.zshenv', '.zlogin', '.zlogout', '.kshrc', '.cshrc', '.tcshrc'];

const PATH_RULES: readonly PathRule[] = [
  { reason: 'git metadata (.git/): hooks and config such as core.hooksPath or core.fsmonitor run code when you use git', matches: anyComponent('.git') },
  { reason: 'git hook manager (.husky/): its scripts run on your commits', matches: anyComponent('.husky') },
  { reason: 'pre-commit hook configuration: it names programs git runs on your commits', matches: baseName('.pre-commit-config.yaml') },
  { reason: '.gitattributes can name filter and diff drivers git runs', matches: baseName('.gitattributes') },
  { reason: '.envrc: direnv runs it when you enter the folder', matches: baseName('.envrc') },
  { reason: 'editor configuration (.vscode/): tasks and settings can run programs when the folder is opened', matches: anyComponent('.vscode') },
  { reason: 'editor configuration (.idea/): run configurations and tools can run programs', matches: anyComponent('.idea') },
  { reason: 'dev container configuration (.devcontainer/): it chooses images and commands your editor runs', matches: anyComponent('.devcontainer') },
  { reason: 'CI workflow (.github/workflows/): it runs with the repository\'s secrets once pushed', matches: underPair('.github', 'workflows') },
  { reason: 'Makefile: make runs its recipes', matches: baseName('Makefile', 'makefile', 'GNUmakefile') },
  { reason: 'shell start-up file: your shell runs it', matches: (c) => baseName(...SHELL_RC_FILES)(c) || underPair('.config', 'fish')(c) },
  { reason: 'package manager configuration: it can point installs at other registries or scripts', matches: baseName('.npmrc', '.yarnrc', '.yarnrc.yml', 'pip.conf', 'pip.ini') },
];

const executable = (mode: number | undefined): boolean => mode !== undefined && (mode & 0o111) !== 0;

/** The `scripts` of a package.json, as comparable text; undefined when it does not parse. */
function scriptsOf(content: Buffer | undefined): string | undefined {
  if (content === undefined) return '{}';
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    const scripts = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).scripts : undefined;
    return JSON.stringify(scripts ?? {});
  } catch {
    return undefined;
  }
}

/** Why this change is risky: one reason per rule it meets, none when it is not. */
export function riskReasons(change: RiskInput): string[] {
  const reasons = PATH_RULES.filter((rule) => rule.matches(change.components)).map((rule) => rule.reason);
  if (change.deleted) return reasons;
  const name = change.components[change.components.length - 1];
  if (name === 'package.json' && change.type === 'file' && change.newContent !== undefined) {
    const before = scriptsOf(change.oldContent);
    const after = scriptsOf(change.newContent);
    if (after === undefined) reasons.push('package.json that does not parse: its scripts cannot be checked');
    else if (before !== after) reasons.push('package.json scripts changed: npm and yarn run them');
  }
  if (change.type === 'file' && executable(change.newMode) && !executable(change.oldMode)) reasons.push('file became executable');
  // Staged files are the human's: a set-uid one would run as them (accept drops the bits anyway).
  if (change.newMode !== undefined && (change.newMode & 0o6000) !== 0 && (change.oldMode === undefined || (change.oldMode & 0o6000) !== (change.newMode & 0o6000))) {
    reasons.push('set-uid or set-gid bit (au drops it when applying)');
  }
  if (change.type === 'symlink') reasons.push('symbolic link: programs that open it reach its target');
  return reasons;
}
