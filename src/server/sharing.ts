// `au server init`: the one-time root set-up that lets other humans reach a human's session
// server: a group for the humans who may connect, and a root-owned sticky directory of that
// group for the sockets (recreated at boot by systemd-tmpfiles). As plain system steps, each
// printed before it runs. The agents are never added to the group.
import type { CommandRunner } from '../system/runner.js';
import { lookupGroup } from '../system/accounts.js';

export interface SharingSetup {
  group: string;
  dir: string;
  /** Humans to add to the group (the one running init is always added). */
  users: string[];
}

import { SHARED_SOCKET_DIR } from './paths.js';

/** The systemd-tmpfiles entry that recreates the directory at boot (one file per directory). */
export function tmpfilesPathOf(dir: string): string {
  if (dir === SHARED_SOCKET_DIR) return '/etc/tmpfiles.d/agent-as-unix-user.conf';
  return `/etc/tmpfiles.d/agent-as-unix-user-${dir.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]/g, '_')}.conf`;
}

export function setUpSharing(runner: CommandRunner, setup: SharingSetup): void {
  if (!lookupGroup(runner, setup.group)) runner.change(['groupadd', '--system', setup.group], { privileged: true });
  runner.change(['install', '-d', '-m', '1770', '-o', 'root', '-g', setup.group, setup.dir], { privileged: true });
  runner.change(['chmod', '1770', setup.dir], { privileged: true });
  runner.change(['tee', tmpfilesPathOf(setup.dir)], { privileged: true, input: `# au session server sockets (au server init)\nd ${setup.dir} 1770 root ${setup.group} -\n` });
  for (const user of setup.users) runner.change(['usermod', '--append', '--groups', setup.group, user], { privileged: true });
}
