// Per agent, how many changes await review in its review shares, for the web page. Counting
// walks the staging layers (as big as the agent makes them), so it never runs on a request:
// `au changes --count` does it in a child process, one agent at a time, at most every
// REFRESH_MS or when a session ended, and the page gets the last counts. Only a number comes
// back (the child's output is parsed as digits, nothing else): no name of the agent's files
// reaches the page from here.
import { execFile } from 'node:child_process';

const REFRESH_MS = 5000;
const CHILD_TIMEOUT_MS = 60_000;
const COUNT = /^(\d{1,9})\n$/;

/** Counts AGENT's staged changes: undefined when it could not (the count then stays as it was). */
export type CountChanges = (agent: string) => Promise<number | undefined>;

/** `au changes -a AGENT --count` of this au, run as the server's owner (who owns the staging). */
export function countWithChild(configPath: string): CountChanges {
  const script = process.argv[1];
  return (agent) =>
    new Promise((resolve) => {
      if (!script) return resolve(undefined);
      execFile(
        process.execPath,
        [script, 'changes', '-C', configPath, '-a', agent, '--count'],
        { timeout: CHILD_TIMEOUT_MS, maxBuffer: 1024, cwd: '/' },
        (error, stdout) => {
          const match = error ? null : COUNT.exec(stdout);
          resolve(match ? Number(match[1]) : undefined);
        },
      );
    });
}

export class ReviewCounts {
  private readonly counts = new Map<string, number>();
  private refreshedAt = -Infinity;
  private running = false;
  private sessions = '';
  private dirty = true;

  constructor(
    private readonly count: CountChanges,
    private readonly refreshMs = REFRESH_MS,
  ) {}

  /**
   * The last counts of AGENTS (those with a review share); starts a refresh in the background
   * when they are older than refreshMs or the live SESSIONS changed (one ended: it may have staged).
   */
  current(agents: readonly string[], sessions: readonly string[]): ReadonlyMap<string, number> {
    const live = [...sessions].sort().join('\n');
    if (live !== this.sessions) {
      this.sessions = live;
      this.dirty = true;
    }
    if (!this.running && (this.dirty || Date.now() - this.refreshedAt >= this.refreshMs)) {
      this.dirty = false;
      void this.refresh(agents);
    }
    return this.counts;
  }

  private async refresh(agents: readonly string[]): Promise<void> {
    this.running = true;
    try {
      for (const name of [...this.counts.keys()]) if (!agents.includes(name)) this.counts.delete(name);
      for (const agent of agents) {
        const n = await this.count(agent);
        if (n !== undefined) this.counts.set(agent, n);
      }
    } finally {
      this.refreshedAt = Date.now();
      this.running = false;
    }
  }
}
