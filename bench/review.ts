// npm run bench, review shares (issue 16): on a 10,000-file git repository, `git status` inside
// a run in a review share (overlayfs over the human's folder, idmapped) next to the same in a
// plain --rw share (a bind mount with ACLs), and a 100 MB write in each; interleaved rounds so
// drift affects both alike. Timed inside the run (date +%s%N around the command), so au's own
// start-up is not in the figures. Targets: git status <= 1.3x, the write <= 1.2x.
import { mkdirSync, writeFileSync } from 'node:fs';
import { must } from '../test/helpers/system.js';
import { withBenchAgent } from './fixture.js';

const ROUNDS = Number(process.env.AU_BENCH_ROUNDS ?? 5);
const FILES = 10_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** A git repository of FILES small files in 100 folders, committed, owned by the human. */
function makeRepo(dir: string, owner: string): void {
  for (let d = 0; d < 100; d++) {
    mkdirSync(`${dir}/d${d}`, { recursive: true });
    for (let f = 0; f < FILES / 100; f++) writeFileSync(`${dir}/d${d}/f${f}.txt`, `file ${d}/${f}\n`);
  }
  must(['chown', '-R', `${owner}:${owner}`, dir]);
  must([
    'runuser',
    '-u',
    owner,
    '--',
    'sh',
    '-c',
    `cd ${dir} && git init -q . && git add -A && git -c user.name=b -c user.email=b@b commit -qm files`,
  ]);
}

// Inside the run: git status 10 times (the first may refresh the index: reported apart), then
// a 100 MB write made durable; one line each, in microseconds.
const PROBE = [
  't() { s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }',
  'for i in 1 2 3 4 5 6 7 8 9 10; do t git status --porcelain; done | tr "\\n" " "; echo',
  't dd if=/dev/zero of=bench-write bs=1M count=100 conv=fsync status=none; rm -f bench-write',
].join('\n');

async function main(): Promise<void> {
  await withBenchAgent((human, agent) => {
    const dirs = { review: `${human.home}/bench-review`, rw: `${human.home}/bench-rw` };
    for (const dir of Object.values(dirs)) makeRepo(dir, human.name);
    for (const [mode, dir] of Object.entries(dirs)) {
      const r = human.au(['mount', 'add', mode === 'review' ? '--review' : '--rw', '-a', agent, dir], { timeoutMs: 600_000 });
      if (r.status !== 0) throw new Error(`mount add ${mode}: ${r.stderr}`);
    }
    const status: Record<string, number[]> = { review: [], rw: [] };
    const firstStatus: Record<string, number[]> = { review: [], rw: [] };
    const write: Record<string, number[]> = { review: [], rw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, dir] of Object.entries(dirs)) {
        const target = `/home/${agent}/${dir.slice(human.home.length + 1)}`;
        const r = human.au(['run', '-a', agent, '-d', target, '--', 'bash', '-c', PROBE], { timeoutMs: 600_000 });
        if (r.status !== 0) throw new Error(`run in the ${mode} share: ${r.stderr}`);
        const [statusLine = '', writeLine = ''] = r.stdout.trim().split('\n');
        const times = statusLine.trim().split(' ').map(Number);
        firstStatus[mode]!.push(times[0]! / 1000);
        status[mode]!.push(...times.slice(1).map((us) => us / 1000));
        write[mode]!.push(Number(writeLine) / 1000);
      }
    }
    const line = (what: string, m: Record<string, number[]>, target: string): void => {
      const review = median(m.review!);
      const rw = median(m.rw!);
      console.log(
        `${what}: review share ${review.toFixed(1)} ms vs --rw share ${rw.toFixed(1)} ms median -> ratio ${(review / rw).toFixed(3)} (${target})`,
      );
    };
    console.log(`review shares, ${FILES}-file git repository, ${ROUNDS} runs each, interleaved:`);
    line('git status', status, 'target <= 1.3');
    line('git status, first in a run (may refresh the index)', firstStatus, 'no target');
    line('100 MB write (dd conv=fsync)', write, 'target <= 1.2');
    // The staged changes (the refreshed index) would make au delete ask: they are the bench's own.
    human.au(['delete', '-H', '-y', '--discard-changes', '-a', agent]);
  });
}

await main();
