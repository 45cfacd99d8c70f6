// The small N-API addon (native/au_native.c): execve, isatty, SHA-256 and the passwd entry
// without loading Node's child_process, tty, crypto and os modules, which cost milliseconds on every `au run`.
// Optional for those: when it is not built, callers fall back to Node's own modules. The share
// ACL walk (aclWalk) has no fallback: shares are refused without it.

export interface AuNative {
  execve(path: string, argv: readonly string[], envp: readonly string[]): never;
  isatty(fd: number): boolean;
  /** The effective uid's passwd entry (what os.userInfo reads), without Node's os module. */
  passwd(): { name: string; uid: number; gid: number; home: string };
  /** The kernel's Landlock ABI version, 0 without Landlock (au doctor). */
  landlockAbi(): number;
  sha256(data: Buffer): string;
  /** SO_PEERCRED of a connected Unix socket (the session server's roles rest on it). */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /** Marks every fd >= `fd` close-on-exec (the session server, before it starts an agent). */
  closeOnExecFrom(fd: number): void;
  /** The fd-based share ACL walk (native/acl_walk.c); throws an Error with `code` when the root cannot be opened safely. */
  aclWalk(root: string, request: AclWalkRequest): AclWalkReport;
  /** flock(fd, LOCK_EX or LOCK_SH | LOCK_NB): false when another process holds a conflicting lock. */
  flock(fd: number, exclusive: boolean): boolean;
  /** The xattr's bytes (at most 256), null when the file has none of that name. */
  fgetxattr(fd: number, name: string): Buffer | null;
  /** lseek SEEK_DATA (SEEK_HOLE when `hole`) from `offset`; -1 when no data follows (ENXIO). */
  seekData(fd: number, offset: number, hole: boolean): number;
}

/** perm: 4 r, 2 w, 1 x, 8 setfacl's X (execute on directories and on files someone may execute). */
export interface AclWalkRequest {
  /** Only directories and regular files owned by this uid are changed. */
  owner: number;
  set: readonly { uid: number; perm: number; isDefault: 0 | 1 }[];
  /** Named-user entries removed from access and default ACLs. */
  remove: readonly number[];
  /** Named-group entries removed from access and default ACLs. */
  removeGroups: readonly number[];
  /** Inodes in group `from` move to group `to`, and such folders lose their setgid bit. */
  regroup?: { from: number; to: number };
}

export interface AclWalkReport {
  directories: number;
  files: number;
  changed: number;
  regrouped: number;
  /** Directories the walk could not list, each path whole (the count is exact). */
  unreadable: string[];
  unreadableCount: number;
  failed: string[];
  failedCount: number;
  /** Regular files with other hard links, granted read access only (grants only). */
  linked: string[];
  linkedCount: number;
}

let cached: AuNative | null | undefined;

export function loadNative(): AuNative | undefined {
  if (cached === undefined) {
    try {
      // Next to the bundle (dist/ -> native/build/Release/), or the sources (in tests); loaded
      // as require() would, without its path resolution (realpath of every directory, package.json lookups).
      const root = typeof __dirname === 'string' ? `${__dirname}/..` : new URL('../..', import.meta.url).pathname;
      const addon = { exports: {} };
      process.dlopen(addon, `${root}/native/build/Release/au_native.node`);
      cached = addon.exports as AuNative;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

export async function stdinIsTerminal(): Promise<boolean> {
  const native = loadNative();
  if (native) return native.isatty(0);
  const { isatty } = await import('node:tty');
  return isatty(0);
}

/** Which of fds 0-2 are terminals (the per-fd rule of pty-relay.ts decides on these). */
export async function terminalFds(): Promise<[boolean, boolean, boolean]> {
  const native = loadNative();
  if (native) return [native.isatty(0), native.isatty(1), native.isatty(2)];
  const { isatty } = await import('node:tty');
  return [isatty(0), isatty(1), isatty(2)];
}
