// The web observer without a browser or root: addresses, tokens (0600, stable, constant-time
// compare), and the HTTP/WebSocket gate (token, Origin, audit of refusals) on a loopback port.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { AuditLog } from '../../src/server/audit.js';
import { FrameType } from '../../src/server/protocol/frames.js';
import { parseWebAddress } from '../../src/server/web/address.js';
import { loadOrCreateTokens, readTokens, roleOfToken } from '../../src/server/web/tokens.js';
import { WebServer } from '../../src/server/web/web-server.js';
import { REPO } from '../helpers/system.js';

describe('web observer: address', () => {
  test('[ADDR:]PORT, loopback by default', () => {
    assert.deepEqual(parseWebAddress('8080'), { host: '127.0.0.1', port: 8080, loopback: true, wildcard: false });
    assert.equal(parseWebAddress('127.0.0.2:1').loopback, true);
    assert.equal(parseWebAddress('[::1]:9').host, '::1');
    assert.equal(parseWebAddress('[::1]:9').loopback, true);
    assert.equal(parseWebAddress('localhost:0').loopback, true);
    assert.deepEqual(parseWebAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80, loopback: false, wildcard: true });
    assert.equal(parseWebAddress('192.168.1.5:80').loopback, false);
    for (const bad of ['', 'x', '70000', 'example.com:80', '1.2.3.4:', ':80x']) assert.throws(() => parseWebAddress(bad), /invalid/, bad);
  });
});

describe('web observer: tokens', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'aut-web-tokens-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('random, 0600, stable until rotated; each grants its role', () => {
    const path = join(dir, 'state', 'web-tokens.json');
    const tokens = loadOrCreateTokens({ path });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(tokens.observer, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(tokens.observer, tokens.operator);
    assert.deepEqual(loadOrCreateTokens({ path, url: 'http://127.0.0.1:1/' }), { ...tokens, url: 'http://127.0.0.1:1/' });
    assert.equal(readTokens(path)?.url, 'http://127.0.0.1:1/');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(roleOfToken(tokens, tokens.observer), 'observer');
    assert.equal(roleOfToken(tokens, tokens.operator), 'operator');
    assert.equal(roleOfToken(tokens, undefined), undefined);
    assert.equal(roleOfToken(tokens, ''), undefined);
    assert.equal(roleOfToken(tokens, tokens.operator.slice(1)), undefined);
    assert.equal(roleOfToken(tokens, `${tokens.operator}x`), undefined);
    const rotated = loadOrCreateTokens({ path, rotate: true });
    assert.notEqual(rotated.operator, tokens.operator);
  });
});

describe('web observer: the gate', () => {
  let dir: string;
  let web: WebServer;
  let audit: AuditLog;
  let auditFile: string;
  const tokens = { observer: 'o'.repeat(43), operator: 'p'.repeat(43) };
  let base: string;
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aut-web-gate-'));
    auditFile = join(dir, 'audit.jsonl');
    // Every refusal in full here (the limiter that summarises floods has its own tests).
    audit = new AuditLog(() => auditFile, { windowMs: 10_000, perSource: 1000, detailed: 1000 });
    web = new WebServer({
      address: parseWebAddress('127.0.0.1:0'),
      tokens,
      assetsDir: join(REPO, 'dist', 'web'),
      host: {
        sessions: new Map(),
        auditLog: audit,
        configPath: join(dir, 'none.toml'),
        ownerName: 'tester',
        clientQueueBytes: 1 << 20,
        clientsPerSession: 4,
      },
    });
    await web.start();
    base = web.url.replace(/\/$/, '');
    origin = base;
  });
  after(async () => {
    await web.close();
    audit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const auditLines = (): Record<string, any>[] =>
    readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);

  test('the page needs no token (and says nothing); the API needs one', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await page.text(), /<script src="\/app.js">/);
    assert.equal((await fetch(`${base}/app.js`)).status, 200);
    assert.equal((await fetch(`${base}/api/state`)).status, 401);
    assert.equal((await fetch(`${base}/api/state?token=wrong`)).status, 401);
    assert.equal((await fetch(`${base}/api/state`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal(
      (await fetch(`${base}/api/state`, { headers: { Authorization: `Bearer ${tokens.observer}`, Origin: 'http://evil.example' } })).status,
      403,
    );
    const ok = await fetch(`${base}/api/state`, { headers: { Authorization: `Bearer ${tokens.operator}` } });
    assert.equal(ok.status, 200);
    const state = (await ok.json()) as Record<string, any>;
    assert.equal(state.role, 'operator');
    assert.deepEqual(state.sessions, []);
    assert.equal((await fetch(`${base}/api/state?token=${tokens.observer}`)).status, 200);
    assert.equal((await fetch(`${base}/api/recordings/..%2f..%2fetc%2fpasswd?token=${tokens.observer}`)).status, 404);
  });

  const upgrade = (query: string, headers: Record<string, string>): Promise<{ status?: number; ws?: WebSocket; first?: Promise<Buffer> }> =>
    new Promise((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws${query}`, { headers });
      // Frames may come in the same packet as the handshake: listen before 'open'.
      const first = new Promise<Buffer>((r) => ws.once('message', (data: Buffer) => r(data)));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode });
        ws.terminate();
      });
      ws.once('open', () => resolve({ ws, first }));
      ws.once('error', () => resolve({}));
    });

  test('the WebSocket: no token or a wrong one is 401, a foreign or missing Origin 403; all audited without the token', async () => {
    assert.equal((await upgrade('?session=x', { Origin: origin })).status, 401);
    assert.equal((await upgrade('?session=x&token=wrong-token-here', { Origin: origin })).status, 401);
    assert.equal((await upgrade(`?session=x&token=${tokens.operator}`, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await upgrade(`?session=x&token=${tokens.operator}`, { Origin: `${origin}.evil.example` })).status, 403);
    assert.equal((await upgrade(`?session=x&token=${tokens.operator}`, {})).status, 403);
    const { ws, first: firstMessage } = await upgrade(`?session=nope&token=${tokens.observer}`, { Origin: origin });
    assert.ok(ws, 'a good token and Origin open the WebSocket');
    const first = await firstMessage!;
    assert.equal(first[0], FrameType.Error);
    assert.match(first.subarray(5).toString(), /no live session \\"nope\\"/);
    ws.close();
    const refused = auditLines().filter((e) => e.event === 'web-refused');
    const reasons = refused.map((e) => `${e.status} ${e.reason}`);
    for (const expected of ['401 no token', '401 wrong token', '403 foreign Origin "http://evil.example"', '403 no Origin header'])
      assert.ok(reasons.includes(expected), `${expected} in ${reasons.join(', ')}`);
    const text = readFileSync(auditFile, 'utf8');
    assert.ok(
      !text.includes(tokens.operator) && !text.includes(tokens.observer) && !text.includes('wrong-token-here'),
      'no token in the audit',
    );
  });
});
