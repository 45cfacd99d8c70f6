// `au delete`: undo everything `au new` and `au mount add` did, skipping what is already gone,
// but only for the user au created (see identity.ts).
//
// No silent uid reuse (A28): a uid that still owns files must never be handed to another
// account, or that account inherits them (an agent's `.claude/` state, its files in shares).
// So without `-H` the account itself is kept, locked (login.ts) and with no processes, together
// with its groups, for as long as its home exists; `au new` takes it back and `au delete -H`
// removes it. Files the agent left in the human's shares are handed to the human in both cases:
// they are the human's folders, and after `-H` nobody else may ever own them.
import { auWarn } from '../cli/output.js';
import { existsSync, lstatSync } from 'node:fs';
import type { AgentConfig, KeptAccount } from '../config/schema.js';
import { removeEntrypoint } from '../entrypoint/install.js';
import { revokeShareAccess } from '../mounts/acl.js';
import { removeAgentCgroups } from '../limits/cgroups.js';
import { removePolicy } from '../net/apply.js';
import { enforced } from '../net/policy.js';
import { lookupGroup, lookupUser } from '../system/accounts.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { foreignUserReasons } from './identity.js';
import { clearKeyrings } from './keyrings.js';
import { AgentSetupError } from './create.js';
import { undenyJobs } from './job-denials.js';
import { disableLinger, lockLogins, sudoQuery } from './login.js';
import { agentHomeOf } from './names.js';
import { removeAgentTraces } from './traces.js';
import { removeShareStage } from '../review/drop-stage.js';
import { removeAgentReviewDir } from '../review/staging.js';

/** Throws AgentSetupError when the recorded user exists but is not ours: nothing is touched. */
export function checkDeletable(runner: CommandRunner, agent: AgentConfig | KeptAccount): void {
  const user = lookupUser(runner, agent.userName);
  if (!user) return;
  const reasons = foreignUserReasons(runner, agent, user);
  if (reasons.length > 0) {
    throw new AgentSetupError(`refusing to delete user ${agent.userName}: it is not the agent au created (${reasons.join('; ')})`);
  }
}

export interface HandedOver {
  source: string;
  files: number;
}

export interface DeleteOutcome {
  /** Set when the account was kept (no `-H`). */
  kept?: KeptAccount;
  handedOver: HandedOver[];
  warnings: string[];
}

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Ends every process of `uid`, again until none is left (a process may fork while pkill runs). */
function endProcesses(runner: CommandRunner, uid: number): void {
  const alive = (): boolean => runner.query(['pgrep', '--uid', String(uid)], { privileged: true }).status === 0;
  for (let round = 0; round < 5; round++) {
    if (!alive()) return;
    runner.change(['pkill', '--signal', 'KILL', '--uid', String(uid)], { privileged: true, allowFailure: true });
    if (runner.dryRun) return;
    for (let wait = 0; wait < 40 && alive(); wait++) pause(25);
  }
  if (alive()) throw new AgentSetupError(`processes of uid ${uid} are still running after pkill; nothing more was changed`);
}

/**
 * Gives the human what the agent left in a share (its files, and files of its own group), as
 * root, without following symlinks or leaving the filesystem. The agent has no process left and
 * no entrypoint, so nothing races this walk. chown also clears setuid/setgid bits and file
 * capabilities, so nothing the agent planted there runs with the human's identity.
 */
function handOverShare(runner: CommandRunner, source: string, uid: number, gid: number, human: Human): HandedOver {
  const result = runner.change(
    [
      'find',
      '-P',
      source,
      '-xdev',
      '(',
      '-uid',
      String(uid),
      '-o',
      '-gid',
      String(gid),
      ')',
      '-printf',
      '.',
      '-exec',
      'chown',
      '--no-dereference',
      `${human.uid}:${human.gid}`,
      '{}',
      '+',
    ],
    { privileged: true, allowFailure: true },
  );
  return { source, files: result.stdout.length };
}

/** A kept home is open to its drivers only, whatever mode the agent gave it (sshd wants 755, say). */
function closeHome(runner: CommandRunner, home: string): void {
  let st;
  try {
    st = lstatSync(home);
  } catch {
    return;
  }
  if (st.isDirectory() && (st.mode & 0o7777) !== 0o2770) runner.change(['chmod', '2770', home], { privileged: true });
}

interface AccountIds {
  userName: string;
  group: string;
  uid?: number;
  gid?: number;
  groupGid?: number;
}

/** userdel and groupdel for an account that is ours, and the deny-file lines `au new` added. */
function removeAccount(runner: CommandRunner, ids: AccountIds, withHome: boolean): void {
  const user = lookupUser(runner, ids.userName);
  if (user) {
    disableLinger(runner, ids.userName);
    // Before userdel: the kernel keeps the uid's keyrings after the account is gone.
    if (withHome) clearKeyrings(runner, user.uid, user.gid);
    // An agent has no mail spool; userdel says so on every delete, which only worries the user.
    runner.change(['userdel', ...(withHome ? ['--remove'] : []), ids.userName], {
      privileged: true,
      hideStderr: /mail spool .* not found/,
    });
  } else if (withHome && ids.uid !== undefined) {
    // The account was removed by someone else, but its home is still there, owned by the old uid.
    const home = agentHomeOf(ids.userName);
    const st = existsSync(home) ? lstatSync(home) : undefined;
    if (st?.isDirectory() && st.uid === ids.uid) runner.change(['rm', '-rf', '--one-file-system', home], { privileged: true });
  }
  const ownGroup = lookupGroup(runner, ids.userName);
  if (ownGroup && (ids.gid === undefined || ownGroup.gid === ids.gid)) runner.change(['groupdel', ids.userName], { privileged: true });
  const driver = lookupGroup(runner, ids.group);
  if (driver && (ids.groupGid === undefined || driver.gid === ids.groupGid)) runner.change(['groupdel', ids.group], { privileged: true });
  undenyJobs(runner, sudoQuery(runner), ids.userName);
}

export function deleteAgent(runner: CommandRunner, agent: AgentConfig, options: { deleteHome: boolean; human: Human }): DeleteOutcome {
  checkDeletable(runner, agent);
  // First no new run, then no running process: from here on nothing acts as the agent.
  removeEntrypoint(runner, agent.userName);
  const user = lookupUser(runner, agent.userName);
  if (user) endProcesses(runner, user.uid);
  // A review share has neither agent files nor ACLs in its source: its staging directory goes
  // (the staged changes were let go by the caller: drop-stage.ts), no run has it mounted now.
  const shares = agent.mounts.filter((m) => !m.review);
  for (const mount of agent.mounts) removeShareStage(runner, agent.userName, mount, options.human, false);
  removeAgentReviewDir(runner, agent.userName);
  const handedOver = user ? shares.map((mount) => handOverShare(runner, mount.source, user.uid, user.gid, options.human)) : [];
  // After the hand-over, so that the ACL entries on what the agent created are removed too.
  for (const mount of shares) for (const problem of revokeShareAccess(runner, agent, options.human, mount.source)) auWarn(problem);
  let kept: KeptAccount | undefined;
  let warnings: string[] = [];
  if (user && !options.deleteHome) {
    warnings = lockLogins(runner, agent.userName);
    closeHome(runner, agentHomeOf(agent.userName));
    kept = {
      userName: agent.userName,
      uid: user.uid,
      gid: user.gid,
      group: agent.group,
      groupGid: agent.groupGid ?? lookupGroup(runner, agent.group)?.gid,
    };
  } else {
    removeAccount(runner, agent, options.deleteHome);
  }
  removeAgentCgroups(runner, agent.userName);
  if (enforced(agent.net)) removePolicy(runner, agent.userName);
  removeAgentTraces(runner, agent.userName);
  return { kept, handedOver, warnings };
}

/** `au delete -H` of a kept account: the account, its groups and its home. */
export function removeKept(runner: CommandRunner, kept: KeptAccount): void {
  checkDeletable(runner, kept);
  const user = lookupUser(runner, kept.userName);
  if (user) endProcesses(runner, user.uid);
  removeAccount(runner, kept, true);
  removeAgentReviewDir(runner, kept.userName);
  removeAgentTraces(runner, kept.userName);
}
