// npm run bench: `au changes` on a review share with 100 staged changes (issue 16: under 1 s),
// made by a real agent run in a repository of 10,000 files: 40 edits, 30 new files, 20
// deletions, 10 renames. Timed as the human, the median of several runs, text and --json.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageForHumans } from '../test/helpers/system.js';
import { withBenchAgent } from './fixture.js';

const ROUNDS = Number(process.env.AU_BENCH_ROUNDS ?? 15);
const REVIEW_ROOT = '/var/lib/agent-as-unix-user/review';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  await withBenchAgent((human, agent) => {
    try {
      const src = `${human.home}/repo`;
      const tgt = `/home/${agent}/repo`;
      const made = human.run([
        'bash',
        '-c',
        `mkdir -p ${src} && cd ${src} && for d in $(seq 0 99); do mkdir d$d && for f in $(seq 0 99); do echo "file $d $f" > d$d/f$f.txt; done; done`,
      ]);
      if (made.status !== 0) throw new Error(made.stderr);
      const add = human.au(['mount', 'add', '--review', '-a', agent, src]);
      if (add.status !== 0) throw new Error(add.stderr);
      const script = [
        'for i in $(seq 0 39); do echo edited >> d$i/f0.txt; done',
        'for i in $(seq 0 29); do echo new > d$i/new$i.txt; done',
        'for i in $(seq 40 59); do rm d$i/f1.txt; done',
        'for i in $(seq 60 69); do mv d$i/f2.txt d$i/moved.txt; done',
      ].join(' && ');
      const run = human.au(['run', '-a', agent, '-d', tgt, '--', 'bash', '-c', script]);
      if (run.status !== 0) throw new Error(run.stderr);
      const au = join(packageForHumans(), 'bin', 'au');
      const asHuman = (args: string[]): string[] => [
        'runuser',
        '-u',
        human.name,
        '--',
        'env',
        '-i',
        `HOME=${human.home}`,
        'PATH=/usr/bin:/bin',
        process.execPath,
        au,
        ...args,
      ];
      const check = spawnSync(asHuman(['changes', '-a', agent, '--json'])[0]!, asHuman(['changes', '-a', agent, '--json']).slice(1), {
        encoding: 'utf8',
      });
      const count = (JSON.parse(check.stdout) as { changes: unknown[] }[])[0]!.changes.length;
      for (const [label, args] of [
        ['au changes', ['changes', '-a', agent]],
        ['au changes --json', ['changes', '-a', agent, '--json']],
      ] as const) {
        const argv = asHuman([...args]);
        const samples: number[] = [];
        for (let i = 0; i < ROUNDS + 2; i++) {
          const start = process.hrtime.bigint();
          const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
          if (r.status !== 0) throw new Error(`${label}: ${r.stderr.toString()}`);
          if (i >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        console.log(
          `${label} with ${count} staged changes (10,000-file repository): ${median(samples).toFixed(1)} ms median of ${ROUNDS} (target < 1000 ms)`,
        );
      }
    } finally {
      rmSync(`${REVIEW_ROOT}/${agent}`, { recursive: true, force: true });
    }
  });
}

await main();
