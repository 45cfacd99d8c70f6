// The server's file descriptors are shared by everything it serves: the owner's Unix socket,
// the web port (which the agent reaches), the sessions' PTYs and record files. A flood on one
// must not take the descriptors the others need (A13: a slowloris on the web port would leave
// the owner's `au sessions list` accepted and closed at EMFILE). So each listener gets a fixed
// share of RLIMIT_NOFILE: the web port at most an eighth, the Unix socket at most half; the
// rest (at least three eighths) stays for sessions, files, and the owner's own connections.
import { readFileSync } from 'node:fs';

/** Web connections at most, and per remote address (a browser opens about 6; loopback addresses are many, so the total matters most). */
export const WEB_CONNECTIONS = 256;
export const WEB_CONNECTIONS_PER_ADDRESS = 32;
/** Unix socket connections at most (server.ts LIMITS.connections). */
export const SOCKET_CONNECTIONS = 2000;

/** This process's soft RLIMIT_NOFILE (1024, the usual default, when it cannot be read). */
export function openFileLimit(): number {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
    if (soft === 'unlimited') return 1_048_576;
    if (soft) return Number(soft);
  } catch {
    /* no /proc: the default */
  }
  return 1024;
}

export interface FdBudget {
  web: number;
  socket: number;
}

export function fdBudget(limit = openFileLimit()): FdBudget {
  return {
    web: Math.max(8, Math.min(WEB_CONNECTIONS, Math.floor(limit / 8))),
    socket: Math.max(16, Math.min(SOCKET_CONNECTIONS, Math.floor(limit / 2))),
  };
}
