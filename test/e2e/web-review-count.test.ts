// The web observer shows, per agent, how many changes await review (issue 16): a real server of
// a real human (au server run -d --web), a review share the agent writes to in a real run, and a
// real browser (Debian's chromium, driven by playwright-core) reading the page.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { type Human, type Result, createHuman, sh } from '../helpers/system.js';
import { eventually } from '../helpers/session-server.js';

const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';

describe('web observer: changes awaiting review', () => {
  let human: Human;
  let agent: string;
  let url: string;
  let observer: string;
  let browser: Browser | undefined;
  const said = (r: Result): string => `status ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  const pidFile = (): string => join(human.home, '.local/state/agent-as-unix-user/server.sock.pid');

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    const made = human.run(['mkdir', '-p', `${human.home}/proj`]);
    assert.equal(made.status, 0, said(made));
    const add = human.au(['mount', 'add', '--review', '-a', agent, `${human.home}/proj`]);
    assert.equal(add.status, 0, said(add));
    const started = human.au(['server', 'run', '-d', '--web', '127.0.0.1:0']);
    assert.equal(started.status, 0, said(started));
    const printed = human.au(['server', 'token', '--json']);
    assert.equal(printed.status, 0, said(printed));
    ({ url, observer } = JSON.parse(printed.stdout) as { url: string; observer: string });
  });

  after(async () => {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    const pid = existsSync(pidFile()) ? Number(readFileSync(pidFile(), 'utf8').trim()) : 0;
    if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops').catch(() => undefined);
    human?.cleanup();
    if (agent) rmSync(`${REVIEW_ROOT}/${agent}`, { recursive: true, force: true });
  });

  test('the agent stages 2 changes in a review share: the page shows "2 changes await review" (nothing before)', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${url}#token=${observer}`);
    const row = page.locator(`#agents li[data-agent="${agent}"]`);
    await row.filter({ hasText: 'healthy' }).waitFor();
    assert.doesNotMatch(await row.innerText(), /await/, 'nothing staged: nothing said');

    const run = human.au(['run', '-a', agent, '-d', `/home/${agent}/proj`, '--', 'bash', '-c', 'echo one > one.txt && echo two > two.txt']);
    assert.equal(run.status, 0, said(run));
    await row.filter({ hasText: '2 changes await review' }).waitFor({ timeout: 30_000 });
    // Through the one protocol module: a number, not text.
    const state = (await (await fetch(`${url}api/state`, { headers: { Authorization: `Bearer ${observer}` } })).json()) as {
      agents: { name: string; awaitingReview: unknown }[];
    };
    assert.equal(state.agents.find((a) => a.name === agent)?.awaitingReview, 2);
  });
});
