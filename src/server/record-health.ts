// `au doctor`'s view of the record (audit log, recordings): whether it has gaps (a full disk
// made the server drop what it could not write; it marks them, see line-file.ts), and whether
// the state directory is nearly full now.
import { readFileSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { Check } from '../doctor/checks.js';
import { stateDir } from './paths.js';
import { recordFiles } from './retention.js';

const DAYS = 7;
/** Below this, the next burst of output may not fit. */
const LOW_SPACE_BYTES = 64 * 1024 * 1024;

export function recordChecks(env: NodeJS.ProcessEnv = process.env): Check[] {
  const dir = stateDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const gaps: string[] = [];
  for (const name of names
    .filter((n) => /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/.test(n))
    .sort()
    .slice(-DAYS)) {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    let lost = 0;
    const recordings: string[] = [];
    for (const line of text.split('\n')) {
      if (!line.includes('"event":"gap"') && !line.includes('"event":"record-incomplete"')) continue;
      try {
        const event = JSON.parse(line) as { event: string; lost?: number; recording?: string };
        if (event.event === 'gap') lost += Math.max(1, event.lost ?? 0);
        if (event.event === 'record-incomplete' && event.recording) recordings.push(event.recording);
      } catch {
        /* not a line we wrote whole */
      }
    }
    if (lost > 0) gaps.push(`${name}: ${lost} audit events lost`);
    if (recordings.length > 0)
      gaps.push(`${name}: recordings with lost output: ${recordings.slice(0, 5).join(', ')}${recordings.length > 5 ? ', ...' : ''}`);
  }
  const checks: Check[] = [];
  if (gaps.length > 0) {
    checks.push({
      status: 'WARN',
      check: 'session record',
      detail: `the record is incomplete (the disk was full): ${gaps.join('; ')}`,
      fix: `df -h ${dir}   # keep space free there; the gaps stay marked in the record`,
    });
  } else checks.push({ status: 'PASS', check: 'session record', detail: `no gaps in the audit log of the last ${DAYS} days` });
  const files = recordFiles(env);
  const mb = files.reduce((sum, f) => sum + f.bytes, 0) / 1024 / 1024;
  checks.push({
    status: 'PASS',
    check: 'session record size',
    detail: `${mb.toFixed(1)} MiB in ${files.length} files under ${dir} (au sessions prune removes what is older than [server] keep_days)`,
  });
  try {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    if (free < LOW_SPACE_BYTES)
      checks.push({
        status: 'WARN',
        check: 'session record space',
        detail: `${Math.floor(free / 1024)} KiB free for ${dir}: the record will have gaps when it fills`,
        fix: `free space on the filesystem of ${dir}`,
      });
  } catch {
    /* statfs unsupported: no figure */
  }
  return checks;
}
