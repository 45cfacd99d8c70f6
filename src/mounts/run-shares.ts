// Shares granted for one run only (`au run --share DIR[:rw]`, and the current directory of a
// lockdown run): their ACLs are granted when the run starts and revoked when it ends, however
// it ends. A record is written (and synced) before the grant and removed after the revoke, so a
// run killed with SIGKILL leaves a record that the next `au run` (or `au mount`, `au delete`)
// finds and finishes: it revokes what a dead run granted.
import { auWarn } from '../cli/output.js';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig, MountConfig } from '../config/schema.js';
import { stateDir } from '../server/paths.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { grantShareAccess, revokeShareAccess } from './acl.js';

interface RunRecord {
  agent: string;
  pid: number;
  /** The process's start time (from /proc): a reused pid is not the run that wrote the record. */
  started: string;
  shares: MountConfig[];
}

const recordDir = (): string => join(stateDir(), 'run-shares');

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function writeRecord(path: string, record: RunRecord): void {
  mkdirSync(recordDir(), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Revokes what runs that died without cleaning up had granted (records of live runs are left alone). */
export function finishDeadRuns(runner: CommandRunner, agents: readonly AgentConfig[], human: Human): void {
  // Usually there is no such directory: known without an exception (each costs on every au run).
  if (!existsSync(recordDir())) return;
  let names: string[];
  try {
    names = readdirSync(recordDir());
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const path = join(recordDir(), name);
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
    } catch {
      continue;
    }
    if (startTimeOf(record.pid) === record.started) continue;
    const agent = agents.find((a) => a.userName === record.agent);
    if (agent) {
      process.stderr.write(
        `au: a run of ${agent.userName} (pid ${record.pid}) ended without removing its per-run shares: removing them now\n`,
      );
      for (const share of record.shares) for (const problem of revokeShareAccess(runner, agent, human, share.source)) auWarn(problem);
    }
    if (!runner.dryRun) unlinkSync(path);
  }
}

/** Grants the run's shares after recording them; returns the function that revokes them and removes the record. */
export function grantForRun(runner: CommandRunner, agent: AgentConfig, human: Human, shares: readonly MountConfig[]): () => void {
  if (shares.length === 0) return () => {};
  const started = startTimeOf(process.pid) ?? '';
  const path = join(recordDir(), `${agent.userName}-${process.pid}.json`);
  if (!runner.dryRun) writeRecord(path, { agent: agent.userName, pid: process.pid, started, shares: [...shares] });
  const granted: MountConfig[] = [];
  const revoke = (): void => {
    for (const share of granted) for (const problem of revokeShareAccess(runner, agent, human, share.source)) auWarn(problem);
    if (!runner.dryRun) unlinkSync(path);
  };
  try {
    for (const share of shares) {
      granted.push(share); // recorded as granted first: a grant that fails half-way is revoked too
      for (const notice of grantShareAccess(runner, agent, human, share.source, !share.readOnly)) auWarn(notice);
    }
  } catch (error) {
    revoke();
    throw error;
  }
  return revoke;
}
