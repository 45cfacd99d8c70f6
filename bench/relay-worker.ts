// The relay's hot path, measured on a real PTY: an agent (cat) prints a file of TUI-like output
// (text, SGR, UTF-8) on a PTY; the relay reads the master and writes what it would show to
// /dev/null, raw, through the old clipboard filter, or through the output filter. Bundled and
// run by bench/relay.ts (plain Node, as au runs: no test loader in the way).
import { closeSync, openSync, writeSync } from 'node:fs';
import { spawn } from 'node-pty';
import { ClipboardWriteFilter } from './reference/clipboard-filter.js';
import { TerminalOutputFilter } from '../src/terminal/output-filter.js';

type Mode = 'unfiltered' | 'old clipboard filter' | 'output filter';

interface Sample {
  /** Wall-clock throughput. */
  mbPerSecond: number;
  /** The relay's own CPU time per MB (robust when other work shares the machine). */
  cpuMsPerMb: number;
}

function relayOnce(file: string, mode: Mode): Promise<Sample> {
  const sink = openSync('/dev/null', 'w');
  const filter = new TerminalOutputFilter({ answerQueries: true });
  const old = new ClipboardWriteFilter();
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let bytes = 0;
  return new Promise((resolve) => {
    const child = spawn('cat', [file], { cols: 200, rows: 50, encoding: null as unknown as string });
    child.onData((data: string | Buffer) => {
      const chunk = data as Buffer;
      bytes += chunk.length;
      const out = mode === 'output filter' ? filter.push(chunk) : mode === 'old clipboard filter' ? old.push(chunk) : chunk;
      writeSync(sink, out);
    });
    child.onExit(() => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpu);
      closeSync(sink);
      resolve({ mbPerSecond: bytes / seconds / 1e6, cpuMsPerMb: (used.user + used.system) / 1000 / (bytes / 1e6) });
    });
  });
}

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const rounds = Number(process.argv[3] ?? 7);
  const modes: Mode[] = ['unfiltered', 'old clipboard filter', 'output filter'];
  const samples: Record<string, Sample[]> = {};
  for (const mode of modes) await relayOnce(file, mode); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) (samples[mode] ??= []).push(await relayOnce(file, mode));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wall = (mode: Mode): number => median(samples[mode]!.map((x) => x.mbPerSecond));
  const cpu = (mode: Mode): number => median(samples[mode]!.map((x) => x.cpuMsPerMb));
  for (const mode of modes) {
    console.log(
      `relay on a PTY, ${mode}: ${wall(mode).toFixed(0)} MB/s (${((wall(mode) / wall('unfiltered')) * 100).toFixed(1)}% of unfiltered; target >= 95%), ` +
        `relay CPU ${cpu(mode).toFixed(2)} ms/MB (${((cpu(mode) / cpu('unfiltered')) * 100).toFixed(0)}% of unfiltered)`,
    );
  }
  // "Before" is the relay as it was, with the old clipboard filter: the 5% budget.
  console.log(
    `relay on a PTY, output filter vs the old clipboard filter (before): ${((wall('output filter') / wall('old clipboard filter')) * 100).toFixed(1)}% (target >= 95%)`,
  );
}

void main();
