// `au server init`: the one-time root set-up that lets other humans reach a human's session
// server: a group for the humans who may connect, a root-owned directory for the sockets that
// its group may enter but not write, and in it one directory per owner, the owner's alone
// (mode 2750: the group may connect, nobody else may create a name there). Recreated at boot by
// systemd-tmpfiles. As plain system steps, each printed before it runs. The agents are never
// added to the group.
import { AuError } from '../errors.js';
import type { CommandRunner } from '../system/runner.js';
import { lookupGroup, lookupUser } from '../system/accounts.js';
import { SHARED_SOCKET_DIR, ownerSocketDir } from './paths.js';
import { dirname } from 'node:path';

export interface SharingSetup {
  group: string;
  dir: string;
  /** Humans to add to the group, each with a directory of their own (the one running init is always one). */
  users: string[];
}

export class SharingError extends AuError {}

/** The systemd-tmpfiles entry that recreates the directory (or an owner's directory in it) at boot. */
export function tmpfilesPathOf(dir: string, owner?: string): string {
  const base =
    dir === SHARED_SOCKET_DIR ? 'agent-as-unix-user' : `agent-as-unix-user-${dir.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  return `/etc/tmpfiles.d/${base}${owner ? `-${owner}` : ''}.conf`;
}

export const SHARED_DIR_MODE = '0755';
export const OWNER_DIR_MODE = '2750';

export function setUpSharing(runner: CommandRunner, setup: SharingSetup): void {
  const owners = setup.users.map((name) => {
    const entry = lookupUser(runner, name);
    if (!entry) throw new SharingError(`no user ${name} in the passwd database`);
    return entry;
  });
  if (!lookupGroup(runner, setup.group)) runner.change(['groupadd', '--system', setup.group], { privileged: true });
  // Not writable by the group (the layout before this one was 1770, where any member could
  // take another's socket name): from here on only root creates names in it. Made (or taken
  // over) only where nobody but root could have planted a name: never through a symlink.
  const existing = checkSharedDirPath(runner, setup.dir);
  if (!existing) runner.change(['mkdir', '-m', SHARED_DIR_MODE, '--', setup.dir], { privileged: true });
  runner.change(['chown', '--no-dereference', `root:${setup.group}`, '--', setup.dir], { privileged: true });
  runner.change(['chmod', SHARED_DIR_MODE, '--', setup.dir], { privileged: true });
  runner.change(['tee', tmpfilesPathOf(setup.dir)], {
    privileged: true,
    input: `# au session server sockets (au server init)\nd ${setup.dir} ${SHARED_DIR_MODE} root ${setup.group} -\n`,
  });
  for (const owner of owners) {
    const dir = ownerSocketDir(owner.name, setup.dir);
    // Whatever holds the owner's name and is not the owner's own directory was planted (by a
    // member, when the directory was writable): removed, never followed (install -d follows symlinks).
    const found = runner.query(['stat', '-c', '%F %u', '--', dir], { privileged: true });
    if (found.status === 0 && found.stdout.trim() !== `directory ${owner.uid}`)
      runner.change(['rm', '-rf', '--', dir], { privileged: true });
    runner.change(['install', '-d', '-m', OWNER_DIR_MODE, '-o', owner.name, '-g', setup.group, dir], { privileged: true });
    runner.change(['tee', tmpfilesPathOf(setup.dir, owner.name)], {
      privileged: true,
      input: `# ${owner.name}'s au session server socket (au server init)\nd ${dir} ${OWNER_DIR_MODE} ${owner.name} ${setup.group} -\n`,
    });
    runner.change(['usermod', '--append', '--groups', setup.group, owner.name], { privileged: true });
  }
}

/** What is at `path`, not following a symlink (as root: the path may not be readable to the human). */
function lstatOf(runner: CommandRunner, path: string): { type: string; uid: number; mode: number } | undefined {
  const r = runner.query(['stat', '-c', '%F %u %a', '--', path], { privileged: true });
  if (r.status !== 0) return undefined;
  const m = /^(.+) (\d+) ([0-7]+)$/.exec(r.stdout.trim());
  return m ? { type: m[1]!, uid: Number(m[2]), mode: parseInt(m[3]!, 8) } : undefined;
}

/**
 * The shared directory is made by root, so nobody else may have a say in what its path names:
 * every directory above it is root's and not writable by group or others (else a member could
 * plant a symlink there and have root re-own its target), and the directory itself is missing
 * or a real directory of root's. Returns whether it exists; throws a clear refusal otherwise.
 */
export function checkSharedDirPath(runner: CommandRunner, dir: string): boolean {
  const parents: string[] = [];
  for (let p = dirname(dir); ; p = dirname(p)) {
    parents.unshift(p);
    if (p === '/') break;
  }
  for (const parent of parents) {
    const st = lstatOf(runner, parent);
    if (!st) throw new SharingError(`${parent} does not exist: create the directories above ${dir} first (root's, not writable by others)`);
    if (st.type !== 'directory')
      throw new SharingError(`${parent} is a ${st.type}, not a directory: refusing to make ${dir} below it (choose another --dir)`);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new SharingError(
        `${parent} is ${st.uid !== 0 ? `owned by uid ${st.uid}` : `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${st.mode.toString(8)})`}: someone else could plant a name where ${dir} goes; refusing (choose a --dir whose parents are root's and not writable by others)`,
      );
    }
  }
  const top = lstatOf(runner, dir);
  if (!top) return false;
  if (top.type !== 'directory')
    throw new SharingError(
      `${dir} is a ${top.type}, not a directory (planted?): refusing to follow or replace it; remove it yourself if it is yours`,
    );
  if (top.uid !== 0)
    throw new SharingError(`${dir} is owned by uid ${top.uid}, not by root: refusing to take it over; remove it or choose another --dir`);
  return true;
}
