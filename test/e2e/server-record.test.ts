// The record (audit log, recordings) against the untrusted side and an unlucky disk: the agent
// flooding the server with refused connections and web requests (A29) adds a bounded number of
// audit lines that say how many were refused; a full disk (a small tmpfs over the state
// directory, filled, then freed) ends no session, breaks no line, and leaves gap markers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { must, sh, uidOf } from '../helpers/system.js';
import { type SharedServer, eventually, probe, sharedServer } from '../helpers/session-server.js';

/** Run as the agent: N refused connections to the socket and N refused web requests, 20 at a time. */
const FLOOD = `
const net = require('node:net');
const http = require('node:http');
const [socketPath, url, count] = process.argv.slice(2);
const n = Number(count);
async function pool(job) {
  let started = 0, refused = 0;
  const worker = async () => { while (started < n) { started++; if (await job()) refused++; } };
  await Promise.all(Array.from({ length: 20 }, worker));
  return refused;
}
const connection = () => new Promise((resolve) => {
  const s = net.connect(socketPath);
  let said = '';
  s.on('data', (d) => (said += d.toString('latin1')));
  s.on('error', () => resolve(false));
  s.on('close', () => resolve(said.includes('refused')));
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
const request = () => new Promise((resolve) => {
  http.get(url + 'api/state', { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode === 401)); }).on('error', () => resolve(false));
});
(async () => {
  const sockets = await pool(connection);
  const web = await pool(request);
  console.log(JSON.stringify({ sockets, web }));
  agent.destroy();
})();
`;

describe('the record: bounded refusals, and a full disk', () => {
  let s: SharedServer;
  let work: string;
  let mounted = false;

  before(() => {
    s = sharedServer();
    work = mkdtempSync(join(tmpdir(), 'aut-flood-'));
    chmodSync(work, 0o755);
    writeFileSync(join(work, 'flood.cjs'), FLOOD, { mode: 0o644 });
  });
  after(() => {
    s?.cleanup();
    if (mounted) sh(['umount', '-l', s.stateDir]);
    rmSync(work, { recursive: true, force: true });
  });

  const restart = async (web = false): Promise<string | undefined> => {
    const pid = s.serverPid();
    s.stop();
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops');
    const r = s.owner.au(['server', 'run', '-d', '-s', s.socket, ...(web ? ['--web', '127.0.0.1:0'] : [])]);
    assert.equal(r.status, 0, r.stderr);
    if (!web) return undefined;
    const printed = s.owner.au(['server', 'token', '--json']);
    return (JSON.parse(printed.stdout) as { url: string }).url;
  };

  test('10,000 refused connections and 10,000 refused web requests from the agent: a bounded number of audit lines, with exact counts', async (t) => {
    const url = await restart(true);
    const agentUid = uidOf(s.agent);
    const before = s.audit().length;
    sh(['usermod', '-aG', s.group, s.agent]);
    let flood: { sockets: number; web: number };
    const started = Date.now();
    try {
      const r = sh(['runuser', '-u', s.agent, '--', process.execPath, join(work, 'flood.cjs'), s.socket, url!, '10000'], {
        cwd: '/',
        timeoutMs: 300_000,
      });
      flood = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { sockets: number; web: number };
    } finally {
      sh(['gpasswd', '-d', s.agent, s.group]);
    }
    const elapsedMs = Date.now() - started;
    assert.deepEqual(flood, { sockets: 10_000, web: 10_000 }, 'every attempt was refused');
    await restart(); // the server's stop writes the counts of the last window
    const added = s.audit().slice(before);
    const summaries = added.filter((e) => e.event === 'refusals');
    const socketTotal =
      added.filter((e) => e.event === 'refused' && e.uid === agentUid).length +
      summaries.filter((e) => e.source === `uid ${agentUid}`).reduce((n, e) => n + e.count, 0);
    const webTotal =
      added.filter((e) => e.event === 'web-refused').length +
      summaries.filter((e) => !String(e.source).startsWith('uid ')).reduce((n, e) => n + e.count, 0);
    assert.equal(socketTotal, 10_000, 'the audit says how many connections were refused');
    assert.equal(webTotal, 10_000, 'the audit says how many web requests were refused');
    // At most 2 * 20 + 1 refusal lines per 10-second window (refusals.ts), whatever the flood.
    const windows = Math.ceil(elapsedMs / 10_000) + 1;
    const refusalLines = added.filter((e) => ['refused', 'web-refused', 'refusals'].includes(e.event)).length;
    assert.ok(refusalLines <= 41 * windows, `${refusalLines} refusal lines in ${windows} windows`);
    assert.ok(added.length < 300, `${added.length} audit lines for 20,000 refusals`);
    t.diagnostic(`${added.length} audit lines (${refusalLines} about refusals) for 20,000 refusals in ${elapsedMs} ms`);
  });

  test('a full disk: the session and the server live on, attach works, gap markers and no broken line once space is back', async () => {
    const pid = s.serverPid();
    s.stop();
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops');
    must([
      'mount',
      '-t',
      'tmpfs',
      '-o',
      `size=2m,mode=0700,uid=${s.owner.uid},gid=${sh(['id', '-g', s.owner.name]).stdout.trim()}`,
      'tmpfs',
      s.stateDir,
    ]);
    mounted = true;
    s.start();
    const counter = 'i=0; while :; do i=$((i+1)); echo "count-$i"; sleep 0.02; done';
    const started = probe(s.owner.name, s.socket, 'run', {
      session: 'full',
      agent: s.agent,
      command: ['bash', '-c', counter],
      until: 'count-3',
      detach: true,
    });
    assert.equal(started.welcome?.created, true, JSON.stringify(started));

    // Fill the filesystem (root has no reserve on tmpfs: nothing is left for the owner).
    const filler = join(s.stateDir, 'filler');
    sh(['dd', 'if=/dev/zero', `of=${filler}`, 'bs=64k']);
    assert.equal(sh(['sh', '-c', `echo x >> ${join(s.stateDir, 'probe-full')}`]).status, 1, 'the disk is full');
    const lastCount = (text: string): number => Math.max(0, ...[...text.matchAll(/count-(\d+)/g)].map((m) => Number(m[1])));
    // While full: output goes on, a client joins and types (audit events that cannot be written).
    const first = probe(s.owner.name, s.socket, 'request', { action: 'status', session: 'full' });
    await new Promise((r) => setTimeout(r, 1000)); // output for the recording's next batches
    const joined = probe(s.owner.name, s.socket, 'run', {
      session: 'full',
      input: 'typed-while-full\r',
      until: 'count-\\d+',
      detach: true,
    });
    assert.equal(joined.welcome?.session, 'full', JSON.stringify(joined));
    const second = probe(s.owner.name, s.socket, 'request', { action: 'status', session: 'full' });
    assert.ok(lastCount(second.body?.screen ?? '') > lastCount(first.body?.screen ?? ''), 'the session still prints');
    // The last pages of the files may still take a few lines: more events until writes fail.
    let list = s.owner.au(['sessions', 'list', '-s', s.socket]);
    await eventually(
      () => {
        probe(s.owner.name, s.socket, 'run', { session: 'full', input: 'more\r', until: 'count-\\d+', detach: true });
        list = s.owner.au(['sessions', 'list', '-s', s.socket]);
        return /The record is incomplete/.test(list.stdout) && /record incomplete/.test(list.stdout);
      },
      () => `au sessions list says the record is incomplete: ${list.stdout} ${list.stderr}`,
      30_000,
    );
    // A new session starts too (its recording begins in a gap).
    const fresh = probe(s.owner.name, s.socket, 'run', {
      session: 'full2',
      agent: s.agent,
      command: ['bash', '-c', 'echo started-while-full; exec sleep 1000'],
      until: 'started-while-full',
      detach: true,
    });
    assert.equal(fresh.welcome?.created, true, JSON.stringify(fresh));
    assert.equal(s.owner.au(['sessions', 'kill', 'full2', '-s', s.socket]).status, 0);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /The record is incomplete: \d+ audit events could not be written \(ENOSPC.*\), and writing still fails/);
    assert.match(list.stdout, /full .*record incomplete: \d+ bytes of the recording lost \(ENOSPC/);

    // Space is back: the next events are written, after a marker of what was lost.
    rmSync(filler);
    const resumed = probe(s.owner.name, s.socket, 'run', { session: 'full', until: 'count-\\d+', detach: true });
    assert.equal(resumed.welcome?.session, 'full');
    await eventually(() => {
      const name = readdirSync(join(s.stateDir, 'recordings')).find((n) => n.endsWith('-full.cast'));
      return name !== undefined && readFileSync(join(s.stateDir, 'recordings', name), 'utf8').includes('"m","au: recording gap:');
    }, 'the recording marks its gap');
    assert.equal(s.owner.au(['sessions', 'kill', 'full', '-s', s.socket]).status, 0);
    const doctor = s.owner.au(['doctor']);
    assert.match(
      doctor.stdout,
      /session record.*the record is incomplete \(the disk was full\): audit-[\d-]+\.jsonl: \d+ audit events lost/,
    );
    assert.match(doctor.stdout, /recordings with lost output: \d{8}T\d{6}-full\.cast/);

    // Every line of the record is whole JSON; the markers say what was lost.
    const audit = s.audit(); // JSON.parse of every line
    const gap = audit.find((e) => e.event === 'gap');
    assert.ok(gap && gap.lost > 0 && /ENOSPC/.test(gap.error), JSON.stringify(gap));
    assert.ok(gap.events.join >= 1 || gap.events.input >= 1, JSON.stringify(gap.events));
    assert.ok(audit.some((e) => e.event === 'record-incomplete' && e.session === 'full' && e.lostBytes > 0));
    assert.ok(audit.some((e) => e.event === 'end' && e.session === 'full'));
    const castName = readdirSync(join(s.stateDir, 'recordings')).find((n) => n.endsWith('-full.cast'))!;
    const cast = readFileSync(join(s.stateDir, 'recordings', castName), 'utf8');
    assert.ok(cast.endsWith('\n'));
    const events = cast
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown);
    const marker = events.find((e) => Array.isArray(e) && e[1] === 'm') as [number, string, string];
    assert.match(marker[2], /^au: recording gap: \d+ bytes \(\d+ writes\) of the recording lost from [\d.]+ s to [\d.]+ s \(ENOSPC/);
    assert.ok(
      events.some((e) => Array.isArray(e) && e[1] === 'o' && String(e[2]).includes('count-')),
      'output after the gap is recorded',
    );
  });
});
