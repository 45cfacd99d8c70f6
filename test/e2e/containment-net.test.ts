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
import { type Human, createHuman, must, sh } from '../helpers/system.js';

const tag = randomBytes(3).toString('hex');
const NS = `aut-${tag}`;
const VETH_HOST = `auh${tag}`;
const VETH_NS = `aup${tag}`;
const SUBNET = `10.213.${parseInt(tag.slice(0, 2), 16)}`;
const OUTSIDE = `${SUBNET}.2`;
const HOSTS_TAG = `# au test ${tag}`;
const WORLD = `aut-${tag}.test`;
const WORLD_LO = `aut-${tag}-lo.test`;
const WORLD_OTHER = `aut-${tag}-other.test`;
const HUMAN_PORT = 20000 + (parseInt(tag.slice(2, 4), 16) * 37) % 20000;
const LISTED_PORT = HUMAN_PORT + 1;

const servers: ChildProcess[] = [];
function serve(argv: string[]): void {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  child.unref();
  servers.push(child);
}
function waitFor(check: () => boolean): void {
  for (let i = 0; i < 100 && !check(); i++) sh(['sleep', '0.05']);
}

/** A TCP connect from bash, as whoever runs it: "connected" or the error. */
const connectScript = (host: string, port: number): string[] => ['bash', '-c', `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null && echo connected || echo refused`];

describe('network policies (au net)', () => {
  let human: Human;
  let agent: string;
  let site: string;

  const agentConnects = (host: string, port: number): boolean => human.au(['run', '-a', agent, '--', ...connectScript(host, port)]).stdout === 'connected\n';
  const humanConnects = (host: string, port: number): boolean => human.run(connectScript(host, port)).stdout === 'connected\n';
  const agentPython = (code: string): { status: number; stdout: string; stderr: string } => human.au(['run', '-a', agent, '--', 'python3', '-c', code]);

  before(() => {
    human = createHuman();
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
    for (const port of ['80', '443']) serve(['ip', 'netns', 'exec', NS, 'python3', '-m', 'http.server', port, '--bind', OUTSIDE, '--directory', site]);
    // The human's own loopback services.
    for (const port of [HUMAN_PORT, LISTED_PORT]) serve(['runuser', '-u', human.name, '--', 'python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', site]);
    writeFileSync('/etc/hosts', `${readFileSync('/etc/hosts', 'utf8')}${OUTSIDE} ${WORLD} ${WORLD_OTHER} ${HOSTS_TAG}\n127.0.0.1 ${WORLD_LO} ${HOSTS_TAG}\n`);
    waitFor(() => humanConnects(OUTSIDE, 80) && humanConnects(OUTSIDE, 443) && humanConnects('127.0.0.1', HUMAN_PORT) && humanConnects('127.0.0.1', LISTED_PORT));
  });

  after(() => {
    for (const s of servers) {
      try {
        if (s.pid) process.kill(-s.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    writeFileSync('/etc/hosts', readFileSync('/etc/hosts', 'utf8').split('\n').filter((l) => !l.includes(HOSTS_TAG)).join('\n'));
    sh(['ip', 'netns', 'delete', NS]);
    sh(['ip', 'link', 'delete', VETH_HOST]);
    rmSync(site, { recursive: true, force: true });
    human.cleanup();
  });

  test('without a policy the agent reaches loopback and the outside host', () => {
    assert.ok(agentConnects('127.0.0.1', HUMAN_PORT));
    assert.ok(agentConnects(OUTSIDE, 80));
  });

  test('bad input: one line, exit 2', () => {
    for (const args of [['nope'], ['deny', '--port', '70000'], ['allowlist'], ['allowlist', '--allow', '1.2.3.4/40'], ['domains'], ['domains', '--domain', 'bad domain']]) {
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
    assert.equal(agentConnects('127.0.0.1', HUMAN_PORT), false);
    assert.equal(agentConnects(OUTSIDE, 80), false);
    assert.equal(agentConnects('127.0.0.1', LISTED_PORT), true);
    assert.equal(humanConnects('127.0.0.1', HUMAN_PORT), true, 'the human is not filtered');
    assert.equal(humanConnects(OUTSIDE, 80), true);
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
    assert.equal(agentConnects('127.0.0.1', HUMAN_PORT), false);
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
    assert.equal(agentConnects(OUTSIDE, 80), true);
    assert.equal(agentConnects(OUTSIDE, 443), false);
    assert.equal(agentConnects('127.0.0.1', HUMAN_PORT), false);
    assert.equal(human.au(['net', 'set', '-a', agent, 'allowlist', '--allow', `${SUBNET}.0/30`]).status, 0);
    assert.equal(agentConnects(OUTSIDE, 443), true, 'a CIDR allows every port');
  });

  test('domains: HTTP and HTTPS (CONNECT) to listed names through the proxy; nothing else, proxy or not', () => {
    const set = human.au(['net', 'set', '-a', agent, 'domains', '--domain', WORLD, '--domain', WORLD_LO]);
    assert.equal(set.status, 0, set.stderr);
    const get = (url: string): string =>
      `import urllib.request as u\ntry:\n  print(u.urlopen('${url}', timeout=5).read().decode().strip())\nexcept Exception as e:\n  print('failed', getattr(e, 'code', e))`;
    assert.equal(agentPython(get(`http://${WORLD}/`)).stdout, 'world\n', 'plain HTTP through the proxy');
    const tunnel = `import http.client as h, os\nport = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])\nc = h.HTTPConnection('127.0.0.1', port, timeout=5)\nc.set_tunnel('${WORLD}', 443)\nc.request('GET', '/')\nprint(c.getresponse().read().decode().strip())`;
    const https = agentPython(tunnel);
    assert.equal(https.stdout, 'world\n', `CONNECT tunnel: ${https.stderr}`);
    assert.equal(agentPython(get(`http://${WORLD_OTHER}/`)).stdout, 'failed 403\n', 'a name that is not listed');
    assert.equal(agentPython(get(`http://${WORLD_LO}:80/`)).stdout, 'failed 403\n', 'a listed name resolving to loopback');
    assert.equal(agentPython(get(`http://127.0.0.1:${HUMAN_PORT}/`)).stdout, 'failed 403\n');
    // Ignoring the proxy variables does not help: direct egress is dropped.
    assert.equal(agentConnects(OUTSIDE, 80), false);
    assert.equal(agentConnects('127.0.0.1', HUMAN_PORT), false);
    const noProxy = agentPython(`import urllib.request as u\no = u.build_opener(u.ProxyHandler({}))\ntry:\n  print(o.open('http://${WORLD}/', timeout=5).read())\nexcept Exception as e:\n  print('failed')`);
    assert.equal(noProxy.stdout, 'failed\n');
  });

  test('clear: back to allow, the table is gone', () => {
    assert.equal(human.au(['net', 'clear', '-a', agent]).status, 0);
    assert.notEqual(sh(['nft', 'list', 'table', 'inet', `au-${agent}`]).status, 0);
    assert.ok(agentConnects(OUTSIDE, 80));
    assert.match(human.au(['net', 'show', '-a', agent]).stdout, /^policy: allow/m);
  });
});
