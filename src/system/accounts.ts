// Reading the user and group databases through NSS (`getent`), so LDAP/sssd users count too.
import type { CommandRunner } from './runner.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n')[0];
  return line ? line : undefined;
}

export function lookupUser(runner: CommandRunner, nameOrUid: string): PasswdEntry | undefined {
  const result = runner.query(['getent', 'passwd', nameOrUid]);
  const line = result.status === 0 ? firstLine(result.stdout) : undefined;
  if (!line) return undefined;
  const [name = '', , uid = '', gid = '', gecos = '', home = '', shell = ''] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid), gecos, home, shell };
}

export function lookupGroup(runner: CommandRunner, nameOrGid: string): GroupEntry | undefined {
  const result = runner.query(['getent', 'group', nameOrGid]);
  const line = result.status === 0 ? firstLine(result.stdout) : undefined;
  if (!line) return undefined;
  const [name = '', , gid = '', members = ''] = line.split(':');
  return { name, gid: Number(gid), members: members ? members.split(',') : [] };
}

/** Membership per the group database (what a fresh login would get), not this process's groups. */
export function isMember(runner: CommandRunner, user: PasswdEntry | { name: string; gid: number }, group: GroupEntry): boolean {
  return user.gid === group.gid || group.members.includes(user.name);
}
