// `au migrate -a NAME`: an agent made by the Python `au` moved to our layout. The Python tool
// gives the agent su-as-NAME as its primary group (so the agent may run its own setuid
// entrypoint, which lives in the agent's home where the agent can replace it), no marker, and
// shares by group ACLs (group:su-as-NAME:rwx, setgid). We: check it is that agent (not a real
// account), record the migration, remove the in-home entrypoint as the agent (root never
// deletes paths in a tree the agent controls), give the agent its own primary group and our
// marker, set up the home as `au new` does, install our entrypoint in the root-owned location,
// convert the shares to our per-user ACLs (the Python tool's group ACLs and setgid bits removed
// first, unless asked to keep them), and record uid/gid/entrypoint. Each step checks what is done, so
// after a kill `au migrate` again finishes it.
import { auWarn } from '../cli/output.js';
import { existsSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AgentConfig } from '../config/schema.js';
import { AuError } from '../errors.js';
import { installEntrypoint } from '../entrypoint/install.js';
import { grantShareAccess, revokeShareAccess } from '../mounts/acl.js';
import { type PasswdEntry, isMember, lookupGroup, lookupUser } from '../system/accounts.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { AGENT_MARKER, agentHomeOf } from './names.js';

const PENDING = 'migration_pending';

/** An agent of the Python tool: its entrypoint is in its home, not in our root-owned location. */
export function isPythonToolAgent(agent: AgentConfig): boolean {
  return agent.entrypoint.startsWith(`${agentHomeOf(agent.userName)}/`) || agent.extra[PENDING] !== undefined;
}

export const migrateHint = (agent: AgentConfig): string =>
  `agent ${agent.userName} was made by the Python au (its entrypoint is in its home, where the agent can replace it): run \`au migrate -a ${agent.userName}\``;

/** Why `user` is not the Python tool's agent `agent` (empty when it is, or is half migrated). */
function notThatAgent(runner: CommandRunner, agent: AgentConfig, user: PasswdEntry): string[] {
  const reasons: string[] = [];
  if (user.uid < 1000) reasons.push(`uid ${user.uid} is a system account`);
  if (user.home !== agentHomeOf(agent.userName)) reasons.push(`its home is ${user.home}`);
  if (user.gecos !== '' && user.gecos !== AGENT_MARKER) reasons.push(`its GECOS is ${JSON.stringify(user.gecos)}`);
  const primary = lookupGroup(runner, String(user.gid))?.name;
  if (primary !== agent.group && primary !== agent.userName)
    reasons.push(`its primary group is ${primary ?? user.gid}, not ${agent.group}`);
  if (agent.uid !== undefined && agent.uid !== user.uid) reasons.push(`its uid is ${user.uid}, the record says ${agent.uid}`);
  return reasons;
}

export interface MigrateOptions {
  human: Human;
  /** Keep the Python tool's group ACLs and setgid bits on shared folders. */
  keepGroupAcls: boolean;
}

export function migrateAgent(runner: CommandRunner, agent: AgentConfig, save: () => void, options: MigrateOptions): void {
  const name = agent.userName;
  const home = agentHomeOf(name);
  const user = lookupUser(runner, name);
  if (!user) throw new AuError(`agent ${name} has no user account: nothing to migrate (au delete -a ${name} removes the record)`);
  const reasons = notThatAgent(runner, agent, user);
  if (reasons.length > 0) throw new AuError(`refusing to migrate user ${name}: it is not the Python au's agent (${reasons.join('; ')})`);
  const driver = lookupGroup(runner, agent.group);
  if (!driver) throw new AuError(`group ${agent.group} does not exist: the agent ${name} is not set up as the Python au leaves it`);

  agent.extra[PENDING] = true;
  agent.uid = user.uid;
  agent.groupGid = driver.gid;
  save();

  // 1. The old entrypoint and its sources go, removed as the agent: its home is its own tree.
  const oldEntrypoint = agent.entrypoint;
  if (oldEntrypoint.startsWith(`${home}/`)) {
    const sources = `${dirname(oldEntrypoint)}/su_as_agent-src`;
    for (const path of [oldEntrypoint, sources]) {
      if (lstatSync(path, { throwIfNoEntry: false }))
        runner.change(['runuser', '-u', name, '--', 'rm', '-rf', '--', path], { privileged: true });
    }
  }

  // 2. The Python tool's share entries (group:su-as-NAME, setgid) go while the agent still has
  // its layout (the walker recognises it by the primary group): by file descriptor, as the human
  // on the human's files (see mounts/acl.ts). The root of each share had `chmod g+s`.
  if (!options.keepGroupAcls && user.gid === driver.gid) {
    for (const mount of agent.mounts) {
      if (!existsSync(mount.source)) continue;
      for (const left of revokeShareAccess(runner, agent, options.human, mount.source)) auWarn(left);
      runner.change(['chmod', 'g-s', mount.source], { allowFailure: true });
    }
  }

  // 3. Its own primary group and our marker: no longer in su-as-NAME, which runs the entrypoint.
  let own = lookupGroup(runner, name);
  if (!own) {
    runner.change(['groupadd', name], { privileged: true });
    own = lookupGroup(runner, name);
  }
  if (!own && !runner.dryRun) throw new AuError(`group ${name} was not created`);
  if (user.gid !== own?.gid || user.gecos !== AGENT_MARKER) {
    runner.change(['usermod', '--gid', name, '--comment', AGENT_MARKER, name], { privileged: true });
  }
  agent.gid = own?.gid;
  save();
  if (!isMember(runner, { name: options.human.name, gid: options.human.gid }, driver)) {
    runner.change(['usermod', '--append', '--groups', agent.group, options.human.name], { privileged: true });
  }

  // 4. The home as `au new` sets it up: the agent's files stay its own, the humans keep the group.
  runner.change(['chgrp', agent.group, home], { privileged: true });
  runner.change(['chmod', '2770', home], { privileged: true });
  runner.change(
    ['setfacl', '--modify', `user:${name}:rwx,group:${agent.group}:rwx,default:user:${name}:rwx,default:group:${agent.group}:rwx`, home],
    { privileged: true },
  );

  // 5. Our entrypoint, built from our source, in the root-owned location.
  const installed = installEntrypoint(runner, {
    agentName: name,
    agentUid: user.uid,
    agentGid: own?.gid ?? 0,
    driverGroup: agent.group,
    driverGid: driver.gid,
    agentHome: home,
  });
  agent.entrypoint = installed.path;
  agent.entrypointSha256 = installed.sha256;
  agent.entrypointBuild = installed.build;
  save();

  // 6. Shares get our per-user ACLs (by the agent's uid, as the human on the human's files).
  for (const mount of agent.mounts)
    if (existsSync(mount.source))
      for (const notice of grantShareAccess(runner, agent, options.human, mount.source, !mount.readOnly)) auWarn(notice);

  agent.bootstrapped = true;
  delete agent.extra[PENDING];
  save();
}
