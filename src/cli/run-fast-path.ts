// `au run` is on the path of every agent command, so it has its own small bundle
// (dist/run.cjs) that does not load the full command-line parser. It understands exactly the
// options of `au run`; anything else (help, an unknown or malformed option) returns
// undefined and the caller falls back to the full CLI, which owns every message and error.
import { DEFAULT_AGENT } from '../agents/names.js';
import type { RunCommandOptions } from './commands/run.js';
import type { GlobalOptions } from './context.js';

export interface RunInvocation {
  globals: GlobalOptions;
  agent: string;
  options: RunCommandOptions;
  command: string[];
}

type Setter = (inv: RunInvocation, value: string) => void;

const WITH_VALUE: Record<string, Setter> = {
  '-a': (inv, v) => (inv.agent = v),
  '--agent': (inv, v) => (inv.agent = v),
  '-e': (inv, v) => inv.options.env.push(v),
  '--env': (inv, v) => inv.options.env.push(v),
  '-d': (inv, v) => (inv.options.directory = v),
  '--directory': (inv, v) => (inv.options.directory = v),
  '-C': (inv, v) => (inv.globals.config = v),
  '--config': (inv, v) => (inv.globals.config = v),
  '--profile': (inv, v) => (inv.options.profile = v),
  '--share': (inv, v) => (inv.options.share ??= []).push(v),
};

const FLAGS: Record<string, (inv: RunInvocation) => void> = {
  '--no-pty': (inv) => (inv.options.pty = false),
  '--dry-run': (inv) => (inv.globals.dryRun = true),
  '--lockdown': (inv) => (inv.options.lockdown = true),
  '--rw-cwd': (inv) => (inv.options.rwCwd = true),
  '--net': (inv) => (inv.options.net = true),
  '--allow-clipboard': (inv) => (inv.options.allowClipboard = true),
};

/**
 * Parses `run [options] [--] COMMAND...` (argv after "run"); undefined when unsure. As a
 * profile shortcut (`au claude ...`), the first argument au does not know starts the
 * program's own arguments, and there may be none.
 */
export function parseRunArguments(argv: readonly string[], shortcut = false): RunInvocation | undefined {
  const inv: RunInvocation = { globals: {}, agent: DEFAULT_AGENT, options: { env: [], pty: true }, command: [] };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const flag = FLAGS[arg];
    if (flag) {
      flag(inv);
      i++;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg.startsWith('--') ? arg : arg.slice(0, 2);
    const setter = WITH_VALUE[name];
    if (!setter) {
      if (shortcut) break;
      return undefined;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (!arg.startsWith('--') && arg.length > 2) value = arg.slice(2);
    else value = argv[++i];
    if (value === undefined) return undefined;
    setter(inv, value);
    i++;
  }
  inv.command = argv.slice(i);
  return inv.command.length > 0 || inv.options.profile !== undefined ? inv : undefined;
}
