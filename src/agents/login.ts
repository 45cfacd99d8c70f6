// Agent accounts are not login accounts (A30). The setuid entrypoint is the only way to become
// the agent and it uses none of the account's login settings (no PAM, no passwd shell), so the
// account can refuse every other way in:
// - login shell `nologin`: su and sshd's shell or command get nothing;
// - password locked: no password login;
// - expired (1970-01-02): PAM's account check refuses sshd even with a public key and for port
//   forwarding alone (where no shell runs), cron and at jobs, and systemd's user manager;
// - denied in cron.deny/at.deny (job-denials.ts): crontab and at refuse it;
// - no lingering: no user manager at boot.
import { existsSync } from 'node:fs';
import { lookupUser } from '../system/accounts.js';
import { onPath } from '../system/commands-available.js';
import type { CommandRunner } from '../system/runner.js';
import { type RootQuery, denyJobs } from './job-denials.js';

export const EXPIRED_ON = '1970-01-02';
const NOLOGIN_CANDIDATES = ['/usr/sbin/nologin', '/sbin/nologin'];
/** Shells that refuse to give a shell. */
const REFUSING_SHELLS = new Set([...NOLOGIN_CANDIDATES, '/bin/false', '/usr/bin/false']);

export const nologinShell = (): string => NOLOGIN_CANDIDATES.find((path) => existsSync(path)) ?? '/bin/false';
export const refusesLogin = (shell: string): boolean => REFUSING_SHELLS.has(shell);
export const lingerFileOf = (name: string): string => `/var/lib/systemd/linger/${name}`;

const isRoot = (): boolean => process.geteuid?.() === 0;

/** Root reads through sudo (au new and au delete use sudo anyway). */
export const sudoQuery =
  (runner: CommandRunner): RootQuery =>
  (argv) =>
    runner.query(argv, { privileged: true });

/** Root reads without ever prompting for a password (au doctor): fails instead. */
export const quietRootQuery =
  (runner: CommandRunner): RootQuery =>
  (argv) =>
    runner.query(isRoot() ? argv : ['sudo', '-n', ...argv]);

export interface ShadowState {
  passwordLocked: boolean;
  expired: boolean;
}

/** The account's password lock and expiry from /etc/shadow; undefined when it cannot be read. */
export function readShadow(read: RootQuery, name: string): ShadowState | undefined {
  const result = read(['getent', 'shadow', name]);
  if (result.status !== 0) return undefined;
  const fields = (result.stdout.split('\n')[0] ?? '').split(':');
  if (fields[0] !== name) return undefined;
  const password = fields[1] ?? '';
  const expire = fields[7] ?? '';
  const today = Math.floor(Date.now() / 86_400_000);
  return {
    // `!...` is a locked password, `*` (or any non-hash) can never match; empty means no password at all.
    passwordLocked: password.startsWith('!') || password.startsWith('*'),
    // As pam_unix reads it: expired from that day on (0 is ambiguous, so au never relies on it).
    expired: /^\d+$/.test(expire) && Number(expire) >= 1 && Number(expire) <= today,
  };
}

function supplementaryGroups(runner: CommandRunner, name: string, gid: number): number[] {
  const result = runner.query(['id', '-G', name]);
  if (result.status !== 0) return [];
  return result.stdout
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((g) => Number.isInteger(g) && g !== gid);
}

/**
 * Makes the existing account `name` a non-login account, running only the commands that are
 * needed (a fresh `useradd` from `au new` already has the shell, lock and expiry). Returns
 * warnings about what au leaves to the administrator.
 */
export function lockLogins(runner: CommandRunner, name: string): string[] {
  const read = sudoQuery(runner);
  const user = lookupUser(runner, name);
  // Only in a dry run: the printed useradd sets the shell, lock and expiry; the denials still show.
  if (!user) return runner.dryRun ? denyJobs(runner, read, name) : [];
  const flags: string[] = [];
  if (!refusesLogin(user.shell)) flags.push('--shell', nologinShell());
  const shadow = readShadow(read, name);
  if (!shadow?.passwordLocked) flags.push('--lock');
  if (!shadow?.expired) flags.push('--expiredate', EXPIRED_ON);
  // The agent never has supplementary groups (au new gives it none); take away any it was given.
  if (supplementaryGroups(runner, name, user.gid).length > 0) flags.push('--groups', '');
  if (flags.length > 0) runner.change(['usermod', ...flags, name], { privileged: true });
  const warnings = denyJobs(runner, read, name);
  disableLinger(runner, name);
  return warnings;
}

/**
 * No user manager at boot. Also run before an account is removed: a linger file left behind
 * would start one for the next account of that name. Without logind (loginctl fails) the file
 * is removed directly.
 */
export function disableLinger(runner: CommandRunner, name: string): void {
  if (!existsSync(lingerFileOf(name))) return;
  if (onPath('loginctl')) runner.change(['loginctl', 'disable-linger', name], { privileged: true, allowFailure: true });
  if (runner.dryRun || existsSync(lingerFileOf(name))) runner.change(['rm', '-f', lingerFileOf(name)], { privileged: true });
}
