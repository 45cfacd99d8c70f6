// Entry of dist/run.cjs, the lean bundle for `au run` (see run-fast-path.ts). Falls back to the
// full CLI whenever the fast parser is unsure.
import { parseRunArguments } from './run-fast-path.js';
import { makeContext } from './context.js';
import { runCommand } from './commands/run.js';
import { reportFailure } from './errors.js';
import { exitQuietlyOnBrokenPipe } from '../terminal/broken-pipe.js';

exitQuietlyOnBrokenPipe();

const invocation = parseRunArguments(process.argv.slice(3));
if (invocation) {
  runCommand(makeContext(invocation.globals), invocation.agent, invocation.command, invocation.options).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportFailure(error);
    },
  );
} else {
  // The full CLI, bundled beside this file (a CommonJS require: esbuild keeps it external).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./au.cjs');
}
