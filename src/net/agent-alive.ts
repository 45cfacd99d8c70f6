// Whether any process of a uid exists (the proxy of a domains policy must not exit while a run
// of its agent is live: the port it frees could be taken by another user). Read from /proc as
// the human; when /proc hides other users' processes (hidepid), the answer is "yes", always.
import { readFileSync, readdirSync } from 'node:fs';

export function uidHasProcesses(uid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    readFileSync('/proc/1/status', 'utf8');
  } catch {
    return true; // cannot tell: assume a run is live
  }
  for (const pid of pids) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Uid: real, effective, saved, filesystem: any of them being the agent's counts.
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (uids.includes(uid)) return true;
  }
  return false;
}
