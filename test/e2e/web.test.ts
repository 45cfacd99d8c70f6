// The web observer end to end: a real server of a real human (au server run -d --web), a
// session started by `au attach` in tmux, clients over the WebSocket, and a real browser
// (Debian's chromium, driven by playwright-core; never downloaded) for the page: an observer
// sees the session and cannot type, an operator types into it, a finished session replays.
// Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { WebSocket } from 'ws';
import { FrameType } from '../../src/server/protocol/frames.js';
import { type Human, REPO, createHuman, packageForHumans, sh } from '../helpers/system.js';
import { eventually, probe } from '../helpers/session-server.js';
import { REPEAT_BLOCK, REPEAT_CRASH, hostileStream } from '../helpers/hostile-output.js';
import { agentHomeOf } from '../../src/agents/names.js';
import { Terminal } from '../helpers/tmux.js';

const ARTIFACTS = join(REPO, 'test-artifacts');
// Screenshots belong to whoever owns the checkout, not to root who runs the tests.
process.on('exit', () => {
  if (!existsSync(ARTIFACTS)) return;
  const owner = statSync(REPO);
  spawnSync('chown', ['-R', `${owner.uid}:${owner.gid}`, ARTIFACTS]);
});

const frame = (type: number, payload: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
};

/** A WebSocket client of the server: every frame it got, decoded. */
class Probe {
  readonly frames: { type: number; payload: Buffer }[] = [];
  private pending = Buffer.alloc(0);
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, token: string, session: string) {
    const origin = url.replace(/\/$/, '');
    this.ws = new WebSocket(`${origin.replace('http', 'ws')}/ws?session=${session}&token=${token}`, { headers: { Origin: origin } });
    this.ws.on('message', (data: Buffer) => {
      let buffer = Buffer.concat([this.pending, data]);
      while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt32BE(1)) {
        const length = buffer.readUInt32BE(1);
        this.frames.push({ type: buffer[0]!, payload: buffer.subarray(5, 5 + length) });
        buffer = buffer.subarray(5 + length);
      }
      this.pending = buffer;
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  output(): string {
    return Buffer.concat(this.frames.filter((f) => f.type === FrameType.Output).map((f) => f.payload)).toString();
  }

  messages(type: number): string[] {
    return this.frames.filter((f) => f.type === type).map((f) => f.payload.toString());
  }

  type(text: string): void {
    this.ws.send(frame(FrameType.Input, Buffer.from(text)));
  }

  resize(cols: number, rows: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(cols, 0);
    payload.writeUInt16BE(rows, 2);
    this.ws.send(frame(FrameType.Resize, payload));
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('web observer', () => {
  let owner: Human;
  let agent: string;
  let au: string;
  let stateDir: string;
  let url: string;
  let tokens: { observer: string; operator: string };
  const terminals: Terminal[] = [];
  const probes: Probe[] = [];
  let browser: Browser | undefined;

  const audit = (): Record<string, any>[] => {
    const lines: Record<string, any>[] = [];
    for (const name of readdirSync(stateDir)
      .filter((n) => n.startsWith('audit-'))
      .sort()) {
      for (const line of readFileSync(join(stateDir, name), 'utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, any>);
    }
    return lines;
  };
  const serverPid = (): number => {
    try {
      return Number(readFileSync(join(stateDir, 'server.sock.pid'), 'utf8').trim());
    } catch {
      return 0;
    }
  };
  const terminal = (): Terminal => {
    const t = new Terminal(owner, 120, 36);
    terminals.push(t);
    return t;
  };
  const probe = async (token: string, session: string): Promise<Probe> => {
    const p = new Probe(url, token, session);
    probes.push(p);
    await p.opened;
    return p;
  };

  before(() => {
    owner = createHuman();
    agent = owner.newAgent();
    au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    stateDir = join(owner.home, '.local/state/agent-as-unix-user');
    const refused = owner.au(['server', 'run', '--web', '0.0.0.0:0']);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /not a loopback address.*--web-public/);
    const started = owner.au(['server', 'run', '-d', '--web', '127.0.0.1:0']);
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stdout + started.stderr, /au server token/);
    const printed = owner.au(['server', 'token', '--json']);
    assert.equal(printed.status, 0, printed.stderr);
    ({ url, ...tokens } = JSON.parse(printed.stdout) as { url: string; observer: string; operator: string });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const mode = sh(['stat', '-c', '%a %U', join(stateDir, 'web-tokens.json')]).stdout.trim();
    assert.equal(mode, `600 ${owner.name}`);
    const log = readFileSync(join(stateDir, 'server.log'), 'utf8');
    assert.ok(log.includes(`${url}#token=${tokens.observer}`), 'the server prints the observer link');
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    for (const p of probes) p.close();
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    for (const t of terminals) t.close();
    const pid = serverPid();
    if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops').catch(() => undefined);
    owner?.cleanup();
  });

  test('refusals: no token, a wrong token (401) and a foreign Origin (403) are refused and audited', async () => {
    const origin = url.replace(/\/$/, '');
    assert.equal((await fetch(`${origin}/api/state`)).status, 401);
    assert.equal((await fetch(`${origin}/api/state`, { headers: { Authorization: 'Bearer not-the-token' } })).status, 401);
    assert.equal(
      (await fetch(`${origin}/api/state?token=${tokens.observer}`, { headers: { Origin: 'http://attacker.example' } })).status,
      403,
    );
    const status = (query: string, headers: Record<string, string>): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws${query}`, { headers });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => {
          resolve(101);
          ws.terminate();
        });
        ws.once('error', () => resolve(-1));
      });
    assert.equal(await status('?session=x', { Origin: origin }), 401);
    assert.equal(await status('?session=x&token=wrong', { Origin: origin }), 401);
    assert.equal(await status(`?session=x&token=${tokens.operator}`, { Origin: 'http://attacker.example' }), 403);
    assert.equal(await status(`?session=x&token=${tokens.operator}`, { Origin: origin }), 101);
    const refused = audit().filter((e) => e.event === 'web-refused');
    assert.ok(refused.filter((e) => e.status === 401 && e.reason === 'no token').length >= 2, JSON.stringify(refused));
    assert.ok(refused.some((e) => e.status === 401 && e.reason === 'wrong token' && e.path === '/ws'));
    assert.ok(refused.some((e) => e.status === 403 && /attacker\.example/.test(e.reason) && e.path === '/ws'));
    const text = readdirSync(stateDir)
      .filter((n) => n.startsWith('audit-'))
      .map((n) => readFileSync(join(stateDir, n), 'utf8'))
      .join('');
    assert.ok(!text.includes(tokens.operator) && !text.includes(tokens.observer), 'tokens never reach the audit');
  });

  test('over the WebSocket: an observer sees the session and cannot type or resize; an operator types into it', async () => {
    const tmux = terminal();
    tmux.type(`${au} attach -a ${agent} -n wsprobe`);
    await tmux.waitFor(/session wsprobe \(started/);
    tmux.type('PS1="agent$ "; echo ready-$((40+2))');
    await tmux.waitFor(/^ready-42/m);
    const observer = await probe(tokens.observer, 'wsprobe');
    await eventually(
      () => /ready-42/.test(observer.output()),
      () => `the observer gets the current screen: ${observer.output()}`,
    );
    const welcome = JSON.parse(observer.messages(FrameType.Welcome)[0] ?? '{}') as Record<string, unknown>;
    assert.equal(welcome.role, 'observer');
    observer.type('echo observer-ws-typed\r');
    observer.resize(50, 10);
    await eventually(
      () => observer.messages(FrameType.Error).some((m) => /read-only: you are an observer of session wsprobe/.test(m)),
      'the observer is told it is read-only',
    );
    const operator = await probe(tokens.operator, 'wsprobe');
    operator.type('echo from-ws-$((6*7))\r');
    await tmux.waitFor(/^from-ws-42/m);
    await eventually(() => /from-ws-42/.test(observer.output()), 'the observer sees what the operator typed');
    assert.doesNotMatch(tmux.screen(), /observer-ws-typed/);
    const events = audit().filter((e) => e.session === 'wsprobe');
    assert.ok(events.some((e) => e.event === 'join' && e.role === 'observer' && /^web observer@/.test(e.user)));
    assert.ok(events.some((e) => e.event === 'input-refused' && /^web observer@/.test(e.user)));
    assert.ok(events.some((e) => e.event === 'input' && /^web operator@/.test(e.user) && /from-ws/.test(e.data)));
    assert.ok(!events.some((e) => e.event === 'resize' && /^web observer@/.test(e.user)));
    tmux.type('exit');
    await tmux.waitFor(/session wsprobe ended/);
    await eventually(() => observer.messages(FrameType.End).length === 1, 'the observer is told the session ended');
  });

  test('in a browser: observer watches, cannot type; operator types; a finished session replays', async () => {
    browser = await launchChromium();
    const tmux = terminal();
    tmux.type(`${au} attach -a ${agent} -n browsed`);
    await tmux.waitFor(/session browsed \(started/);
    tmux.type('PS1="agent$ "; clear');
    const text = (page: Page): Promise<string> =>
      page.evaluate(() => (window as unknown as { auTerminalText: () => string }).auTerminalText());
    const waitText = async (page: Page, pattern: RegExp, what: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const shown = await text(page);
        if (pattern.test(shown)) return;
        if (Date.now() > deadline) throw new Error(`timed out: ${what}; the page shows:\n${shown}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    // Observer.
    const observerContext = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    const observerPage = await observerContext.newPage();
    await observerPage.goto(`${url}#token=${tokens.observer}`);
    await observerPage.locator(`#agents li[data-agent="${agent}"]`).filter({ hasText: 'healthy' }).waitFor();
    await observerPage.locator('#sessions li[data-session="browsed"] button').click();
    await observerPage.locator('#view-title').filter({ hasText: 'you are observer, read-only' }).waitFor();
    tmux.type('echo typed-by-the-operator-$((2+3))');
    await waitText(observerPage, /^typed-by-the-operator-5/m, 'the observer sees what the tmux client typed');
    await observerPage.locator('#terminal').click();
    await observerPage.keyboard.type('echo observer-browser-typed');
    await observerPage.keyboard.press('Enter');
    await observerPage.locator('#messages').filter({ hasText: 'read-only: you are an observer of session browsed' }).waitFor();
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(tmux.screen(), /observer-browser-typed/);
    assert.ok(audit().some((e) => e.event === 'input-refused' && e.session === 'browsed' && /^web observer@/.test(e.user)));
    tmux.type('ls -la --color=always / | head -12; echo "watched from the browser"');
    await waitText(observerPage, /^watched from the browser/m, 'the observer sees live output');
    await observerPage.screenshot({ path: join(ARTIFACTS, 'web-observer-session.png') });
    await observerPage.locator('#side').screenshot({ path: join(ARTIFACTS, 'web-observer-agents.png') });

    // Operator.
    const operatorContext = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const operatorPage = await operatorContext.newPage();
    await operatorPage.goto(`${url}#token=${tokens.operator}`);
    await operatorPage.locator('#sessions li[data-session="browsed"] button').click();
    await operatorPage.locator('#view-title').filter({ hasText: 'you are operator' }).waitFor();
    await waitText(operatorPage, /watched from the browser/, 'the operator gets the current screen');
    await operatorPage.locator('#terminal').click();
    await operatorPage.keyboard.type('echo from-browser');
    await operatorPage.keyboard.press('Enter');
    await tmux.waitFor(/^from-browser\s*$/m);
    await waitText(observerPage, /^from-browser\s*$/m, 'the observer sees what the browser operator typed');
    // The operator's page sizes the session to its window when asked.
    await operatorPage.locator('#resize-session').click();
    const size = await eventually(
      () => audit().some((e) => e.event === 'resize' && e.session === 'browsed' && /^web operator@/.test(e.user)),
      'the operator page resized the session',
    ).then(() => audit().filter((e) => e.event === 'resize' && e.session === 'browsed' && /^web operator@/.test(e.user)));
    assert.ok(size.length > 0, 'the operator page resized the session');
    await operatorPage.screenshot({ path: join(ARTIFACTS, 'web-operator-session.png') });

    // Replay once it ended.
    tmux.type('exit');
    await tmux.waitFor(/session browsed ended/);
    await observerPage.locator('#messages').filter({ hasText: 'session browsed ended' }).waitFor();
    const recording = observerPage.locator('#recordings li[data-session="browsed"] button');
    await recording.waitFor({ timeout: 10_000 });
    await recording.click();
    await observerPage.locator('#view-title').filter({ hasText: 'replay of session browsed' }).waitFor();
    await observerPage.locator('#speed').selectOption('4');
    await observerPage.locator('#play').filter({ hasText: 'Play' }).waitFor({ timeout: 30_000 });
    await waitText(observerPage, /^from-browser\s*$/m, 'the replay reaches the end');
    // Seek to the start: the screen is as it was then; seek to the end: all of it again.
    await observerPage.locator('#seek').evaluate((el: HTMLInputElement) => {
      el.value = '0';
      el.dispatchEvent(new Event('input'));
    });
    await eventually(() => true, '');
    const atStart = await text(observerPage);
    assert.doesNotMatch(atStart, /from-browser/, atStart);
    await observerPage.locator('#seek').evaluate((el: HTMLInputElement) => {
      el.value = el.max;
      el.dispatchEvent(new Event('input'));
    });
    await waitText(observerPage, /^from-browser\s*$/m, 'seeking to the end shows the end');
    assert.match(await observerPage.locator('#clock').innerText(), /^(\d+\.\d) \/ \1 s$/);
    // Play from the middle, then pause.
    await observerPage.locator('#seek').evaluate((el: HTMLInputElement) => {
      el.value = String(Number(el.max) / 2);
      el.dispatchEvent(new Event('input'));
    });
    await observerPage.locator('#play').click();
    await observerPage.locator('#play').filter({ hasText: 'Pause' }).waitFor();
    await observerPage.locator('#play').click();
    await observerPage.locator('#play').filter({ hasText: 'Play' }).waitFor();
    await observerPage.screenshot({ path: join(ARTIFACTS, 'web-observer-replay.png') });
    await browser.close();
    browser = undefined;
  });

  test('the page with a 200x50 TUI at 1400x900 and 390x844: all of it visible, replay controls uncovered, no refusal until the observer types, Ctrl+C copies, the operator leaving gives the owner its size back, state and exit code shown', async () => {
    const launched = await launchChromium();
    browser = launched;
    const tmux = new Terminal(owner, 200, 50);
    terminals.push(tmux);
    tmux.type(`${au} attach -a ${agent} -n wide`);
    await tmux.waitFor(/session wide \(started/);
    // A line that reaches the last column (R at column 200).
    tmux.type(`PS1="agent$ "; clear; stty size; printf 'L%.0s' {1..199}; echo R`);
    await tmux.waitFor(/^50 200/m);
    const pageText = (page: Page): Promise<string> =>
      page.evaluate(() => (window as unknown as { auTerminalText: () => string }).auTerminalText());
    const waitText = async (page: Page, pattern: RegExp, what: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(await pageText(page))) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}; the page shows:\n${await pageText(page)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const open = async (token: string, width: number, height: number): Promise<Page> => {
      const context = await launched.newContext({ viewport: { width, height } });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url.replace(/\/$/, '') });
      const page = await context.newPage();
      await page.goto(`${url}#token=${token}`);
      return page;
    };
    const watchWide = async (page: Page): Promise<void> => {
      await page.locator('#sessions li[data-session="wide"] button').click();
      await page.locator('#status').filter({ hasText: 'connected to wide' }).waitFor();
      await waitText(page, /L{199}R/, 'the 200-column line is shown');
    };
    /** Where column `col` of the row holding `text` is, after scrolling the terminal's box to it; and what the browser hit-tests there. */
    const cellAt = async (page: Page, text: string, col: number) => {
      await page.waitForFunction(
        (t) => [...document.querySelectorAll('#terminal .xterm-rows > div')].some((r) => (r.textContent ?? '').includes(t)),
        text,
      );
      return page.evaluate(
        ({ text, col }) => {
          const screen = document.querySelector<HTMLElement>('#terminal .xterm-screen')!;
          const rows = [...document.querySelectorAll<HTMLElement>('#terminal .xterm-rows > div')];
          const row = rows.findIndex((r) => (r.textContent ?? '').includes(text));
          const size = (window as unknown as { auTerminalSize: () => { cols: number; rows: number; fontSize: number } }).auTerminalSize();
          const box = document.getElementById('terminal')!;
          let x = 0;
          let y = 0;
          // Where the cell is; the box scrolled to it when it is out of view; where it is then.
          for (let pass = 0; pass < 2; pass++) {
            const rect = screen.getBoundingClientRect();
            x = rect.left + ((col - 0.5) * rect.width) / size.cols;
            y = rect.top + ((row + 0.5) * rect.height) / size.rows;
            const view = box.getBoundingClientRect();
            box.scrollLeft += x < view.left ? x - view.left - 8 : Math.max(0, x - view.right + 8);
            box.scrollTop += y < view.top ? y - view.top - 8 : Math.max(0, y - view.bottom + 8);
          }
          const hit = document.elementFromPoint(x, y);
          return {
            ...size,
            row,
            x,
            y,
            innerWidth,
            innerHeight,
            inTerminal: Boolean(hit?.closest('#terminal .xterm-screen')),
            scrolled: box.scrollLeft > 0,
          };
        },
        { text, col },
      );
    };
    const refusals = (): Record<string, any>[] => audit().filter((e) => e.event === 'input-refused' && e.session === 'wide');

    const wideObserver = await open(tokens.observer, 1400, 900);
    const phoneObserver = await open(tokens.observer, 390, 844);
    // The page tells the viewer's input from the terminal's reports by xterm.js's own knowledge (a hook that is not public API: an xterm.js update may take it away).
    assert.equal(await wideObserver.evaluate(() => (window as unknown as { auInputSource: string }).auInputSource), 'xterm');
    for (const page of [wideObserver, phoneObserver]) await watchWide(page);
    // The terminal asks for reports (device attributes, cursor position) and turns on focus
    // events; the pages are focused and clicked. None of it is the observers typing.
    tmux.type(`printf '\\e[?1004h\\e[c\\e[6n'; read -rs -t 2 -d R; echo reports-asked`);
    for (const page of [wideObserver, phoneObserver]) {
      await waitText(page, /^reports-asked/m, 'the queries reached the page');
      await page.locator('#terminal').click();
      await page.locator('#view-head').click();
      await page.locator('#terminal').click();
    }
    for (const [page, width, height] of [
      [wideObserver, 1400, 900],
      [phoneObserver, 390, 844],
    ] as const) {
      const last = await cellAt(page, 'L'.repeat(199), 200);
      assert.equal(`${last.cols}x${last.rows}`, '200x50', JSON.stringify(last));
      assert.ok(
        last.row >= 0 && last.inTerminal && last.x >= 0 && last.x <= width && last.y >= 0 && last.y <= height,
        `${width}x${height}: the 200th column is on screen (or scrolled to): ${JSON.stringify(last)}`,
      );
      const first = await cellAt(page, 'L'.repeat(199), 1);
      assert.ok(first.inTerminal, JSON.stringify(first));
      await page.screenshot({ path: join(ARTIFACTS, `web-200x50-${width}x${height}.png`) });
    }
    assert.equal(await wideObserver.locator('#messages.error').count(), 0, 'no red message for watching');
    // Unicode 11 widths: an emoji takes two cells, as in the agent's terminal (tmux).
    tmux.type('echo "emoji:a😀b|"');
    await waitText(wideObserver, /^emoji:a😀b\|/m, 'the emoji line');
    assert.equal(
      await wideObserver.evaluate(() => (window as unknown as { auColumnOf: (t: string, c: string) => number }).auColumnOf('emoji:a', '|')),
      10,
    );
    assert.match(tmux.screen(), /^emoji:a😀b\|/m);
    // Only typing is refused: the first refusal is for the typed bytes.
    await wideObserver.keyboard.type('q');
    await wideObserver.locator('#messages.error').filter({ hasText: 'read-only: you are an observer of session wide' }).waitFor();
    await eventually(() => refusals().length > 0, 'the typing is refused');
    assert.deepEqual(
      refusals().map((e) => e.bytes),
      [1],
      `only the typed key is refused: ${JSON.stringify(refusals())}`,
    );
    assert.equal(await phoneObserver.locator('#messages.error').count(), 0, 'the other observer got no refusal');

    // An operator sizes the session to its window, copies a selection with Ctrl+C, and leaves.
    const operator = await open(tokens.operator, 900, 600);
    await watchWide(operator);
    await operator.locator('#resize-session').click();
    await eventually(
      () => audit().some((e) => e.event === 'resize' && e.session === 'wide' && /^web operator@/.test(e.user) && e.cols < 200),
      'the operator page resized the session',
    );
    tmux.type('clear; echo "size=$(stty size)"');
    await waitText(operator, /^size=\d+ \d+/m, 'stty size on the operator page');
    const operatorSize = /^size=(\d+ \d+)/m.exec(await pageText(operator))![1]!;
    assert.notEqual(operatorSize, '50 200');
    tmux.type('echo copy-me-$((40+2))');
    await waitText(operator, /^copy-me-42/m, 'the text to copy');
    // (The buffer is read before the screen is drawn: wait for the drawn row.)
    await operator.waitForFunction(() =>
      [...document.querySelectorAll('#terminal .xterm-rows > div')].some((r) => (r.textContent ?? '').startsWith('copy-me-42')),
    );
    const target = await operator.evaluate(() => {
      const screen = document.querySelector<HTMLElement>('#terminal .xterm-screen')!.getBoundingClientRect();
      const row = [...document.querySelectorAll<HTMLElement>('#terminal .xterm-rows > div')]
        .find((r) => (r.textContent ?? '').startsWith('copy-me-42'))!
        .getBoundingClientRect();
      const { cols } = (window as unknown as { auTerminalSize: () => { cols: number } }).auTerminalSize();
      return { left: screen.left, cell: screen.width / cols, y: row.top + row.height / 2 };
    });
    await operator.mouse.move(target.left + 0.2 * target.cell, target.y);
    await operator.mouse.down();
    await operator.mouse.move(target.left + 9.8 * target.cell, target.y, { steps: 5 });
    await operator.mouse.up();
    const inputsBefore = audit().filter((e) => e.event === 'input' && e.session === 'wide').length;
    await operator.keyboard.press('Control+c');
    await operator.locator('#messages').filter({ hasText: 'copied 10 characters' }).waitFor();
    assert.equal(await operator.evaluate(() => navigator.clipboard.readText()), 'copy-me-42');
    await operator.close();
    await eventually(
      () =>
        audit().some((e) => e.event === 'resize' && e.session === 'wide' && e.cols === 200 && e.rows === 50 && /left/.test(e.reason ?? '')),
      'the owner gets its size back when the operator leaves',
    );
    tmux.type('clear; echo "size=$(stty size)"');
    await tmux.waitFor(/^size=50 200/m);
    assert.ok(
      !audit()
        .filter((e) => e.event === 'input' && e.session === 'wide')
        .slice(inputsBefore)
        .some((e) => /\\x03/.test(e.data)),
      'Ctrl+C on a selection sent no ^C to the agent',
    );

    // The end: state, duration and exit code; then the replay, its controls hit-tested.
    tmux.type('exit 3');
    await tmux.waitFor(/session wide ended/);
    for (const page of [wideObserver, phoneObserver]) {
      const info = page.locator('#session-info[data-state="ended"]');
      await info.waitFor();
      assert.match(await info.innerText(), /^ended · exit code 3 · ran \d+s/);
    }
    for (const [page, width, height] of [
      [wideObserver, 1400, 900],
      [phoneObserver, 390, 844],
    ] as const) {
      await page.locator('#side-toggle').evaluate((el: HTMLElement) => el.offsetParent !== null && el.click());
      const recording = page.locator('#recordings li[data-session="wide"] button');
      await recording.waitFor({ timeout: 10_000 });
      await recording.click();
      await page.locator('#session-info[data-state="recorded"]').filter({ hasText: 'exit code 3' }).waitFor();
      await page.locator('#seek').evaluate((el: HTMLInputElement) => {
        el.value = el.max;
        el.dispatchEvent(new Event('input'));
      });
      await page.locator('#play').filter({ hasText: 'Play' }).waitFor();
      const hits = await page.evaluate(() =>
        ['play', 'seek', 'speed'].map((id) => {
          const el = document.getElementById(id)!;
          const r = el.getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return {
            id,
            hit: hit === el || el.contains(hit),
            inside: r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight,
          };
        }),
      );
      assert.deepEqual(
        hits,
        ['play', 'seek', 'speed'].map((id) => ({ id, hit: true, inside: true })),
        `${width}x${height}: ${JSON.stringify(hits)}`,
      );
      const last = await cellAt(page, '', 200);
      assert.ok(
        last.inTerminal && `${last.cols}x${last.rows}` === '200x50',
        `${width}x${height} replay: the 200th column is visible: ${JSON.stringify(last)}`,
      );
      await page.locator('#play').click();
      await page.locator('#play').filter({ hasText: 'Pause' }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `web-replay-${width}x${height}.png`) });
    }
    await launched.close();
    browser = undefined;
  });
});

describe('web observer against hostile output', () => {
  let owner: Human;
  let agent: string;
  let stateDir: string;
  let url: string;
  let tokens: { observer: string; operator: string };
  let browser: Browser | undefined;

  before(() => {
    owner = createHuman();
    agent = owner.newAgent();
    stateDir = join(owner.home, '.local/state/agent-as-unix-user');
    const started = owner.au(['server', 'run', '-d', '--web', '127.0.0.1:0']);
    assert.equal(started.status, 0, started.stderr);
    const printed = owner.au(['server', 'token', '--json']);
    ({ url, ...tokens } = JSON.parse(printed.stdout) as { url: string; observer: string; operator: string });
  });

  after(async () => {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    let pid = 0;
    try {
      pid = Number(readFileSync(join(stateDir, 'server.sock.pid'), 'utf8').trim());
    } catch {
      /* not running */
    }
    if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops').catch(() => undefined);
    owner?.cleanup();
  });

  test(
    'the 22-byte and 14-byte sequences and a fuzzed flood, watched in chromium: the tab stays responsive and shows what follows',
    { timeout: 180_000 },
    async () => {
      const home = agentHomeOf(agent);
      writeFileSync(
        join(home, 'attack.bin'),
        Buffer.concat([
          REPEAT_CRASH,
          Buffer.from('\r\n'),
          REPEAT_BLOCK,
          Buffer.from('\r\n'),
          ...[1, 2, 3].map((seed) => Buffer.from(hostileStream(seed, 3000))),
          Buffer.from(`x${'\u0301'.repeat(50_000)}\r\n\x1bc`),
        ]),
        { mode: 0o644 },
      );
      // The agent prints once the page watches (the test creates `go`).
      const command = ['bash', '-c', 'while [ ! -e go ]; do sleep 0.1; done; cat attack.bin; echo WEB-DO""NE; exec sleep 1000'];
      const created = probe(owner.name, join(stateDir, 'server.sock'), 'run', {
        session: 'hostile-web',
        agent,
        command,
        until: '',
        detach: true,
      });
      assert.equal(created.welcome?.created, true, JSON.stringify(created));
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
      await page.goto(`${url}#token=${tokens.observer}`);
      await page.locator('#sessions li[data-session="hostile-web"] button').click();
      await page.locator('#status').filter({ hasText: 'connected to hostile-web' }).waitFor();
      writeFileSync(join(home, 'go'), '');
      const deadline = Date.now() + 60_000;
      let shown = '';
      while (!/WEB-DONE/.test(shown)) {
        if (Date.now() > deadline) throw new Error(`the page never showed the end of the output; it shows:\n${shown.slice(-2000)}`);
        // A tab stuck in xterm.js would not answer this at all (the deadline is generous; no timing threshold).
        shown = await page.evaluate(() => (window as unknown as { auTerminalText: () => string }).auTerminalText(), undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      const started = Date.now();
      await page.locator('#play').evaluate((el: HTMLElement) => el.id, undefined);
      console.log(`hostile output in the browser: the tab answered in ${Date.now() - started} ms after the flood`);
      await page.screenshot({ path: join(ARTIFACTS, 'web-hostile-output.png') });
      await browser.close();
      browser = undefined;
    },
  );
});
