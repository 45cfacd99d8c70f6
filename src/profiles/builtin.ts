// The agents people run every day, as profiles: the command with the flags that turn off its
// own permission prompts (this sandbox is the permission boundary), the API-key variables it
// needs, where it keeps its state in the agent's home, and how to install it for the agent.
import type { SecretSource } from '../secrets/sources.js';

export interface Profile {
  name: string;
  /** Program and the "no prompts" flags that make sense inside this sandbox. */
  command: string[];
  /** Variables passed from the human's environment when set there (API keys). */
  env: string[];
  /** Variables whose value comes from a secret source (environment or command). */
  secrets: Record<string, SecretSource>;
  /** Shown when the program is missing from the agent's PATH. */
  installHint: string;
  /** The npm package `au install` / `au update` install for the agent (its own prefix, ~/.local). */
  package?: string;
  /** A floor for the Node.js major version, beside the package's own engines.node (config: node_major). */
  nodeMajor?: number;
  /** Where the program keeps its state: in the agent's own home, never the human's. */
  stateDirs: string[];
  /** Settings files `au profile import` copies from the human's home (no credentials). */
  settingsFiles: string[];
  /** Credential files copied only with --with-credentials. */
  credentialFiles: string[];
  /** Arguments that resume the last conversation (`au claude --resume`): au prints the hint after a run. */
  resume?: string[];
}

/** The hint works as pasted: `au install` runs npm as the agent, with the agent's own prefix. */
const installHint = (profile: string, bin: string): string =>
  `${bin} is not installed for the agent; install it with: au install -a AGENT ${profile}`;

export const BUILTIN_PROFILES: readonly Profile[] = [
  {
    name: 'claude',
    command: ['claude', '--dangerously-skip-permissions'],
    env: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],
    secrets: {},
    installHint: installHint('claude', 'claude'),
    package: '@anthropic-ai/claude-code',
    stateDirs: ['.claude', '.claude.json'],
    settingsFiles: ['.claude/settings.json', '.claude/CLAUDE.md', '.claude/agents', '.claude/commands'],
    credentialFiles: ['.claude/.credentials.json'],
    resume: ['--resume'],
  },
  {
    name: 'codex',
    command: ['codex', '--dangerously-bypass-approvals-and-sandbox'],
    env: ['OPENAI_API_KEY'],
    secrets: {},
    installHint: installHint('codex', 'codex'),
    package: '@openai/codex',
    stateDirs: ['.codex'],
    settingsFiles: ['.codex/config.toml', '.codex/AGENTS.md'],
    credentialFiles: ['.codex/auth.json'],
  },
  {
    name: 'gemini',
    command: ['gemini', '--yolo'],
    env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    secrets: {},
    installHint: installHint('gemini', 'gemini'),
    package: '@google/gemini-cli',
    stateDirs: ['.gemini'],
    settingsFiles: ['.gemini/settings.json', '.gemini/GEMINI.md'],
    credentialFiles: ['.gemini/oauth_creds.json'],
  },
  {
    name: 'opencode',
    command: ['opencode'],
    env: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY'],
    secrets: {},
    installHint: installHint('opencode', 'opencode'),
    package: 'opencode-ai',
    stateDirs: ['.config/opencode', '.local/share/opencode'],
    settingsFiles: ['.config/opencode/opencode.json', '.config/opencode/AGENTS.md'],
    credentialFiles: ['.local/share/opencode/auth.json'],
  },
  {
    name: 'pi',
    command: ['pi'],
    env: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY'],
    secrets: {},
    installHint: installHint('pi', 'pi'),
    package: '@mariozechner/pi-coding-agent',
    stateDirs: ['.pi'],
    settingsFiles: ['.pi/agent/settings.json', '.pi/agent/AGENTS.md'],
    credentialFiles: ['.pi/agent/auth.json'],
  },
  {
    name: 'shell',
    command: ['bash'],
    env: [],
    secrets: {},
    installHint: 'bash is not installed for the agent (apt-get install bash)',
    stateDirs: [],
    settingsFiles: [],
    credentialFiles: [],
  },
];
