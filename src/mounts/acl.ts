// ACLs that let the agent reach a shared folder through its bind mount. They are set by the
// human, on the human's own files only (never by root over a tree the agent can write): files
// the agent created there are its own already. The tree may be writable by a live agent (a
// running session, a share above it), so it is walked by file descriptor without following
// symlinks, by one implementation: aclWalk of the native addon (native/acl_walk.c, A21).
// It is printed as `setfacl-by-fd`, the command line it is equivalent to (see README).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printable } from '../cli/output.js';
import type { AgentConfig } from '../config/schema.js';
import { AuError } from '../errors.js';
import { type AclWalkReport, type AclWalkRequest, loadNative } from '../system/native.js';
import { stateDir } from '../server/paths.js';
import { lookupGroup, lookupUser } from '../system/accounts.js';
import type { CommandRunner } from '../system/runner.js';

export class ShareAclError extends AuError {}

export interface Account {
  name: string;
  uid: number;
}

/** The human as the walk needs it: the primary group is where files leave su-as-NAME for. */
export interface HumanAccount extends Account {
  gid: number;
}

/**
 * The agent's account as ACL entries name it (by uid): the recorded uid when there is one (the
 * name may since belong to someone else), else the system's. Undefined when neither is known.
 */
export function agentAccount(runner: CommandRunner, agent: AgentConfig): Account | undefined {
  if (agent.uid !== undefined) return { name: agent.userName, uid: agent.uid };
  const user = lookupUser(runner, agent.userName);
  return user ? { name: agent.userName, uid: user.uid } : undefined;
}

function requireAgentAccount(runner: CommandRunner, agent: AgentConfig): Account {
  const account = agentAccount(runner, agent);
  if (!account) throw new ShareAclError(`user ${agent.userName} does not exist: run \`au new -a ${agent.userName}\` first`);
  return account;
}

const R = 4;
const W = 2;
const X_IF_EXECUTABLE = 8;

function walk(runner: CommandRunner, printed: string[], source: string, request: AclWalkRequest): AclWalkReport | undefined {
  if (!runner.announce(['setfacl-by-fd', ...printed, '--', source])) return undefined;
  const native = loadNative();
  if (!native?.aclWalk) {
    throw new ShareAclError(
      'the native addon (native/build/Release/au_native.node) is not built, and share ACLs are set only through it: run `npm run build`',
    );
  }
  try {
    return native.aclWalk(source, request);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw new ShareAclError(`${source} now goes through a symlink or is no folder (was it swapped?): nothing was changed there`);
    }
    if (code === 'EPERM') throw new ShareAclError(`${source} is not owned by you: nothing was changed there`);
    if (code === 'ENOENT') throw new ShareAclError(`${source} no longer exists`);
    throw error;
  }
}

/** At most this many paths of one kind are named in a message; the rest go to a file. */
const SHOWN = 64;

/**
 * PATHS named in a message: all of them when few, else the first SHOWN and the name of a file
 * (in the human's state directory, mode 600) that lists every one, one a line, written as
 * printable() writes them. COUNT is the walk's count, which may exceed what it could store.
 */
function namePaths(paths: readonly string[], count: number, what: string): string {
  const unstored = count > paths.length ? ` (and ${count - paths.length} the walk could not keep: out of memory)` : '';
  if (paths.length <= SHOWN) return paths.join(', ') + unstored;
  let listed: string;
  try {
    const dir = join(stateDir(), 'share-reports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${what}-${process.pid}.txt`);
    writeFileSync(file, paths.map((p) => `${printable(p)}\n`).join(''), { mode: 0o600, flag: 'wx' });
    listed = `all ${paths.length} are listed in ${file}`;
  } catch (error) {
    listed = `the full list could not be written (${(error as Error).message})`;
  }
  return `${paths.slice(0, SHOWN).join(', ')} and ${paths.length - SHOWN} more (${listed})${unstored}`;
}

function failures(report: AclWalkReport): string[] {
  return report.failedCount > 0
    ? [`${report.failedCount} ACL change(s) failed: ${namePaths(report.failed, report.failedCount, 'failed')}`]
    : [];
}

/**
 * Grants AGENT access to SOURCE; returns notices for the human (files given read-only access).
 * A regular file with other hard links gets read access only, never write: its other names may
 * be outside the share (a local `git clone` hard-links .git/objects to the original's), and
 * write access to the inode is write access to all of them (A8).
 */
export function grantShareAccess(
  runner: CommandRunner,
  agentConfig: AgentConfig,
  human: Account,
  source: string,
  readWrite: boolean,
): string[] {
  const agent = requireAgentAccount(runner, agentConfig);
  const perm = readWrite ? R | W | X_IF_EXECUTABLE : R | X_IF_EXECUTABLE;
  const set = [
    { uid: agent.uid, perm, isDefault: 0 as const },
    { uid: agent.uid, perm, isDefault: 1 as const },
    ...(readWrite ? [{ uid: human.uid, perm: R | W | X_IF_EXECUTABLE, isDefault: 1 as const }] : []),
  ];
  const mode = readWrite ? 'rwX' : 'rX';
  const modify = [
    `user:${agent.name}:${mode}`,
    `default:user:${agent.name}:${mode}`,
    ...(readWrite ? [`default:user:${human.name}:rwX`] : []),
  ];
  const report = walk(
    runner,
    ['--physical', '--owner', human.name, '--modify', modify.join(','), ...(readWrite ? ['--read-only-if-linked'] : [])],
    source,
    { owner: human.uid, set, remove: [], removeGroups: [] },
  );
  const problems = report ? failures(report) : [];
  if (problems.length > 0) throw new ShareAclError(`granting ${agent.name} access to ${source}: ${problems.join('; ')}`);
  if (!report || !readWrite || report.linkedCount === 0) return [];
  return [
    `${report.linkedCount} file(s) under ${source} have other hard links, whose names may be outside the share (a local \`git clone\` links .git/objects): ` +
      `${agent.name} may read them but not write them (it may still replace them by new files): ${namePaths(report.linked, report.linkedCount, 'hard-linked')}`,
  ];
}

/**
 * The gid of su-as-NAME when it is also the agent's primary group: the Python tool's layout,
 * where a share's files are put in that group (setgid folders, `group:su-as-NAME` entries) and
 * so reach the agent. In au's layout the agent has a group of its own, and su-as-NAME entries or
 * files (the humans') are none of the agent's: left alone.
 */
function pythonLayoutGroup(runner: CommandRunner, agent: AgentConfig): number | undefined {
  const driverGid = agent.groupGid ?? lookupGroup(runner, agent.group)?.gid;
  const primaryGid = lookupUser(runner, agent.userName)?.gid ?? agent.gid;
  return driverGid !== undefined && (primaryGid === undefined || primaryGid === driverGid) ? driverGid : undefined;
}

/**
 * Removes the agent's entries from everything of the human's under SOURCE (for the Python
 * tool's layout also the `group:su-as-NAME` entries, and its files and setgid folders return to
 * the human's primary group, the folders without setgid). Returns what could not be revoked,
 * each with what to do (empty when nothing is left).
 */
export function revokeShareAccess(runner: CommandRunner, agentConfig: AgentConfig, human: HumanAccount, source: string): string[] {
  const agent = agentAccount(runner, agentConfig);
  if (!agent)
    return [
      `the uid of ${agentConfig.userName} is unknown (no such user, none recorded): ACL entries of a former ${agentConfig.userName} may remain under ${source} as a bare uid (\`getfacl -R -p --skip-base ${source}\`)`,
    ];
  const groupGid = pythonLayoutGroup(runner, agentConfig);
  const regroup = groupGid !== undefined && groupGid !== human.gid && human.gid >= 0;
  const groupParts = groupGid === undefined ? [] : [`group:${agentConfig.group}`, `default:group:${agentConfig.group}`];
  const regroupArgs = regroup ? ['--regroup', `${agentConfig.group}:${human.gid}`, '--clear-setgid-of-regrouped'] : [];
  let report: AclWalkReport | undefined;
  try {
    const printed = [
      '--physical',
      '--owner',
      human.name,
      '--remove',
      [`user:${agent.name}`, `default:user:${agent.name}`, ...groupParts].join(','),
      ...regroupArgs,
    ];
    report = walk(runner, printed, source, {
      owner: human.uid,
      set: [],
      remove: [agent.uid],
      removeGroups: groupGid === undefined ? [] : [groupGid],
      ...(regroup ? { regroup: { from: groupGid, to: human.gid } } : {}),
    });
  } catch (error) {
    if (!(error instanceof ShareAclError)) throw error;
    return [
      `${error.message}; ${agent.name}'s ACL entries may remain on the files that were there: find them with \`getfacl -R -p --skip-base DIR\` and remove them with \`setfacl -x user:${agent.name} FILE\``,
    ];
  }
  if (!report) return [];
  const left = failures(report);
  if (report.unreadableCount > 0) {
    left.push(
      `cannot look inside ${namePaths(report.unreadable, report.unreadableCount, 'unreadable')} (not readable by you): a file of yours in there, or hard-linked in there by ${agent.name}, keeps ${agent.name}'s access, even if you moved it out of ${source}. ` +
        `For a folder of yours: \`chmod u+rx DIR && setfacl -R -x user:${agent.name} DIR\`; for one of ${agent.name}'s: remove it (\`sudo rm -rf -- DIR\`), or \`au delete -a ${agent.name}\` the agent: ` +
        `it hands everything of ${agent.name}'s under the share to you as root, and then revokes what you could not reach`,
    );
  }
  return left;
}
