// `au new`: every step checks whether it is already done, so a run interrupted half-way is
// finished by running `au new` again (or undone by `au delete`). The config record is
// written before the first system change and updated after each step that creates an id.
import { AuError } from '../errors.js';
import { existsSync, lstatSync, statSync } from 'node:fs';
import type { AgentConfig, Config, KeptAccount } from '../config/schema.js';
import { findAgent, findKept } from '../config/schema.js';
import { installEntrypoint } from '../entrypoint/install.js';
import { entrypointPathOf } from '../entrypoint/location.js';
import { isMember, lookupGroup, lookupUser } from '../system/accounts.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { foreignUserReasons } from './identity.js';
import { clearKeyrings } from './keyrings.js';
import { EXPIRED_ON, lockLogins, nologinShell } from './login.js';
import { AGENT_MARKER, agentHomeOf, driverGroupOf, validateAgentName } from './names.js';

export class AgentSetupError extends AuError {}

export interface CreatePlan {
  name: string;
  resuming: boolean;
  /** The account `au delete` kept, which this `au new` takes back with its home. */
  retaking?: KeptAccount;
}

/** A kept account is taken back only when it is still exactly what `au delete` left. */
function checkRetakable(runner: CommandRunner, kept: KeptAccount): void {
  const name = kept.userName;
  const forget = `\`au delete -H -a ${name}\` removes what is left of it`;
  const user = lookupUser(runner, name);
  if (!user) throw new AgentSetupError(`the account ${name} that au delete kept (uid ${kept.uid}) no longer exists; ${forget}`);
  const reasons = foreignUserReasons(runner, kept, user);
  if (reasons.length > 0) throw new AgentSetupError(`user ${name} is not the account au delete kept: ${reasons.join('; ')}`);
  const home = agentHomeOf(name);
  let st;
  try {
    st = lstatSync(home);
  } catch {
    throw new AgentSetupError(`the kept account ${name} has no home ${home}; ${forget}`);
  }
  if (!st.isDirectory() || st.uid !== kept.uid)
    throw new AgentSetupError(`${home} is not the kept account's home directory (owner uid ${st.uid}); ${forget}`);
  const driver = lookupGroup(runner, kept.group);
  if (kept.groupGid !== undefined && driver?.gid !== kept.groupGid) {
    throw new AgentSetupError(
      `group ${kept.group} of the kept account is ${driver ? `gid ${driver.gid}, au recorded ${kept.groupGid}` : 'gone'}; ${forget}`,
    );
  }
}

/** Checks everything that can be checked before touching the system. Throws AgentSetupError. */
export function planCreate(runner: CommandRunner, config: Config, name: string): CreatePlan {
  validateAgentName(name);
  const record = findAgent(config, name);
  if (record?.bootstrapped) throw new AgentSetupError(`agent ${name} already exists`);
  const kept = record ? undefined : findKept(config, name);
  if (kept) {
    checkRetakable(runner, kept);
    return { name, resuming: true, retaking: kept };
  }
  const resuming = record !== undefined;
  const user = lookupUser(runner, name);
  if (user) {
    if (!resuming) throw new AgentSetupError(`a user named ${name} already exists; au will not take it over`);
    const reasons = foreignUserReasons(runner, record, user);
    if (reasons.length > 0)
      throw new AgentSetupError(`user ${name} exists but is not the agent au started to create: ${reasons.join('; ')}`);
  } else {
    if (lookupGroup(runner, name)) throw new AgentSetupError(`a group named ${name} already exists; au will not take it over`);
    if (existsSync(agentHomeOf(name))) throw new AgentSetupError(`${agentHomeOf(name)} already exists; au will not take it over`);
  }
  const driver = driverGroupOf(name);
  if (!resuming && lookupGroup(runner, driver))
    throw new AgentSetupError(`a group named ${driver} already exists; au will not take it over`);
  return { name, resuming };
}

export function newRecord(name: string, kept?: KeptAccount): AgentConfig {
  return {
    userName: name,
    group: kept?.group ?? driverGroupOf(name),
    entrypoint: entrypointPathOf(name),
    entrypointSha256: '',
    bootstrapped: false,
    mounts: [],
    ...(kept ? { uid: kept.uid, gid: kept.gid, groupGid: kept.groupGid } : {}),
    extra: {},
  };
}

/** Warns when other users can enter the human's home: the agent could read it (A7). */
export function homeExposure(human: Human): string | undefined {
  try {
    const mode = statSync(human.home).mode;
    if (mode & 0o005) {
      return `your home ${human.home} is accessible by other users (mode ${(mode & 0o777).toString(8)}): the agent can read it; fix: chmod 750 ${human.home}`;
    }
  } catch {
    // A missing home is reported elsewhere; nothing to warn about here.
  }
  return undefined;
}

/**
 * Performs the remaining steps of creating `record`'s agent. `save` persists the record after
 * each step so that an interruption leaves an accurate trace. Returns warnings about what au
 * leaves to the administrator.
 */
export function createAgent(runner: CommandRunner, record: AgentConfig, human: Human, save: () => void): string[] {
  const name = record.userName;
  const home = agentHomeOf(name);
  const dry = runner.dryRun;

  let driver = lookupGroup(runner, record.group);
  if (!driver) {
    runner.change(['groupadd', record.group], { privileged: true });
    driver = lookupGroup(runner, record.group);
  }
  if (driver && record.groupGid !== undefined && driver.gid !== record.groupGid) {
    throw new AgentSetupError(`group ${record.group} has gid ${driver.gid}, au recorded ${record.groupGid}`);
  }
  if (driver) record.groupGid = driver.gid;
  else if (!dry) throw new AgentSetupError(`group ${record.group} was not created`);
  save();

  let user = lookupUser(runner, name);
  if (!user) {
    runner.change(
      // Not a login account (login.ts): runs go through the entrypoint, never the passwd shell.
      [
        'useradd',
        '--create-home',
        '--home-dir',
        home,
        '--shell',
        nologinShell(),
        '--expiredate',
        EXPIRED_ON,
        '--user-group',
        '--comment',
        AGENT_MARKER,
        name,
      ],
      { privileged: true },
    );
    user = lookupUser(runner, name);
    // A new account may get a uid used before: what a former owner left in that uid's kernel
    // keyrings must not reach the agent's first run.
    if (user) clearKeyrings(runner, user.uid, user.gid);
  }
  if (user) {
    record.uid = user.uid;
    record.gid = user.gid;
  } else if (!dry) throw new AgentSetupError(`user ${name} was not created`);
  save();

  if (!driver || !isMember(runner, { name: human.name, gid: human.gid }, driver)) {
    runner.change(['usermod', '--append', '--groups', record.group, human.name], { privileged: true });
  }

  // The home is shared between the agent and its drivers: setgid keeps new files in the
  // driver group, and the default ACLs keep them editable by both sides.
  runner.change(['chgrp', record.group, home], { privileged: true });
  runner.change(['chmod', '2770', home], { privileged: true });
  runner.change(
    ['setfacl', '--modify', `user:${name}:rwx,group:${record.group}:rwx,default:user:${name}:rwx,default:group:${record.group}:rwx`, home],
    { privileged: true },
  );

  // useradd made it a non-login account already; this adds the cron/at denials, and on a
  // resumed or taken-back account whatever is missing.
  const warnings = lockLogins(runner, name);

  installAgentEntrypoint(runner, record);
  record.bootstrapped = true;
  save();
  return warnings;
}

/** Builds this au's entrypoint for the agent and installs it, recording its hash and build stamp. */
export function installAgentEntrypoint(runner: CommandRunner, record: AgentConfig): void {
  const installed = installEntrypoint(runner, {
    agentName: record.userName,
    agentUid: record.uid ?? 0,
    agentGid: record.gid ?? 0,
    driverGroup: record.group,
    driverGid: record.groupGid ?? 0,
    agentHome: agentHomeOf(record.userName),
  });
  record.entrypoint = installed.path;
  record.entrypointSha256 = installed.sha256;
  record.entrypointBuild = installed.build;
}
