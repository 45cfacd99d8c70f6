// `au aliases install`: short names for the profiles (`au-claude` runs `au claude`), as small
// wrapper scripts in ~/.local/bin or as a block in the shell's rc file. Both carry a marker,
// so running it again replaces what it wrote and never a file of the human's (unless --force).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadConfig } from '../../config/store.js';
import { allProfiles } from '../../profiles/resolve.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

const MARKER = 'managed by agent-as-unix-user (au aliases install)';
const BLOCK_START = `# >>> ${MARKER} >>>`;
const BLOCK_END = '# <<< agent-as-unix-user <<<';
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

export interface AliasOptions {
  shell?: string;
  mode: string;
  force: boolean;
}

function detectShell(requested: string | undefined): Shell {
  const name = requested ?? basename(process.env.SHELL ?? 'bash');
  if (!(SHELLS as readonly string[]).includes(name))
    throw new UsageError(`unsupported shell ${JSON.stringify(name)}: use --shell bash, zsh or fish`);
  return name as Shell;
}

function write(ctx: Context, path: string, text: string, mode?: number): void {
  process.stderr.write(`${ctx.dryRun ? 'would write' : 'writing'} ${path}\n`);
  if (ctx.dryRun) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
}

function installWrappers(ctx: Context, names: string[], force: boolean): void {
  const dir = join(ctx.human.home, '.local', 'bin');
  const foreign = names
    .map((name) => join(dir, `au-${name}`))
    .filter((path) => existsSync(path) && !readFileSync(path, 'utf8').includes(MARKER));
  if (foreign.length > 0 && !force) throw new UsageError(`not replacing files au did not write: ${foreign.join(', ')} (use --force)`);
  for (const name of names) {
    write(ctx, join(dir, `au-${name}`), `#!/bin/sh\n# ${MARKER}\nexec au ${name} "$@"\n`, 0o755);
  }
}

function rcFile(ctx: Context, shell: Shell): string {
  if (shell === 'fish') return join(ctx.human.home, '.config', 'fish', 'config.fish');
  return join(ctx.human.home, shell === 'zsh' ? '.zshrc' : '.bashrc');
}

function installRcBlock(ctx: Context, shell: Shell, names: string[]): void {
  const path = rcFile(ctx, shell);
  const lines = names.map((name) => (shell === 'fish' ? `alias au-${name} 'au ${name}'` : `alias au-${name}='au ${name}'`));
  const block = `${BLOCK_START}\n${lines.join('\n')}\n${BLOCK_END}\n`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = current.indexOf(BLOCK_START);
  const end = current.indexOf(BLOCK_END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + BLOCK_END.length + 1)
      : `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${block}`;
  write(ctx, path, next);
}

export function aliasesInstallCommand(ctx: Context, options: AliasOptions): void {
  const names = allProfiles(loadConfig(ctx.configPath)).map((p) => p.name);
  if (options.mode === 'wrappers') installWrappers(ctx, names, options.force);
  else if (options.mode === 'rc') installRcBlock(ctx, detectShell(options.shell), names);
  else throw new UsageError(`unknown --mode ${JSON.stringify(options.mode)}: use wrappers or rc`);
}
