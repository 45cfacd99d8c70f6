// Whether any process of a uid exists (the proxy of a domains policy must not exit while a run
// of its agent is live: the port it frees could be taken by another user). Read from /proc as
// the human; when /proc hides other users' processes (hidepid), the answer is "yes", always.
// `au net set|clear|apply` lists them too: a live run keeps the policy it started with.
import { readFileSync, readdirSync } from 'node:fs';

export function uidHasProcesses(uid: number): boolean {
  const pids = uidProcesses(uid);
  return pids === undefined || pids.length > 0;
}

/** The processes of a uid (any of real, effective, saved, filesystem); undefined when /proc hides them. */
export function uidProcesses(uid: number): number[] | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    readFileSync('/proc/1/status', 'utf8');
  } catch {
    return undefined; // cannot tell
  }
  const found: number[] = [];
  for (const pid of pids) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (/^State:\s+Z/m.test(status)) continue; // a zombie: no sockets, nothing left to run
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (uids.includes(uid)) found.push(Number(pid));
  }
  return found;
}
