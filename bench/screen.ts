// npm run bench: the session server's screen model under floods of cheap-to-send, costly-to-draw
// sequences (the review's figures, once asserted in test/e2e/review-server.test.ts): the worst
// batch per token next to the model's 8 ms budget, a 1000x1000 screen, and how soon a calm model
// shows a line while three others are flooded. Needs no root.
import { ScreenModel } from '../src/server/screen.js';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
/** 64 KB (the model's SKIP_TAIL) of one token repeated. */
const flood = (token: string): Buffer => latin1(token.repeat(Math.ceil(65536 / token.length))).subarray(0, 65536 - (65536 % token.length));
const busyWait = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

/** The worst time of one forced batch (a late joiner's snapshot), after a fresh shared budget window. */
function worstBatch(cols: number, rows: number, token: string, rounds: number): number {
  const model = new ScreenModel(cols, rows);
  let worst = 0;
  for (let i = 0; i < rounds; i++) {
    model.write(flood(token));
    busyWait(110);
    const started = performance.now();
    model.snapshot(() => {});
    if (i > 0) worst = Math.max(worst, performance.now() - started); // the first one warms up
  }
  model.dispose();
  return worst;
}

const tokens: Record<string, string> = {
  CBT: '\x1b[99Z',
  CHT: '\x1b[3g\r\x1b[99I',
  DECSTR: '\x1b[!p',
  DECRQM: '\x1b[1$p',
  SGR: '\x1b[1;2;3;4;5;7;8;9;38;2;1;2;3;48;2;4;5;6;58;2;7;8;9;4:3;53;21m',
  plain: 'abcdefgh',
};
console.log('screen model: worst batch + snapshot of a 64 KB flood (budget 8 ms a batch)');
for (const [name, token] of Object.entries(tokens)) console.log(`  80x24 ${name.padEnd(7)} ${worstBatch(80, 24, token, 4).toFixed(1)} ms`);
console.log(`  1000x1000 CBT ${worstBatch(1000, 1000, '\x1b[999Z', 3).toFixed(1)} ms`);

// Three models flooded with CBT for 3 s; a fourth is written one line: how soon it shows it, and
// the event loop's worst 10 ms tick meanwhile (reference: a line within 1 s, no tick over 100 ms).
const floods = [0, 1, 2].map(() => new ScreenModel(80, 24));
const calm = new ScreenModel(80, 24);
const chunk = flood('\x1b[99Z');
const feeder = setInterval(() => floods.forEach((m) => m.write(chunk)), 20);
let worstTick = 0;
let last = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  worstTick = Math.max(worstTick, now - last);
  last = now;
}, 10);
await new Promise((r) => setTimeout(r, 500));
const written = performance.now();
calm.write(latin1('B-LINE-MARK\r\n'));
let lag = -1;
while (performance.now() - written < 3000) {
  if (lag < 0 && /B-LINE-MARK/.test(calm.text())) lag = performance.now() - written;
  await new Promise((r) => setTimeout(r, 10));
}
clearInterval(feeder);
clearInterval(ticker);
floods.forEach((m) => m.dispose());
calm.dispose();
console.log(
  `  three flooded models: a calm one shows its line after ${lag < 0 ? 'more than 3000' : lag.toFixed(0)} ms (reference 1000); worst event-loop tick ${worstTick.toFixed(0)} ms (reference 100)`,
);
