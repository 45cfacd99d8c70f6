// au doctor's Landlock check: the entrypoint scopes abstract unix sockets and signals only with
// Landlock ABI >= 6 and says nothing on a run when it cannot, so doctor must tell the human.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { landlockScopeCheck } from '../../src/doctor/landlock.js';
import { createRequire } from 'node:module';
import type { AuNative } from '../../src/system/native.js';

test('doctor: Landlock without scopes (missing, ABI < 6, no addon) is a WARN that says what runs can reach', () => {
  for (const abi of [undefined, 0, 1, 5]) {
    const c = landlockScopeCheck(abi);
    assert.equal(c.status, 'WARN', String(abi));
    assert.match(c.detail, /abstract unix socket/);
    assert.ok(c.fix, String(abi));
  }
  assert.equal(landlockScopeCheck(6).status, 'PASS');
  assert.equal(landlockScopeCheck(7).status, 'PASS');
});

test("doctor: the native probe reports the kernel's Landlock ABI", () => {
  const native = createRequire(import.meta.url)('../../native/build/Release/au_native.node') as AuNative;
  const abi = native.landlockAbi();
  assert.ok(Number.isInteger(abi) && abi >= 0, String(abi));
});
