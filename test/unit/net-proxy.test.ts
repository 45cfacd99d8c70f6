// The domains proxy's one parser for hosts (host.ts) and its HTTP front (node:http), with the
// requests a hostile agent would send: NUL, `%00`, control bytes, odd IPv4 and IPv6 forms,
// trailing dots, non-ASCII names, absolute-form requests. A real proxy on loopback; no name
// here resolves beyond /etc/hosts (the only names that pass the checks are `localhost` ones,
// refused as loopback).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { canonicalName, parseConnectTarget, parseHost } from '../../src/net/host.js';
import type { NetPolicy } from '../../src/net/policy.js';
import { checkTarget, proxyServer } from '../../src/net/proxy.js';
import { listenersOn, squatted } from '../../src/net/proxy-process.js';

const policy: NetPolicy = { policy: 'domains', loopbackPorts: [], allow: [], domains: ['*.example.com', 'localhost'], proxyPort: 1 };

test('names: strict labels, lowercase, one trailing dot dropped, ASCII only, no IPv4 in disguise', () => {
  assert.equal(canonicalName('API.Example.COM'), 'api.example.com');
  assert.equal(canonicalName('api.example.com.'), 'api.example.com');
  assert.equal(canonicalName('xn--bcher-kva.example.com'), 'xn--bcher-kva.example.com');
  for (const bad of [
    'api.example.com..',
    '.example.com',
    'a..b.com',
    'bücher.example.com',
    'a\u0000.example.com',
    'a%00.example.com',
    'a\t.example.com',
    'a .example.com',
    'a\r\n.com',
    '-a.com',
    'a-.com',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(127)}com`,
    'a/b.com',
    'u@a.com',
    '',
  ]) {
    assert.equal(canonicalName(bad), undefined, JSON.stringify(bad));
  }
  // What inet_aton would read as 127.0.0.1 (decimal, octal, hex, short forms) is no name.
  for (const bad of ['2130706433', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '127.1', '127.0.1', '017700000001']) {
    assert.equal(canonicalName(bad), undefined, bad);
    assert.equal(parseHost(bad), undefined, bad);
  }
});

test('addresses: dotted quad without leading zeros, IPv6 without zone id', () => {
  assert.deepEqual(parseHost('10.0.0.2'), { kind: 'ipv4', address: '10.0.0.2' });
  assert.deepEqual(parseHost('::FFFF:10.0.0.2'), { kind: 'ipv6', address: '::ffff:10.0.0.2' });
  for (const bad of ['010.0.0.2', '10.0.0.256', '10.0.0.2.', 'fe80::1%eth0', 'fe80::1%25eth0', ':::1', '1::2::3'])
    assert.equal(parseHost(bad), undefined, bad);
});

test('CONNECT targets: host:port or [IPv6]:port, the port given and in range', () => {
  assert.deepEqual(parseConnectTarget('a.example.com:443'), { host: { kind: 'name', name: 'a.example.com' }, port: 443 });
  assert.deepEqual(parseConnectTarget('[::1]:80'), { host: { kind: 'ipv6', address: '::1' }, port: 80 });
  for (const bad of [
    'a.example.com',
    'a.example.com:',
    'a.example.com:0',
    'a.example.com:0443',
    'a.example.com:65536',
    '::1:80',
    '[10.0.0.2]:80',
    '[::1%lo]:80',
    'http://a.example.com:80',
    'a.example.com:443/x',
    'u@a.example.com:443',
  ]) {
    assert.equal(parseConnectTarget(bad), undefined, bad);
  }
});

test('the check: NUL, %00, control bytes, addresses and their disguises are refused before any lookup', async () => {
  for (const target of [
    '10.0.0.2\u0000.example.com:80',
    '10.0.0.2%00.example.com:80',
    '10.0.0.2\t.example.com:80',
    '10.0.0.2 .example.com:80',
    '167772162:80',
    '012.0.0.2:80',
    '0xa000002:80',
    '10.2:80',
    '10.0.0.2:80',
    '[::ffff:10.0.0.2]:80',
    '[::ffff:a00:2]:80',
    'bücher.example.com:443',
  ]) {
    const verdict = await checkTarget(policy, target);
    assert.ok('refuse' in verdict, `${JSON.stringify(target)}: ${JSON.stringify(verdict)}`);
  }
  assert.match(
    JSON.stringify(await checkTarget(policy, 'localhost.:80')),
    /resolves to 127\.0\.0\.1|resolves to ::1/,
    'a trailing dot is the same name (and loopback is refused)',
  );
  assert.match(
    JSON.stringify(await checkTarget(policy, 'example.com.:443')),
    /not a listed domain/,
    '*.example.com is not example.com, dot or not',
  );
});

let port = 0;
const server = proxyServer(() => policy, { headersTimeoutMs: 500 });
before(
  () =>
    new Promise<void>((resolve) =>
      server.listen({ host: '127.0.0.1', port: 0 }, () => ((port = (server.address() as AddressInfo).port), resolve())),
    ),
);
after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

/** Sends raw bytes to the proxy; the status line of its answer ('' when it closes without one). */
function ask(raw: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(raw));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
}

test('the proxy answers 403 to hostile CONNECT targets, whether llhttp or the policy refuses them', async () => {
  for (const target of [
    '10.0.0.2\u0000.example.com:80',
    '10.0.0.2%00.example.com:80',
    '10.0.0.2\u0001.example.com:80',
    '10.0.0.2\t.example.com:80',
    '167772162:80',
    '0xa.0.0.2:80',
    '[::ffff:10.0.0.2]:80',
    '[fe80::1%25lo]:80',
    'b\u00fccher.example.com:443',
  ]) {
    assert.equal(
      await ask(Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, 'latin1')),
      'HTTP/1.1 403 Forbidden',
      JSON.stringify(target),
    );
  }
});

test('absolute-form and other non-CONNECT requests are refused, not forwarded', async () => {
  assert.equal(await ask('GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await ask('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n'), 'HTTP/1.1 403 Forbidden');
  assert.equal(
    await ask('POST http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 2\r\n\r\nhi'),
    'HTTP/1.1 403 Forbidden',
  );
});

test('a request head that never ends is cut off by the header timeout', async () => {
  const answer = await ask('CONNECT a.example.com:443 HTTP/1.1\r\nX-Slow: 1\r\n');
  assert.equal(answer, 'HTTP/1.1 408 Request Timeout');
});

test('listeners on the proxy port: IPv4 and IPv6, any address; another uid is refused', () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0C38 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 00000000:0C38 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 2 1
   2: 0100007F:0C39 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1002        0 3 1
`;
  const tcp6 = `  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0C38 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1003        0 4 1
`;
  const read = (path: string): string => (path.endsWith('6') ? tcp6 : tcp);
  const listeners = listenersOn(3128, read);
  assert.deepEqual(
    listeners.map((l) => l.uid),
    [1000, 1001, 1003],
  );
  assert.match(squatted(listeners, 1000) ?? '', /uid 1001/);
  assert.match(
    squatted(
      listenersOn(3128, (p) =>
        p.endsWith('6')
          ? tcp6
          : tcp
              .split('\n')
              .filter((l) => !l.includes(' 1001 '))
              .join('\n'),
      ),
      1000,
    ) ?? '',
    /uid 1003 .*IPv6/,
  );
  assert.equal(squatted(listenersOn(3129, read), 1002), undefined);
});

test('the proxy does not exit when idle while a run of the agent is live, and does once none is', async () => {
  let live = true;
  let asked = 0;
  const idle = proxyServer(() => policy, { idleExitMs: 20, busy: () => (asked++, live) });
  await new Promise<void>((resolve) => idle.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const closed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  while (asked < 3) await new Promise((r) => setTimeout(r, 10));
  assert.equal(idle.listening, true, 'asked three times whether a run is live, and stayed');
  live = false;
  await closed;
  assert.equal(idle.listening, false);
});

test('a uid with processes is live; one without is not', async () => {
  const { uidHasProcesses } = await import('../../src/net/agent-alive.js');
  assert.equal(uidHasProcesses(process.getuid!()), true);
  assert.equal(uidHasProcesses(2147483000), false);
});

test("the machine's own addresses (every interface, loopback aside) are local; others are not", async () => {
  const { networkInterfaces } = await import('node:os');
  const { isLocalAddress } = await import('../../src/net/local-address.js');
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((i) => !i.address.includes('%') && !i.address.startsWith('fe80'));
  assert.ok(own.length > 0);
  for (const i of own) assert.equal(await isLocalAddress(i.address), true, i.address);
  assert.equal(await isLocalAddress('127.0.0.2'), true, 'all of 127/8 is routed as local');
  for (const other of ['192.0.2.1', '2001:db8::1', '198.51.100.7']) assert.equal(await isLocalAddress(other), false, other);
});
