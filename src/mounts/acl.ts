// ACLs that let the agent reach a shared folder through its bind mount. They are set by the
// human on the human's own files (never by root over a tree the agent can write), with a
// physical walk so a symlink inside the share is never followed.
import type { CommandRunner } from '../system/runner.js';

export function grantShareAccess(runner: CommandRunner, agentName: string, humanName: string, source: string, readWrite: boolean): void {
  const entries = readWrite
    ? [`user:${agentName}:rwX`, `default:user:${agentName}:rwX`, `default:user:${humanName}:rwX`]
    : [`user:${agentName}:rX`, `default:user:${agentName}:rX`];
  runner.change(['setfacl', '--recursive', '--physical', '--modify', entries.join(','), source]);
}

export function revokeShareAccess(runner: CommandRunner, agentName: string, source: string): void {
  runner.change(['setfacl', '--recursive', '--physical', '--remove', `user:${agentName},default:user:${agentName}`, source], {
    allowFailure: true,
  });
}
