// A scripted protocol client for the session-server tests, run as a real user (runuser) so
// the server sees that user's credentials. Deliberately independent of src/server: it speaks
// the wire format from its description (type byte, u32 big-endian length, payload).
// Usage: node session-probe.mjs SOCKET MODE JSON-PARAMS   -> one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const [socketPath, mode, paramsText] = process.argv.slice(2);
const params = JSON.parse(paramsText ?? '{}');
const T = {
  Hello: 1,
  Welcome: 2,
  Error: 3,
  Result: 4,
  Input: 0x10,
  Output: 0x11,
  Resize: 0x20,
  Ping: 0x21,
  Pong: 0x22,
  End: 0x30,
  Notice: 0x31,
  Detach: 0x25,
};

const frame = (type, payload = Buffer.alloc(0)) => {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
};
const hello = (fields) => frame(T.Hello, JSON.stringify({ protocol: 1, ...fields }));

/** A connection that parses frames and lets the caller await conditions. */
function open() {
  const socket = connect(socketPath);
  const state = {
    socket,
    frames: [],
    output: [],
    outputBytes: 0,
    closed: false,
    errors: [],
    ends: [],
    buffer: Buffer.alloc(0),
    waiters: [],
  };
  const check = () => {
    for (const w of [...state.waiters])
      if (w.test()) {
        state.waiters.splice(state.waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  socket.on('data', (chunk) => {
    if (state.keepData === false) {
      state.outputBytes += chunk.length;
      check();
      return;
    }
    state.buffer = Buffer.concat([state.buffer, chunk]);
    while (state.buffer.length >= 5) {
      const type = state.buffer.readUInt8(0);
      const length = state.buffer.readUInt32BE(1);
      if (state.buffer.length < 5 + length) break;
      const payload = state.buffer.subarray(5, 5 + length);
      state.buffer = state.buffer.subarray(5 + length);
      if (type === T.Output) {
        state.outputBytes += payload.length;
        if (state.keepOutput !== false) state.output.push(payload);
      } else {
        const text = payload.toString();
        state.frames.push({ type, text });
        if (type === T.Error) state.errors.push(JSON.parse(text).message);
        if (type === T.End) state.ends.push(JSON.parse(text));
      }
    }
    check();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    state.closed = true;
    check();
  });
  state.until = (test, ms = 20000, what = 'condition') =>
    new Promise((resolve, reject) => {
      if (test()) return resolve();
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timeout waiting for ${what}; errors=${JSON.stringify(state.errors)} text=${JSON.stringify(state.text().slice(-300))}`,
            ),
          ),
        ms,
      );
      state.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  state.text = () => Buffer.concat(state.output).toString('latin1');
  state.connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return state;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A connection, retried while the server's listen backlog is full (EAGAIN on a Unix socket). */
async function openRetrying() {
  for (;;) {
    const c = open();
    try {
      await c.connected;
      return c;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      await sleep(10);
    }
  }
}
let seed = params.seed ?? 1234;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};

async function main() {
  switch (mode) {
    case 'run': {
      // Create (or join) a session, optionally type, read until a pattern or the end.
      const c = open();
      c.keepOutput = params.keepOutput !== false;
      await c.connected;
      const started = process.hrtime.bigint();
      c.socket.write(
        hello({
          action: 'attach',
          session: params.session,
          agent: params.agent,
          command: params.command,
          readOnly: Boolean(params.readOnly),
          cols: params.cols ?? 80,
          rows: params.rows ?? 24,
        }),
      );
      await c.until(() => c.frames.some((f) => f.type === T.Welcome || f.type === T.Error) || c.closed, 20000, 'welcome');
      const welcome = c.frames.find((f) => f.type === T.Welcome);
      if (!welcome) return { refused: true, errors: c.errors };
      if (params.input) c.socket.write(frame(T.Input, params.input));
      if (params.until !== undefined)
        await c.until(() => new RegExp(params.until).test(c.keepOutput ? c.text() : ''), params.timeoutMs ?? 60000, params.until);
      else await c.until(() => c.ends.length > 0 || c.closed, params.timeoutMs ?? 120000, 'end');
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (params.detach) c.socket.write(frame(T.Detach));
      c.socket.end();
      return {
        welcome: JSON.parse(welcome.text),
        bytes: c.outputBytes,
        elapsedMs,
        end: c.ends[0],
        errors: c.errors,
        tail: c.keepOutput ? c.text().slice(-2000) : '',
      };
    }
    case 'stall': {
      // Join and never read again: the server must drop us, not slow down.
      const c = open();
      await c.connected;
      c.socket.write(hello({ action: 'attach', session: params.session, readOnly: true, cols: 80, rows: 24 }));
      await c.until(() => c.frames.some((f) => f.type === T.Welcome || f.type === T.Error), 20000, 'welcome');
      c.socket.pause();
      const started = Date.now();
      while (Date.now() - started < (params.holdMs ?? 30000)) {
        // Peek without reading: closed by the server shows as a RST/EOF only when we read, so
        // resume at the end and report whether the server had closed the connection.
        await sleep(200);
      }
      c.keepData = false;
      c.socket.resume();
      await c.until(() => c.closed, 30000, 'server close').catch(() => undefined);
      return { closed: c.closed, bytesReceived: c.outputBytes };
    }
    case 'fragmented': {
      // Handshake and frames one byte per write, with pauses; then check we are served.
      const c = open();
      await c.connected;
      const wire = Buffer.concat([
        hello({ action: 'attach', session: params.session, cols: 80, rows: 24 }),
        frame(T.Ping, 'p1'),
        frame(T.Input, params.input ?? ''),
      ]);
      for (const byte of wire) {
        c.socket.write(Buffer.from([byte]));
        await sleep(2);
      }
      await c.until(
        () => c.frames.some((f) => f.type === T.Pong) && (!params.until || new RegExp(params.until).test(c.text())),
        20000,
        'pong and output',
      );
      c.socket.write(frame(T.Detach));
      return { welcome: c.frames.some((f) => f.type === T.Welcome), pong: c.frames.find((f) => f.type === T.Pong)?.text };
    }
    case 'garbage': {
      // Many connections, each sending a handshake then random or malformed frames.
      const total = params.frames ?? 10000;
      const perConnection = params.perConnection ?? 100;
      let sent = 0;
      let closedByServer = 0;
      const errors = new Map();
      while (sent < total) {
        const c = open();
        await c.connected;
        const parts = [];
        if (random() % 4 !== 0)
          parts.push(hello({ action: 'attach', session: params.session, readOnly: random() % 2 === 0, cols: 80, rows: 24 }));
        for (let i = 0; i < perConnection && sent < total; i++, sent++) {
          const kind = random() % 6;
          if (kind === 0) {
            const body = Buffer.alloc(random() % 200);
            for (let j = 0; j < body.length; j++) body[j] = random() & 0xff;
            parts.push(body); // raw garbage
          } else if (kind === 1) {
            const h = Buffer.alloc(5);
            h.writeUInt8(random() & 0xff, 0);
            h.writeUInt32BE(random() * 2, 1); // huge or odd lengths
            parts.push(h);
          } else if (kind === 2) parts.push(frame(T.Resize, Buffer.from([random() & 0xff, random() & 0xff, random() & 0xff])));
          else if (kind === 3) parts.push(frame(T.Hello, '{"protocol":1,"action":"attach","cols":-1}'));
          else if (kind === 4) parts.push(frame(T.Ping, 'x'.repeat(random() % 40)));
          else parts.push(frame(T.Output, 'forged output')); // a server-only type
        }
        const wire = Buffer.concat(parts);
        // Fragment randomly.
        for (let off = 0; off < wire.length && !c.closed;) {
          const n = 1 + (random() % 64);
          c.socket.write(wire.subarray(off, off + n));
          off += n;
        }
        await c.until(() => c.closed, 10000, 'close').catch(() => c.socket.destroy());
        if (c.errors.length > 0) closedByServer++;
        for (const e of c.errors) {
          const key = e.replace(/\d+/g, 'N').slice(0, 60);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
      return { sent, closedByServer, errors: Object.fromEntries(errors) };
    }
    case 'inputflood': {
      // Type far more than the agent reads: the server must refuse input past its bound.
      const c = open();
      await c.connected;
      c.socket.write(hello({ action: 'attach', session: params.session, cols: 80, rows: 24 }));
      await c.until(() => c.frames.some((f) => f.type === T.Welcome), 20000, 'welcome');
      const chunk = Buffer.alloc(60000, 0x61);
      for (let i = 0; i < (params.frames ?? 40); i++) {
        c.socket.write(frame(T.Input, chunk));
        await sleep(5);
      }
      await c.until(() => c.errors.length > 0, 10000, 'input refusal').catch(() => undefined);
      c.socket.write(frame(T.Detach));
      return { errors: c.errors };
    }
    case 'silent': {
      // Connect and say nothing: the server must close us after its handshake timeout.
      const c = open();
      await c.connected;
      const started = Date.now();
      await c.until(() => c.closed, 20000, 'close');
      return { closedAfterMs: Date.now() - started, errors: c.errors };
    }
    case 'oversize': {
      const c = open();
      await c.connected;
      c.socket.write(hello({ action: 'list' }).subarray(0, 0));
      const h = Buffer.alloc(5);
      h.writeUInt8(T.Hello, 0);
      h.writeUInt32BE(0xffffffff, 1);
      c.socket.write(h);
      await c.until(() => c.closed, 10000, 'close');
      return { errors: c.errors };
    }
    case 'latency': {
      // Keystroke-to-echo: create a session running `cat`, wait for `clients` attached, then
      // send one byte at a time and time until its echo arrives.
      const c = open();
      await c.connected;
      c.socket.write(hello({ action: 'attach', session: params.session, agent: params.agent, command: ['cat'], cols: 80, rows: 24 }));
      await c.until(() => c.frames.some((f) => f.type === T.Welcome), 20000, 'welcome');
      await sleep(500);
      const want = params.clients ?? 1;
      for (let i = 0; ; i++) {
        const before = c.frames.length;
        c.socket.write(frame(0x23));
        await c.until(() => c.frames.length > before, 5000, 'status');
        const status = c.frames.slice(before).find((f) => f.type === T.Result);
        if (status && JSON.parse(status.text).session.clients.length >= want) break;
        if (i > 600) throw new Error('observers did not join');
        await sleep(100);
      }
      const samples = [];
      const letters = 'abcdefghijklmnopqrstuvwxyz';
      for (let i = 0; i < (params.samples ?? 200); i++) {
        const ch = letters[i % 26];
        const seen = c.outputBytes;
        const start = process.hrtime.bigint();
        c.socket.write(frame(T.Input, ch));
        await c.until(() => c.outputBytes > seen && Buffer.concat(c.output).subarray(-8).includes(ch), 5000, 'echo');
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
        c.output = [];
        c.outputBytes = 0;
        if (i % 40 === 39) {
          c.socket.write(frame(T.Input, '\r'));
          await sleep(20);
        }
      }
      c.socket.write(frame(0x24)); // kill
      await c.until(() => c.ends.length > 0 || c.closed, 20000, 'end');
      samples.sort((a, b) => a - b);
      const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
      return { p50: q(0.5), p99: q(0.99), n: samples.length };
    }
    case 'many': {
      // Create N sessions and leave them running.
      for (let i = 0; i < params.count; i++) {
        const c = open();
        await c.connected;
        c.socket.write(
          hello({ action: 'attach', session: `${params.prefix}${i}`, agent: params.agent, command: params.command, cols: 80, rows: 24 }),
        );
        await c.until(() => c.frames.some((f) => f.type === T.Welcome || f.type === T.Error), 20000, 'welcome');
        if (c.errors.length > 0) throw new Error(c.errors.join('; '));
        c.socket.write(frame(T.Detach));
        c.socket.end();
      }
      return { created: params.count };
    }
    case 'crowd': {
      // Many read-only clients on the given sessions, reading everything, held for holdMs.
      const conns = [];
      for (const session of params.sessions) {
        for (let i = 0; i < params.perSession; i++) {
          const c = open();
          c.keepOutput = false;
          await c.connected;
          c.socket.write(hello({ action: 'attach', session, readOnly: true, cols: 80, rows: 24 }));
          conns.push(c);
        }
      }
      await Promise.all(
        conns.map((c) => c.until(() => c.frames.some((f) => f.type === T.Welcome || f.type === T.Error), 30000, 'welcome')),
      );
      const welcomed = conns.filter((c) => c.frames.some((f) => f.type === T.Welcome)).length;
      if (params.readyFile) (await import('node:fs')).writeFileSync(params.readyFile, String(welcomed));
      if (params.untilEnd) await Promise.all(conns.map((c) => c.until(() => c.closed, 600000, 'session end')));
      else await sleep(params.holdMs ?? 5000);
      for (const c of conns) c.socket.destroy();
      return { welcomed, errors: conns.flatMap((c) => c.errors).slice(0, 3) };
    }
    case 'slowbytes': {
      // Many clients attached read-only, each then sending one frame one byte at a time (all
      // connections in turn, `rounds` bytes each): the server's memory is read from /proc
      // before and after (the probe runs as the server's owner, who may read it).
      const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${params.serverPid}/status`, 'utf8'))?.[1] ?? 0);
      const conns = [];
      for (const session of params.sessions) {
        for (let i = 0; i < params.perSession; i++) {
          const c = await openRetrying();
          c.keepOutput = false;
          c.socket.write(hello({ action: 'attach', session, readOnly: true, cols: 80, rows: 24 }));
          conns.push(c);
        }
      }
      await Promise.all(
        conns.map((c) => c.until(() => c.frames.some((f) => f.type === T.Welcome || f.type === T.Error) || c.closed, 60000, 'welcome')),
      );
      const welcomed = conns.filter((c) => c.frames.some((f) => f.type === T.Welcome)).length;
      await sleep(1000);
      const before = rssKb();
      const header = Buffer.alloc(5);
      header.writeUInt8(T.Input, 0);
      header.writeUInt32BE(65536, 1);
      for (const c of conns) c.socket.write(header);
      for (let round = 0; round < params.rounds; round++) {
        for (const c of conns) c.socket.write(Buffer.from([0x61]));
        await new Promise((r) => setImmediate(r));
      }
      // What was written reaches the server's reads; give it a moment to take all of it.
      await sleep(1500);
      const after = rssKb();
      const open = conns.filter((c) => !c.closed).length;
      for (const c of conns) c.socket.destroy();
      return {
        welcomed,
        open,
        beforeKb: before,
        afterKb: after,
        bytesEach: params.rounds,
        errors: conns.flatMap((c) => c.errors).slice(0, 3),
      };
    }
    case 'hold': {
      // Opens `count` connections and says nothing: each is refused at once or closed by the
      // server's handshake timeout; reports how many of each.
      const conns = [];
      for (let i = 0; i < params.count; i++) conns.push(await openRetrying());
      await Promise.all(conns.map((c) => c.until(() => c.closed, 30000, 'close')));
      const tally = {};
      for (const c of conns) {
        const key = (c.errors[0] ?? 'closed without a message').replace(/\d+ ms/, 'N ms');
        tally[key] = (tally[key] ?? 0) + 1;
      }
      return { tally };
    }
    case 'connrate': {
      // Connect, ask for the session list, read the answer, close: as many as possible in
      // `durationMs`, `parallel` at a time. Reports completed requests per second.
      const deadline = Date.now() + (params.durationMs ?? 3000);
      let done = 0;
      let refused = 0;
      const worker = async () => {
        while (Date.now() < deadline) {
          const c = await openRetrying();
          c.socket.write(hello({ action: 'list' }));
          await c.until(() => c.closed || c.frames.length > 0, 20000, 'answer');
          if (c.frames[0]?.type === T.Result) done++;
          else refused++;
          c.socket.destroy();
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: params.parallel ?? 1 }, worker));
      return { perSecond: (done * 1000) / (Date.now() - started), done, refused };
    }
    case 'connflood': {
      // Opens `rate` connections per second (each asks for the list and closes once answered)
      // until `stopFile` exists. Reports how many were opened, answered and refused.
      const { existsSync } = await import('node:fs');
      const started = Date.now();
      let opened = 0;
      let answered = 0;
      let refused = 0;
      const inflight = new Set();
      while (!existsSync(params.stopFile) && Date.now() - started < (params.maxMs ?? 120000)) {
        const due = Math.floor(((Date.now() - started) * params.rate) / 1000);
        while (opened < due) {
          opened++;
          const job = (async () => {
            const c = await openRetrying();
            c.socket.write(hello({ action: 'list' }));
            await c.until(() => c.closed || c.frames.length > 0, 20000, 'answer').catch(() => undefined);
            if (c.frames[0]?.type === T.Result) answered++;
            else refused++;
            c.socket.destroy();
          })();
          inflight.add(job);
          job.finally(() => inflight.delete(job));
        }
        await sleep(5);
      }
      await Promise.all(inflight);
      const seconds = (Date.now() - started) / 1000;
      return { opened, answered, refused, perSecond: opened / seconds };
    }
    case 'request': {
      const c = open();
      await c.connected;
      c.socket.write(hello(params));
      await c.until(() => c.closed || c.frames.length > 0, 20000, 'answer');
      const f = c.frames[0];
      c.socket.destroy();
      return f ? { type: f.type, body: JSON.parse(f.text) } : { closed: true };
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error) => {
    process.stdout.write(`${JSON.stringify({ failed: String(error.message ?? error) })}\n`);
    process.exit(1);
  },
);
