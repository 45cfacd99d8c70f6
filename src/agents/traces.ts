// What `au delete` removes beyond the config's record: traces au can attribute to the agent by
// its name even when the config no longer lists them (a killed `au net clear`, a config the
// Python tool rewrote): its nftables table `inet au-NAME`, the human's `au net proxy -a NAME`
// process, and `au new`'s build folders of that agent left in the temp directory by a kill.
// (Its cgroups are removed by name in delete.ts; stale `.tmp` config files by the config store.)
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPolicy, removePolicy } from '../net/apply.js';
import type { CommandRunner } from '../system/runner.js';

/** The prefix of the agent's entrypoint build folders (see entrypoint/install.ts). */
export const buildDirPrefix = (agentName: string): string => `au-entrypoint-${agentName}-`;

/** Pids of our own processes running `au ... net proxy -a NAME` (the domains proxy). */
function proxyPids(agentName: string): number[] {
  const uid = process.geteuid?.() ?? -1;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (lstatSync(`/proc/${entry}`).uid !== uid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('proxy');
      if (at > 1 && argv[at - 1] === 'net' && argv[at + 1] === '-a' && argv[at + 2] === agentName && argv.some((a) => a.endsWith('au.cjs')))
        pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Build folders of this agent that we own (the temp directory is shared: others' are skipped). */
function buildDirs(agentName: string): string[] {
  const uid = process.geteuid?.() ?? -1;
  const prefix = buildDirPrefix(agentName);
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix) && /^[A-Za-z0-9]{6}$/.test(name.slice(prefix.length)))
    .map((name) => join(tmpdir(), name))
    .filter((path) => {
      const st = lstatSync(path, { throwIfNoEntry: false });
      return st !== undefined && st.isDirectory() && !st.isSymbolicLink() && st.uid === uid;
    });
}

export function removeAgentTraces(runner: CommandRunner, agentName: string): void {
  if (listPolicy(runner, agentName).status === 0) removePolicy(runner, agentName);
  for (const pid of proxyPids(agentName)) runner.change(['kill', '--', String(pid)], { allowFailure: true });
  for (const dir of buildDirs(agentName)) runner.change(['rm', '-rf', '--', dir]);
}
