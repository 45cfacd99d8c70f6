// A helper run (`au profile import`): the agent does a job for au, fed on stdin, and holds none
// of the human's fds: its output is captured here (bounded), never written to the human's
// terminal, so nothing it prints can reach the terminal's parser.
import { spawn } from 'node:child_process';
import { exitStatusOf } from '../run/launch.js';
import type { LaunchPlan } from './plan.js';

/** Output kept from a helper run (for the error message): the rest is counted, not stored. */
const KEPT_OUTPUT_BYTES = 16 * 1024;

export interface HelperResult {
  status: number;
  /** stdout and stderr, interleaved as they came, at most KEPT_OUTPUT_BYTES. */
  output: Buffer;
}

export function runHelper(plan: LaunchPlan, input: NodeJS.ReadableStream): Promise<HelperResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(plan.entrypoint, ['--die-with-parent', ...plan.args], { stdio: ['pipe', 'pipe', 'pipe'], env: plan.env });
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const keep = (data: Buffer): void => {
      if (keptBytes >= KEPT_OUTPUT_BYTES) return;
      const part = data.subarray(0, KEPT_OUTPUT_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // The agent may stop reading its input early: that ends the feed, not au.
    child.stdin.on('error', () => undefined);
    input.pipe(child.stdin);
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ status: exitStatusOf(code, signal), output: Buffer.concat(kept) }));
  });
}

/** Agent output made safe to print: printable ASCII and newlines as they are, other bytes as \xNN. */
export function visibleText(data: Buffer): string {
  let text = '';
  for (const byte of data) {
    if (byte === 0x0a || (byte >= 0x20 && byte < 0x7f && byte !== 0x5c)) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}
