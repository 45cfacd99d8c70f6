// ACLs that let the agent reach a shared folder through its bind mount. They are set by the
// human, on the human's own files only (never by root over a tree the agent can write): files
// the agent created there are its own already. `find -P` never follows a symlink.
import type { CommandRunner } from '../system/runner.js';

function onOwnFiles(ownerUid: number, source: string, type: 'd' | 'f', setfacl: string[]): string[] {
  return ['find', '-P', source, '-user', String(ownerUid), '-type', type, '-exec', 'setfacl', ...setfacl, '{}', '+'];
}

export function grantShareAccess(runner: CommandRunner, agentName: string, human: { name: string; uid: number }, source: string, readWrite: boolean): void {
  const access = readWrite ? [`user:${agentName}:rwX`] : [`user:${agentName}:rX`];
  const defaults = readWrite ? [`default:user:${agentName}:rwX`, `default:user:${human.name}:rwX`] : [`default:user:${agentName}:rX`];
  runner.change(onOwnFiles(human.uid, source, 'd', ['--modify', [...access, ...defaults].join(',')]));
  runner.change(onOwnFiles(human.uid, source, 'f', ['--modify', access.join(',')]));
}

export function revokeShareAccess(runner: CommandRunner, agentName: string, humanUid: number, source: string): void {
  runner.change(onOwnFiles(humanUid, source, 'd', ['--remove', `user:${agentName},default:user:${agentName}`]), { allowFailure: true });
  runner.change(onOwnFiles(humanUid, source, 'f', ['--remove', `user:${agentName}`]), { allowFailure: true });
}
