// Review 8 (adversarial): the audit log's background fdatasync must not lose or tear an `end`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../src/server/audit.js';
import { tempDir } from '../helpers/temp.js';

test('attack: an `end` recorded while background syncs run, then a day change and close, is in the file at once as a whole line; no line is torn or lost', async () => {
  const dir = tempDir();
  let day = 'a';
  const audit = new AuditLog(() => join(dir, `audit-${day}.jsonl`));
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 200; i++)
      audit.record({ event: 'input', session: 's', user: 'u', bytes: 1, data: `r${round}-${i}-${'x'.repeat(i % 97)}` });
    await new Promise((r) => setTimeout(r, round % 5)); // background syncs start between rounds
    audit.record({ event: 'end', session: `s${round}`, exitCode: 0, reason: 'exited' } as never);
    // On the page cache at once, read back by another descriptor before anything else runs.
    const text = readFileSync(join(dir, `audit-${day}.jsonl`), 'utf8');
    assert.ok(text.endsWith('\n'), 'a torn last line');
    assert.equal(JSON.parse(text.trimEnd().split('\n').pop()!).session, `s${round}`, 'the end is not the last whole line');
    if (round === 10) day = 'b';
  }
  audit.close();
  let n = 0;
  for (const name of ['audit-a.jsonl', 'audit-b.jsonl'])
    for (const line of readFileSync(join(dir, name), 'utf8').trimEnd().split('\n')) {
      JSON.parse(line);
      n++;
    }
  assert.equal(n, 20 * 201);
  assert.equal(audit.loss.lostEvents, 0);
  // Nothing written after close reaches a reused descriptor.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(readFileSync(join(dir, 'audit-b.jsonl'), 'utf8').trimEnd().split('\n').length, 9 * 201);
});
