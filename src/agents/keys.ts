// The agent's own SSH keys for git (never the human's): an authentication key and a signing
// key, made by the agent in its own home, and its git set to sign commits with the second.
// Pure: the script the agent runs, and the reading of what it printed, which is untrusted
// (the agent's bytes): only well-formed public keys and printable text are kept.
import { AuError } from '../errors.js';

/*
 * Runs as the agent (positional parameter $1 = 1 to replace the keys). The keys are never
 * readable by anyone else (umask 077); the allowed-signers file lets the agent's own git
 * verify its signatures (`git log --show-signature`).
 */
const AGENT_SCRIPT = [
  'set -eu',
  'umask 077',
  'mkdir -p "$HOME/.ssh"',
  // The home's default ACLs (the human may edit the agent's files) must not reach the keys:
  // ssh refuses a private key others can read.
  'setfacl -b -k "$HOME/.ssh" 2>/dev/null || true; chmod 700 "$HOME/.ssh"',
  'auth="$HOME/.ssh/id_ed25519"; sign="$HOME/.ssh/au_git_signing_ed25519"',
  'if [ "$1" = 1 ]; then rm -f -- "$auth" "$auth.pub" "$sign" "$sign.pub"; fi',
  'host=$(hostname)',
  '[ -e "$auth" ] || ssh-keygen -q -t ed25519 -N "" -C "$USER@$host (au agent: git authentication)" -f "$auth" </dev/null >/dev/null',
  '[ -e "$sign" ] || ssh-keygen -q -t ed25519 -N "" -C "$USER@$host (au agent: git signing)" -f "$sign" </dev/null >/dev/null',
  'setfacl -b "$auth" "$sign" 2>/dev/null || true; chmod 600 "$auth" "$sign"',
  'printf \'* namespaces="git" %s\\n\' "$(cut -d" " -f1,2 "$sign.pub")" > "$HOME/.ssh/au_allowed_signers"',
  'git config --global gpg.format ssh',
  'git config --global user.signingkey "$sign.pub"',
  'git config --global gpg.ssh.allowedSignersFile "$HOME/.ssh/au_allowed_signers"',
  'git config --global commit.gpgsign true',
  'git config --global tag.gpgsign true',
  'printf "auth %s\\n" "$(cat "$auth.pub")"',
  'printf "sign %s\\n" "$(cat "$sign.pub")"',
  'printf "name %s\\n" "$(git config --global user.name || true)"',
  'printf "email %s\\n" "$(git config --global user.email || true)"',
].join('\n');

export const agentKeysCommand = (rotate: boolean): string[] => ['bash', '-c', AGENT_SCRIPT, 'au-keys', rotate ? '1' : '0'];

export interface AgentKeys {
  authKey: string;
  signingKey: string;
  gitName?: string;
  gitEmail?: string;
}

const PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]{60,80}={0,2}( [\x20-\x7e]{1,200})?$/;
/** Printable ASCII only: the agent chose these bytes, and they are shown on the human's terminal. */
const printable = (text: string): string => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

export class KeysError extends AuError {}

export function parseAgentKeys(output: string): AgentKeys {
  const fields = new Map<string, string>();
  for (const line of output.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) fields.set(line.slice(0, space), line.slice(space + 1));
  }
  const key = (field: string): string => {
    const value = fields.get(field) ?? '';
    if (!PUBLIC_KEY.test(value))
      throw new KeysError(
        `the agent's ${field === 'auth' ? 'authentication' : 'signing'} key is not an ed25519 public key: re-create it with \`au keys --rotate\``,
      );
    return value;
  };
  const text = (field: string): string | undefined => {
    const value = printable(fields.get(field) ?? '');
    return value === '' ? undefined : value;
  };
  return { authKey: key('auth'), signingKey: key('sign'), gitName: text('name'), gitEmail: text('email') };
}

/** Runs as the agent: which of its git keys and identity exist (one word a line). */
export const gitReadinessCommand: readonly string[] = [
  'bash',
  '-c',
  'test -f "$HOME/.ssh/id_ed25519" && echo auth; test -f "$HOME/.ssh/au_git_signing_ed25519" && echo sign; git config --global user.name >/dev/null && echo name; git config --global user.email >/dev/null && echo email; true',
];

export interface GitReadiness {
  keys: boolean;
  identity: boolean;
}

export function parseGitReadiness(output: string): GitReadiness {
  const words = new Set(output.split('\n'));
  return {
    keys: words.has('auth') && words.has('sign'),
    identity: words.has('name') && words.has('email'),
  };
}
