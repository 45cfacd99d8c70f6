// Agent scripts that try attacks: a bash function that runs one attempt and says how it went,
// and the helpers to read what it printed.
import { randomBytes } from 'node:crypto';
import type { Result } from './system.js';

/** A short random tag for names a test makes (files, keys, markers). */
export const rand = (): string => randomBytes(4).toString('hex');

/** A command's outcome, whole, for an assertion message. */
export const describeResult = (r: Result): string => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** A bash function for agent scripts: runs one attempt and prints "SUCCEEDED: ... => output" or "refused: ... :: error". */
export const TRY = `try() { local out; if out=$("$@" 2>&1 </dev/null); then echo "SUCCEEDED: $* => $out"; else echo "refused: $* :: $(echo "$out" | tail -n1)"; fi; }`;

/** The lines that say `prefix: ...` (a PTY session may put escape sequences before the first one). */
export const linesOf = (text: string, prefix: string): string[] => text.split(/\r?\n/).filter((l) => l.includes(`${prefix}: `));
