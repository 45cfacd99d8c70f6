// The audit log's grouped syncs run off the event loop: lines are written at once, synced in the
// background; a day change or close while a background sync runs loses nothing and closes each
// file once (never a descriptor a running sync still uses).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../src/server/audit.js';
import { tempDir } from '../helpers/temp.js';

/** How many descriptors of this process are open on files in dir (other fds of the runner come and go). */
const openFdsIn = (dir: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false;
    }
  }).length;

test('grouped background syncs: every line lands, across a file change and a close, and no descriptor is left open', async () => {
  const dir = tempDir();
  let day = 'a';
  const audit = new AuditLog(() => join(dir, `audit-${day}.jsonl`));
  for (let i = 0; i < 50; i++) {
    audit.record({ event: 'input', session: 's', user: 'u', bytes: 1, data: `k${i}` });
    // Let some background syncs start between the lines.
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 6));
  }
  day = 'b';
  audit.record({ event: 'input', session: 's', user: 'u', bytes: 1, data: 'after-change' });
  await new Promise((r) => setTimeout(r, 6));
  audit.record({ event: 'input', session: 's', user: 'u', bytes: 1, data: 'last' });
  audit.close();
  // Whatever sync was running when the files were given up returns and closes them (a sync can take tens of ms).
  for (const deadline = Date.now() + 5000; openFdsIn(dir) > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
  const lines = (name: string): string[] =>
    readFileSync(join(dir, name), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).data);
  assert.deepEqual(
    lines('audit-a.jsonl'),
    Array.from({ length: 50 }, (_, i) => `k${i}`),
  );
  assert.deepEqual(lines('audit-b.jsonl'), ['after-change', 'last']);
  assert.equal(openFdsIn(dir), 0, 'each file closed');
  assert.equal(audit.loss.lostEvents, 0);
});
