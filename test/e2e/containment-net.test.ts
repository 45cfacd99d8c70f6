// Network policies (au net), end to end on the real kernel: nftables rules on the agent's uid,
// a human's listeners on loopback, and an "outside" host in a network namespace of ours
// (veth pair), never anything beyond this machine.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, must, packageForHumans, sh } from '../helpers/system.js';
import { type Background, background as startInBackground } from '../helpers/background.js';

const tag = randomBytes(3).toString('hex');
const NS = `aut-${tag}`;
const VETH_HOST = `auh${tag}`;
const VETH_NS = `aup${tag}`;
const SUBNET = `10.213.${parseInt(tag.slice(0, 2), 16)}`;
const OUTSIDE = `${SUBNET}.2`;
const SUBNET6 = `fd00:a5:${tag.slice(0, 4)}::`;
const HOSTS_TAG = `# au test ${tag}`;
const WORLD = `aut-${tag}.test`;
const WORLD_LO = `aut-${tag}-lo.test`;
const WORLD_OTHER = `aut-${tag}-other.test`;
const HUMAN_PORT = 20000 + ((parseInt(tag.slice(2, 4), 16) * 37) % 20000);
const LISTED_PORT = HUMAN_PORT + 1;
const INBOUND_PORT = HUMAN_PORT + 2;
const LISTEN_PORT = HUMAN_PORT + 3;
const DNS_LOG = `/tmp/aut-dns-${tag}`;

const servers: ChildProcess[] = [];
function serve(argv: string[]): void {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  child.unref();
  servers.push(child);
}
function waitFor(check: () => boolean): void {
  for (let i = 0; i < 100 && !check(); i++) sh(['sleep', '0.05']);
}

/** Polls check every 50 ms until it holds or 10 s pass (no timing in the assertion itself). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
}

const background = (argv: string[], cwd = '/'): Background => startInBackground(argv, servers, cwd);

/** The agent's server: listens on every address (dual stack) on the ports; says what it accepted and received, and answers. */
const LISTENER = `import socket, select, sys
ss = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', int(p)))
    s.listen(0)  # a backlog of 0: the second SYN already gets a SYN cookie, answered without the listening socket
    ss.append(s)
print('cgroup', [l for l in open('/proc/self/cgroup').read().split('\\n') if l.startswith('0::')][0], flush=True)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
u.bind(('::', int(sys.argv[1])))
print('listening', flush=True)
while True:
    for s in select.select(ss + [u], [], [])[0]:
        if s is u:
            print('udp got', u.recvfrom(100), flush=True)
            continue
        c, a = s.accept()
        port = s.getsockname()[1]
        print('accepted', port, flush=True)
        c.settimeout(3)
        try:
            print('got', port, c.recv(100).decode().strip(), flush=True)
            c.sendall(b'pong\\n')
        except Exception as e:
            print('recv failed', port, e, flush=True)
        c.close()
`;

/** Clients, one thread each: connect, send "ping", print what came back ("reply pong") or why not, in order. */
const clientsScript = (targets: readonly (readonly [string, number])[]): string[] => [
  'python3',
  '-c',
  `import socket, threading\nout = {}\ndef one(i, host, port):\n  try:\n    c = socket.create_connection((host, port), timeout=2)\n    c.sendall(b'ping\\n')\n    out[i] = 'reply ' + (c.recv(100).decode().strip() or 'none')\n  except Exception as e:\n    out[i] = 'failed ' + type(e).__name__\nts = [threading.Thread(target=one, args=(i, h, p)) for i, (h, p) in enumerate(${JSON.stringify(targets)})]\nfor t in ts: t.start()\nfor t in ts: t.join()\nprint('\\n'.join(out[i] for i in range(len(ts))))`,
];

type Targets = Record<string, readonly [string, number]>;
/**
 * TCP connects to every target at once, one thread each, as whoever runs it: a JSON object of
 * name -> connected. A dropped SYN costs the 2 s timeout once per call, not once per target
 * (an allowed connect, on loopback or the veth pair, takes milliseconds).
 */
const reachScript = (targets: Targets): string[] => [
  'python3',
  '-c',
  `import json, socket, threading\nout = {}\ndef one(name, host, port):\n  try:\n    socket.create_connection((host, port), timeout=2).close()\n    out[name] = True\n  except OSError:\n    out[name] = False\nts = [threading.Thread(target=one, args=(n, h, p)) for n, (h, p) in json.loads(${JSON.stringify(JSON.stringify(targets))}).items()]\nfor t in ts: t.start()\nfor t in ts: t.join()\nprint(json.dumps(out))`,
];

describe('network policies (au net)', () => {
  let human: Human;
  let agent: string;
  let site: string;
  let other: Human;

  const reached = (r: { status: number; stdout: string; stderr: string }): Record<string, boolean> => {
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, boolean>;
  };
  const agentReaches = (targets: Targets): Record<string, boolean> =>
    reached(human.au(['run', '-a', agent, '--', ...reachScript(targets)]));
  const humanReaches = (targets: Targets): Record<string, boolean> => reached(human.run(reachScript(targets)));
  // The places the tests try to reach.
  const SERVICE = ['127.0.0.1', HUMAN_PORT] as const; // the human's loopback service
  const LISTED = ['127.0.0.1', LISTED_PORT] as const; // another one, on a port a policy lists
  const WEB = [OUTSIDE, 80] as const; // the outside host
  const WEB_TLS = [OUTSIDE, 443] as const;
  const agentPython = (code: string): { status: number; stdout: string; stderr: string } =>
    human.au(['run', '-a', agent, '--', 'python3', '-c', code]);

  before(() => {
    human = createHuman();
    other = createHuman();
    agent = human.newAgent();
    site = mkdtempSync(join(tmpdir(), 'aut-site-'));
    writeFileSync(join(site, 'index.html'), 'world\n');
    must(['chmod', '-R', 'a+rX', site]);
    // The outside host: a namespace behind a veth pair, serving HTTP on 80 and 443.
    must(['ip', 'netns', 'add', NS]);
    must(['ip', 'link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS]);
    must(['ip', 'link', 'set', VETH_NS, 'netns', NS]);
    must(['ip', 'addr', 'add', `${SUBNET}.1/30`, 'dev', VETH_HOST]);
    must(['ip', 'link', 'set', VETH_HOST, 'up']);
    must(['ip', '-n', NS, 'addr', 'add', `${OUTSIDE}/30`, 'dev', VETH_NS]);
    must(['ip', '-n', NS, 'link', 'set', VETH_NS, 'up']);
    must(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    must(['ip', '-6', 'addr', 'add', `${SUBNET6}1/64`, 'dev', VETH_HOST, 'nodad']);
    must(['ip', '-n', NS, '-6', 'addr', 'add', `${SUBNET6}2/64`, 'dev', VETH_NS, 'nodad']);
    for (const port of ['80', '443'])
      serve(['ip', 'netns', 'exec', NS, 'python3', '-m', 'http.server', port, '--bind', OUTSIDE, '--directory', site]);
    // A name server of the outside host that only writes down what reaches it (UDP and TCP 53).
    const dns = `import socket, threading\nlog = open('${DNS_LOG}', 'a', buffering=1)\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.bind(('${OUTSIDE}', 53))\nt = socket.socket()\nt.bind(('${OUTSIDE}', 53))\nt.listen(4)\ndef tcp():\n  while True:\n    c, a = t.accept()\n    log.write('tcp\\n')\n    c.close()\nthreading.Thread(target=tcp, daemon=True).start()\nprint('ready', flush=True)\nwhile True:\n  u.recvfrom(512)\n  log.write('udp\\n')\n`;
    writeFileSync(DNS_LOG, '');
    serve(['ip', 'netns', 'exec', NS, 'python3', '-c', dns]);
    // The human's own loopback services.
    for (const port of [HUMAN_PORT, LISTED_PORT])
      serve(['runuser', '-u', human.name, '--', 'python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', site]);
    writeFileSync(
      '/etc/hosts',
      `${readFileSync('/etc/hosts', 'utf8')}${OUTSIDE} ${WORLD} ${WORLD_OTHER} ${HOSTS_TAG}\n127.0.0.1 ${WORLD_LO} ${HOSTS_TAG}\n`,
    );
    waitFor(() => Object.values(humanReaches({ WEB, WEB_TLS, SERVICE, LISTED })).every(Boolean));
  });

  after(() => {
    for (const s of servers) {
      try {
        if (s.pid) process.kill(-s.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    writeFileSync(
      '/etc/hosts',
      readFileSync('/etc/hosts', 'utf8')
        .split('\n')
        .filter((l) => !l.includes(HOSTS_TAG))
        .join('\n'),
    );
    sh(['ip', 'netns', 'delete', NS]);
    sh(['ip', 'link', 'delete', VETH_HOST]);
    rmSync(site, { recursive: true, force: true });
    rmSync(DNS_LOG, { force: true });
    human.cleanup();
    other.cleanup();
  });

  test('without a policy the agent reaches loopback and the outside host', () => {
    assert.deepEqual(agentReaches({ SERVICE, WEB }), { SERVICE: true, WEB: true });
  });

  test('bad input: one line, exit 2', () => {
    for (const args of [
      ['nope'],
      ['deny', '--port', '70000'],
      ['allowlist'],
      ['allowlist', '--allow', '1.2.3.4/40'],
      ['domains'],
      ['domains', '--domain', 'bad domain'],
    ]) {
      const r = human.au(['net', 'set', '-a', agent, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('deny: no loopback service of the human, no outside host; a listed loopback port works; refusals are counted', () => {
    const set = human.au(['net', 'set', '-a', agent, 'deny', '--port', String(LISTED_PORT)]);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stderr, /^\$ sudo nft -f -$/m);
    assert.match(set.stderr, new RegExp(`meta skuid ${must(['id', '-u', agent]).trim()} jump agent`));
    assert.deepEqual(agentReaches({ SERVICE, WEB, LISTED }), { SERVICE: false, WEB: false, LISTED: true });
    assert.deepEqual(humanReaches({ SERVICE, WEB }), { SERVICE: true, WEB: true }, 'the human is not filtered');
    const show = human.au(['net', 'show', '-a', agent]);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /\(loaded\)/);
    const refused = Number(/^refused: (\d+) packets$/m.exec(show.stdout)?.[1]);
    assert.ok(refused >= 2, show.stdout);
  });

  test('fail closed: with the table deleted by hand au run refuses; au net apply restores it', () => {
    must(['nft', 'delete', 'table', 'inet', `au-${agent}`]);
    const r = human.au(['run', '-a', agent, '--', 'echo', 'ran']);
    assert.equal(r.status, 125);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`au net apply -a ${agent}`));
    assert.match(human.au(['net', 'show', '-a', agent]).stdout, /NOT LOADED/);
    const doctor = human.au(['doctor']);
    assert.equal(doctor.status, 1);
    assert.match(doctor.stdout, new RegExp(`^FAIL  agent ${agent} network: .*\\n      fix: au net apply -a ${agent}$`, 'm'));
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 1);
    const apply = human.au(['net', 'apply', '-a', agent]);
    assert.equal(apply.status, 0, apply.stderr);
    assert.equal(human.au(['run', '-a', agent, '--', 'echo', 'ran']).stdout, 'ran\n');
    assert.deepEqual(agentReaches({ SERVICE }), { SERVICE: false });
  });

  test('a policy changed in the config but not loaded is refused too', () => {
    const config = `${human.home}/.config/agent-as-unix-user.toml`;
    const before = readFileSync(config, 'utf8');
    writeFileSync(config, before.replace(`loopback_ports = [ ${LISTED_PORT} ]`, `loopback_ports = [ ${LISTED_PORT}, ${HUMAN_PORT} ]`));
    assert.notEqual(readFileSync(config, 'utf8'), before, 'the config was edited');
    const r = human.au(['run', '-a', agent, '--', 'true']);
    assert.equal(r.status, 125, r.stderr);
    writeFileSync(config, before);
    assert.equal(human.au(['run', '-a', agent, '--', 'true']).status, 0);
  });

  test('allowlist: only the listed address and port', () => {
    const set = human.au(['net', 'set', '-a', agent, 'allowlist', '--allow', `${OUTSIDE}:80`]);
    assert.equal(set.status, 0, set.stderr);
    assert.deepEqual(agentReaches({ WEB, WEB_TLS, SERVICE }), { WEB: true, WEB_TLS: false, SERVICE: false });
    assert.equal(human.au(['net', 'set', '-a', agent, 'allowlist', '--allow', `${SUBNET}.0/30`]).status, 0);
    assert.deepEqual(agentReaches({ WEB_TLS }), { WEB_TLS: true }, 'a CIDR allows every port');
  });

  const tunnelTo = (host: string, port: number): string =>
    `import http.client as h, os\nport = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])\nc = h.HTTPConnection('127.0.0.1', port, timeout=5)\nc.set_tunnel('${host}', ${port})\ntry:\n  c.request('GET', '/')\n  print(c.getresponse().read().decode().strip())\nexcept OSError as e:\n  print('failed', str(e).split(':')[-1].strip())`;

  test('domains: HTTP and HTTPS (CONNECT tunnels) to listed names through the proxy; nothing else, proxy or not', () => {
    const set = human.au(['net', 'set', '-a', agent, 'domains', '--domain', WORLD, '--domain', WORLD_LO]);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(agentPython(tunnelTo(WORLD, 80)).stdout, 'world\n', 'HTTP through a tunnel');
    const https = agentPython(tunnelTo(WORLD, 443));
    assert.equal(https.stdout, 'world\n', `CONNECT tunnel: ${https.stderr}`);
    assert.equal(agentPython(tunnelTo(WORLD_OTHER, 80)).stdout, 'failed 403 Forbidden\n', 'a name that is not listed');
    assert.equal(agentPython(tunnelTo(WORLD_LO, 80)).stdout, 'failed 403 Forbidden\n', 'a listed name resolving to loopback');
    assert.equal(agentPython(tunnelTo('127.0.0.1', 80)).stdout, 'failed 403 Forbidden\n');
    const get = `import urllib.request as u\ntry:\n  print(u.urlopen('http://${WORLD}/', timeout=5).read().decode().strip())\nexcept Exception as e:\n  print('failed', getattr(e, 'code', e))`;
    assert.equal(agentPython(get).stdout, 'failed 403\n', 'absolute-form requests are not forwarded');
    // Ignoring the proxy variables does not help: direct egress is dropped, by address or by a listed name.
    const BY_NAME = [WORLD, 80] as const;
    assert.deepEqual(agentReaches({ WEB, BY_NAME, SERVICE }), { WEB: false, BY_NAME: false, SERVICE: false });
  });

  test('domains proxy: CONNECT with NUL, %00, control bytes, decimal/octal/hex and IPv6 forms of an unlisted host: 403', () => {
    // One wildcard domain is enough for the NUL trick: the name "ends in" it, the resolver stops at the NUL.
    assert.equal(human.au(['net', 'set', '-a', agent, 'domains', '--domain', `*.${WORLD}`]).status, 0);
    const [a, b, c, d] = OUTSIDE.split('.').map(Number) as [number, number, number, number];
    const decimal = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
    const targets = [
      `${OUTSIDE}\u0000.${WORLD}:80`,
      `${OUTSIDE}%00.${WORLD}:80`,
      `${OUTSIDE}\u0001.${WORLD}:80`,
      `${OUTSIDE}\t.${WORLD}:80`,
      `${OUTSIDE} .${WORLD}:80`,
      `${decimal}:80`,
      `0${a.toString(8)}.${b}.${c}.${d}:80`,
      `0x${a.toString(16)}.${b}.${c}.${d}:80`,
      `${a}.${(b << 16) + (c << 8) + d}:80`,
      `${OUTSIDE}:80`,
      `[::ffff:${OUTSIDE}]:80`,
      `[::ffff:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}]:80`,
    ];
    const code = `import json, os, socket\nport = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])\nfor t in json.loads(${JSON.stringify(JSON.stringify(targets))}):\n  s = socket.create_connection(('127.0.0.1', port), timeout=5)\n  s.sendall(('CONNECT %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' % t).encode('latin1'))\n  print(s.recv(200).decode('latin1').split('\\r\\n')[0] or 'closed')\n  s.close()`;
    const r = agentPython(code);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      targets.map(() => 'HTTP/1.1 403 Forbidden'),
      r.stdout,
    );
    assert.equal(agentPython(tunnelTo(`www.${WORLD}`, 80)).stdout, 'failed 403 Forbidden\n', 'a listed name that does not resolve');
  });

  test('domains: the agent makes no DNS query of its own (UDP or TCP 53), even to an address it may reach', () => {
    // The outside host's subnet is reachable directly (the port-53 rule, not the default refusal, stops DNS).
    assert.equal(human.au(['net', 'set', '-a', agent, 'domains', '--domain', WORLD, '--allow', `${SUBNET}.0/30`]).status, 0);
    assert.deepEqual(agentReaches({ WEB }), { WEB: true }, 'the subnet is allowed');
    const query = `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n  u.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x01x\\x00\\x00\\x01\\x00\\x01', ('${OUTSIDE}', 53))\n  print('udp sent')\nexcept OSError as e:\n  print('udp refused')\ntry:\n  socket.create_connection(('${OUTSIDE}', 53), timeout=2)\n  print('tcp connected')\nexcept OSError:\n  print('tcp refused')`;
    const r = agentPython(query);
    assert.match(r.stdout, /tcp refused/, r.stdout + r.stderr);
    assert.equal(readFileSync(DNS_LOG, 'utf8'), '', 'nothing reached the name server');
    // The human is not filtered: the same query from the human arrives (the name server works).
    human.run(['python3', '-c', query]);
    waitFor(() => readFileSync(DNS_LOG, 'utf8').includes('udp'));
    assert.match(readFileSync(DNS_LOG, 'utf8'), /udp\n/);
    writeFileSync(DNS_LOG, '');
    assert.equal(agentPython(tunnelTo(WORLD, 80)).stdout, 'world\n', 'names still work through the proxy');
  });

  test('domains proxy port: another user listening on 0.0.0.0:PORT before the first run, or on [::1]:PORT beside the proxy, never gets the agent', async () => {
    // A fresh port: no proxy of au has held it yet (one on the old port may still run: it does not matter).
    const config = `${human.home}/.config/agent-as-unix-user.toml`;
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^proxy_port = \d+$/m, ''));
    assert.equal(human.au(['net', 'set', '-a', agent, 'domains', '--domain', WORLD]).status, 0);
    const proxy = (JSON.parse(human.au(['net', 'show', '-a', agent, '--json']).stdout) as { proxy: string }).proxy;
    const port = Number(proxy.split(':')[1]);
    const squat = (address: string): { output: () => string; stop: () => Promise<string> } =>
      background([
        'runuser',
        '-u',
        other.name,
        '--',
        'python3',
        '-c',
        `import socket\ns = socket.socket(socket.AF_INET6 if ':' in '${address}' else socket.AF_INET)\ns.bind(('${address}', ${port}))\ns.listen(4)\nprint('squatting', flush=True)\nwhile True:\n  c, a = s.accept()\n  print('GOT THE AGENT', flush=True)\n  c.close()`,
      ]);
    const before = squat('0.0.0.0');
    await until(() => before.output().includes('squatting'));
    const refused = human.au(['run', '-a', agent, '--', 'python3', '-c', tunnelTo(WORLD, 80)]);
    assert.notEqual(refused.status, 0, refused.stdout);
    assert.match(refused.stderr, new RegExp(`port ${port}.*held by uid ${other.uid}`));
    assert.doesNotMatch(await before.stop(), /GOT THE AGENT/);
    // Now au's proxy runs (a first run), and the other user takes [::1]:PORT beside it.
    assert.equal(agentPython(tunnelTo(WORLD, 80)).stdout, 'world\n');
    const beside = squat('::1');
    await until(() => beside.output().includes('squatting'));
    const direct = agentPython(
      `import socket\ntry:\n  socket.create_connection(('::1', ${port}), timeout=3)\n  print('connected')\nexcept OSError:\n  print('refused')`,
    );
    assert.notEqual(direct.status, 0, 'au refuses to run while another uid listens on the port');
    assert.match(direct.stderr, /held by uid/);
    const moved = human.au(['net', 'set', '-a', agent, 'domains', '--domain', WORLD]);
    assert.equal(moved.status, 0, moved.stderr);
    assert.notEqual(
      (JSON.parse(human.au(['net', 'show', '-a', agent, '--json']).stdout) as { proxy: string }).proxy,
      proxy,
      'au net set again picks another port',
    );
    assert.equal(agentPython(tunnelTo(WORLD, 80)).stdout, 'world\n', 'and runs work on it, the squatter still there');
    assert.doesNotMatch(await beside.stop(), /GOT THE AGENT/);
  });

  for (const policy of ['deny', 'allowlist', 'domains'] as const) {
    test(`${policy}: nobody can connect to the agent (outside host, other local user); a --listen port works from loopback only`, async () => {
      const extra = policy === 'allowlist' ? ['--allow', `${SUBNET}.0/30`] : policy === 'domains' ? ['--domain', WORLD] : [];
      const set = human.au(['net', 'set', '-a', agent, policy, ...extra, '--listen', String(LISTEN_PORT)]);
      assert.equal(set.status, 0, set.stderr);
      const show = human.au(['net', 'show', '-a', agent]);
      assert.match(show.stdout, new RegExp(`^inbound: TCP ports ${LISTEN_PORT} from loopback only; nothing else$`, 'm'));
      const server = background(
        human.asHuman([
          process.execPath,
          join(packageForHumans(), 'bin', 'au'),
          'run',
          '-a',
          agent,
          '--',
          'python3',
          '-c',
          LISTENER,
          String(INBOUND_PORT),
          String(LISTEN_PORT),
        ]),
        human.home,
      );
      try {
        await until(() => server.output().includes('listening'));
        assert.match(
          server.output(),
          new RegExp(`^cgroup 0::/agent-as-unix-user/${agent}/run-\\d+$`, 'm'),
          'the run is in the cgroup the input rules match',
        );
        // Several at once: beyond the backlog, the kernel answers with SYN cookies (no socket owns those SYN-ACKs).
        // A datagram first (the TCP attempts below give it time to arrive, were it let in).
        must([
          'ip',
          'netns',
          'exec',
          NS,
          'python3',
          '-c',
          `import socket\nfor a in ('${SUBNET}.1', '${SUBNET6}1'):\n  socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET, socket.SOCK_DGRAM).sendto(b'udp-ping', (a, ${INBOUND_PORT}))`,
        ]);
        const targets: [string, number][] = [
          [`${SUBNET}.1`, LISTEN_PORT],
          [`${SUBNET6}1`, LISTEN_PORT],
          [`${SUBNET6}1`, INBOUND_PORT],
          ...Array.from({ length: 4 }, (): [string, number] => [`${SUBNET}.1`, INBOUND_PORT]),
        ];
        const outside = must(['ip', 'netns', 'exec', NS, ...clientsScript(targets)])
          .trim()
          .split('\n');
        assert.match(outside[0]!, /^failed/, 'a listed port is for loopback only');
        assert.match(outside[1]!, /^failed/, 'a listed port is for loopback only (IPv6)');
        assert.deepEqual(
          outside.slice(2).filter((l) => !l.startsWith('failed')),
          [],
          'from the outside host, IPv4 and IPv6',
        );
        const local = other
          .run(
            clientsScript([
              ['127.0.0.1', INBOUND_PORT],
              ['::1', INBOUND_PORT],
              [`${SUBNET}.1`, INBOUND_PORT],
              ['127.0.0.1', LISTEN_PORT],
              ['::1', LISTEN_PORT],
            ]),
          )
          .stdout.trim()
          .split('\n');
        assert.deepEqual(
          local.map((l) => l.replace(/^failed .*/, 'failed')),
          ['failed', 'failed', 'failed', 'reply pong', 'reply pong'],
          'another local user: only the listed port, on loopback',
        );
      } catch (error) {
        await server.stop();
        throw error;
      }
      const out = await server.stop();
      assert.doesNotMatch(out, new RegExp(`(accepted|got) ${INBOUND_PORT}|udp got`), out);
      assert.equal(out.match(new RegExp(`got ${LISTEN_PORT} ping`, 'g'))?.length, 2, out);
    });
  }

  test('clear: back to allow, the table is gone', () => {
    assert.equal(human.au(['net', 'clear', '-a', agent]).status, 0);
    assert.notEqual(sh(['nft', 'list', 'table', 'inet', `au-${agent}`]).status, 0);
    assert.deepEqual(agentReaches({ WEB }), { WEB: true });
    assert.match(human.au(['net', 'show', '-a', agent]).stdout, /^policy: allow/m);
  });
});
