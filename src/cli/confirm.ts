// Yes/no questions before destructive or system-wide changes. Without a terminal there is
// nobody to answer, so the caller must say -y.
import { readSync } from 'node:fs';
import { UsageError } from './errors.js';

export function confirm(question: string, assumeYes: boolean): boolean {
  if (assumeYes) return true;
  if (!process.stdin.isTTY) throw new UsageError(`${question} — no terminal to answer on; pass -y to confirm`);
  process.stderr.write(`${question} [y/N]: `);
  const buffer = Buffer.alloc(256);
  let answer = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw error;
    }
    if (n === 0) break;
    answer += buffer.toString('utf8', 0, n);
    if (answer.includes('\n')) break;
  }
  return /^y(es)?$/i.test(answer.trim());
}
