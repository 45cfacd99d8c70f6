import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { updateConfig } from '../../config/store.js';
import { DEFAULT_SHARING_GROUP, SHARED_SOCKET_DIR, defaultSocketPath, sharedSocketPath, stateDir } from '../../server/paths.js';
import { setUpSharing } from '../../server/sharing.js';
import { readPidFileAt } from '../../server/safe-files.js';
import { logQuietly } from '../../server/line-file.js';
import type { ServerTarget } from '../../client/connection.js';
import { lookupUser } from '../../system/accounts.js';
import { type WebAddress, parseWebAddress } from '../../server/web/address.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { say } from '../output.js';

export interface SocketChoice {
  socket?: string;
  /** The shared socket of this user (`au server init`). */
  of?: string;
}

export function socketPathOf(choice: SocketChoice): string {
  if (choice.socket) return choice.socket.startsWith('/') ? choice.socket : join(process.cwd(), choice.socket);
  if (choice.of) {
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(choice.of)) throw new UsageError(`invalid user name ${JSON.stringify(choice.of)}`);
    return sharedSocketPath(choice.of);
  }
  return defaultSocketPath();
}

/**
 * The server a client command means: `--of USER` is USER's server (on USER's shared socket, or on
 * `-s SOCKET`), otherwise the user's own. The client checks the server's uid against it.
 */
export function serverTargetOf(ctx: Context, choice: SocketChoice): ServerTarget {
  const socketPath = socketPathOf(choice);
  if (!choice.of)
    return { socketPath, ownerUid: ctx.human.uid, ownerName: ctx.human.name, hint: "to reach another user's server, add --of USER" };
  const owner = lookupUser(ctx.runner, choice.of);
  if (!owner) throw new UsageError(`no user ${JSON.stringify(choice.of)} in the passwd database`);
  return { socketPath, ownerUid: owner.uid, ownerName: owner.name };
}

export interface ServerRunOptions {
  socket?: string;
  shared?: boolean;
  daemon?: boolean;
  /** [ADDR:]PORT of the web observer. */
  web?: string;
  /** Allow a non-loopback --web address. */
  webPublic?: boolean;
}

/** Checks --web before anything starts: loopback only unless --web-public. */
function webAddressOf(options: ServerRunOptions): WebAddress | undefined {
  if (options.webPublic && !options.web) throw new UsageError('--web-public needs --web ADDR:PORT');
  if (!options.web) return undefined;
  let address: WebAddress;
  try {
    address = parseWebAddress(options.web);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!address.loopback && !options.webPublic) {
    throw new UsageError(
      `--web ${options.web} is not a loopback address: anyone who can reach it may try tokens; add --web-public to mean it`,
    );
  }
  return address;
}

export async function serverRunCommand(ctx: Context, options: ServerRunOptions): Promise<number> {
  if (options.shared && options.socket) throw new UsageError('give either -s SOCKET or --shared');
  const socketPath = options.shared ? sharedSocketPath(ctx.human.name) : socketPathOf({ socket: options.socket });
  const webAddress = webAddressOf(options);
  if (options.daemon) return daemonize(ctx, socketPath, options);
  const { SessionServer } = await import('../../server/server.js');
  // A full disk must not end the server (and every session with it): a log line that cannot be
  // written to server.log is dropped, and a file size limit makes writes fail (EFBIG) instead of
  // killing the process (SIGXFSZ). The record itself marks its gaps (audit.ts, recording.ts).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  process.on('SIGXFSZ', () => undefined);
  const server = new SessionServer({ socketPath, configPath: ctx.configPath });
  await server.start();
  // Whatever kills the server, the audit says which sessions ended and that it stopped.
  const crashed = (error: unknown): void => {
    logQuietly(`au: the session server crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    server.recordCrash(error instanceof Error ? error.message : String(error));
    process.exit(1);
  };
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
  if (webAddress) {
    try {
      await startWeb(server, webAddress);
    } catch (error) {
      await server.stop('the web observer could not start');
      throw error;
    }
  }
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      // Whatever handle is left (a client that does not close), the server is done.
      void server.stop(signal).then(() => {
        resolve(0);
        setTimeout(() => process.exit(0), 100).unref();
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, stop);
  });
}

async function startWeb(server: import('../../server/server.js').SessionServer, address: WebAddress): Promise<void> {
  const { WebServer } = await import('../../server/web/web-server.js');
  const { loadOrCreateTokens } = await import('../../server/web/tokens.js');
  const tokens = loadOrCreateTokens();
  const web = new WebServer({ address, tokens, host: server });
  await web.start();
  loadOrCreateTokens({ url: web.url });
  server.beforeStop = () => web.close();
  server.auditLog.record({ event: 'web-start', url: web.url, host: address.host, port: Number(new URL(web.url).port) });
  if (!address.loopback) {
    process.stderr.write(
      `au: WARNING: the web observer listens on ${address.host} (not loopback): anyone who can reach this machine can try tokens, and HTTP is not encrypted (tokens and terminal output travel in clear text)\n`,
    );
  }
  // The token goes in the URL fragment: browsers never send it in a request line or a Referer.
  process.stderr.write(`au: web observer on ${web.url}\n`);
  process.stderr.write(`au:   observer (read-only): ${web.url}#token=${tokens.observer}\n`);
  process.stderr.write(`au:   operator (may type):  ${web.url}#token=${tokens.operator}\n`);
  process.stderr.write(`au:   (au server token prints these again)\n`);
}

/** `au server token`: the web observer's links (or bare tokens). */
export async function serverTokenCommand(options: {
  json?: boolean;
  operator?: boolean;
  observer?: boolean;
  rotate?: boolean;
}): Promise<void> {
  const { loadOrCreateTokens, readTokens, webTokensPath } = await import('../../server/web/tokens.js');
  const tokens = options.rotate ? loadOrCreateTokens({ rotate: true }) : readTokens();
  if (!tokens) throw new UsageError(`no web observer tokens yet (${webTokensPath()}): start the server with au server run --web PORT`);
  if (options.rotate) process.stderr.write('au: new tokens written; a running server keeps the old ones until it restarts\n');
  const link = (token: string): string => (tokens.url ? `${tokens.url}#token=${token}` : token);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url: tokens.url ?? null, observer: tokens.observer, operator: tokens.operator })}\n`);
  } else if (options.operator || options.observer) {
    process.stdout.write(`${options.operator ? tokens.operator : tokens.observer}\n`);
  } else {
    process.stdout.write(`observer ${link(tokens.observer)}\noperator ${link(tokens.operator)}\n`);
  }
}

/** Starts the server in the background, detached from this terminal, and returns once it listens. */
async function daemonize(ctx: Context, socketPath: string, options: ServerRunOptions): Promise<number> {
  const logPath = join(stateDir(), 'server.log');
  mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
  const log = openSync(logPath, 'a', 0o600);
  const script = process.argv[1];
  if (!script) throw new Error('cannot find the au script to start');
  const web = options.web ? ['--web', options.web, ...(options.webPublic ? ['--web-public'] : [])] : [];
  const child = spawn(process.execPath, [script, 'server', 'run', '-s', socketPath, '-C', ctx.configPath, ...web], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: '/',
  });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`the server exited (${exited}) before listening; see ${logPath}: ${lastLine(logPath)}`);
    if (readPid(socketPath) === child.pid && (await canConnect(socketPath)) && (!options.web || webStarted(logPath, child.pid))) break;
    if (Date.now() > deadline) throw new Error(`the server did not start listening on ${socketPath}; see ${logPath}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.unref();
  say(`au: session server started (pid ${child.pid}) on ${socketPath}; log: ${logPath}`);
  if (options.web) say('au: web observer links (with their tokens): au server token');
  return 0;
}

/** Whether the daemon's log says its web observer listens (the log is appended to, so it is the last line of this pid's start). */
function webStarted(logPath: string, pid: number | undefined): boolean {
  try {
    const text = readFileSync(logPath, 'utf8');
    const start = text.lastIndexOf(`(pid ${pid})`);
    return start >= 0 && text.indexOf('au: web observer on ', start) > start;
  } catch {
    return false;
  }
}

function lastLine(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return '';
  }
}

/** The new server's pid, once it wrote its pid file (never blocked by a FIFO planted there: safe-files.ts). */
function readPid(socketPath: string): number | undefined {
  return readPidFileAt(`${socketPath}.pid`);
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function serverInitCommand(ctx: Context, options: { group?: string; dir?: string; users: string[] }): void {
  const group = options.group ?? DEFAULT_SHARING_GROUP;
  const dir = options.dir ?? SHARED_SOCKET_DIR;
  if (!/^[a-z_][a-z0-9_-]*$/.test(group)) throw new UsageError(`invalid group name ${JSON.stringify(group)}`);
  if (!dir.startsWith('/') || dir.includes('..')) throw new UsageError(`the socket directory must be an absolute path: ${dir}`);
  for (const user of options.users)
    if (!/^[a-z_][a-z0-9_.-]*\$?$/.test(user)) throw new UsageError(`invalid user name ${JSON.stringify(user)}`);
  const users = [...new Set([ctx.human.name, ...options.users])].filter((u) => u !== 'root');
  setUpSharing(ctx.runner, { group, dir, users });
  if (ctx.dryRun) {
    say('Dry run: nothing was changed.');
    return;
  }
  for (const line of sharingInstructions(ctx.human.name, group, dir)) say(line);
}

/**
 * What to do after `au server init`, as commands that work as printed: with another directory
 * than the default one, the server and every client name the socket (-s), since `--shared`
 * and `--of USER` alone mean the default directory.
 */
export function sharingInstructions(owner: string, group: string, dir: string): string[] {
  const socket = sharedSocketPath(owner, dir);
  const custom = dir !== SHARED_SOCKET_DIR;
  const run = custom ? `au server run -s ${socket}` : 'au server run --shared';
  const mine = custom ? `-s ${socket}` : `--of ${owner}`;
  const theirs = custom ? `--of ${owner} -s ${socket}` : `--of ${owner}`;
  return [
    `Shared socket directory ${dir} (group ${group}) is ready.`,
    `1. Start your server there: ${run}   (add -d to run it in the background; socket ${socket}, in a directory only you may write)`,
    `2. Grant roles: au server allow --observer NAME|@GROUP, au server allow --operator NAME|@GROUP`,
    `3. Start a session on it: au attach ${mine} -n SESSION`,
    `4. Colleagues (in group ${group}; a new login picks the group up) attach with: au attach ${theirs} -n SESSION [-r]`,
  ];
}

const ROLE_ENTRY = /^@?[a-z_][a-z0-9_.-]*\$?$/;

export function serverAllowCommand(ctx: Context, role: 'operators' | 'observers' | undefined, names: string[]): void {
  if (!role) throw new UsageError('give --operator or --observer');
  for (const name of names) if (!ROLE_ENTRY.test(name)) throw new UsageError(`invalid user or @group ${JSON.stringify(name)}`);
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const table = (typeof config.extra.server === 'object' && config.extra.server !== null ? config.extra.server : {}) as Record<
      string,
      unknown
    >;
    const other = role === 'operators' ? 'observers' : 'operators';
    const list = (key: string): string[] =>
      Array.isArray(table[key]) ? (table[key] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
    table[role] = [...new Set([...list(role), ...names])];
    table[other] = list(other).filter((n) => !names.includes(n));
    config.extra.server = table;
    save();
  });
  say(
    `${names.join(', ')}: ${role === 'operators' ? 'operator (may type and resize)' : 'observer (read-only)'}${ctx.dryRun ? ' (dry run: nothing written)' : ''}`,
  );
}

export function serverDenyCommand(ctx: Context, names: string[]): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const table = config.extra.server;
    if (typeof table !== 'object' || table === null) return;
    const record = table as Record<string, unknown>;
    for (const key of ['operators', 'observers']) {
      if (Array.isArray(record[key])) record[key] = (record[key] as unknown[]).filter((v) => !names.includes(v as string));
    }
    save();
  });
  say(`${names.join(', ')}: no role (refused)`);
}
