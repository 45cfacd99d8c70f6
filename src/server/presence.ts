// Joins and leaves are decided by the clients: an admitted observer can connect and drop in a
// loop, and each join or leave is an audit line and a notice to every other client. So they go
// through a per-user allowance (A29: the other side does not decide how fast the log grows nor
// how noisy the human's terminal gets): in each window the first PER_USER joins and leaves of a
// user are reported in full; the rest are counted, and the window's count is reported once,
// as one audit line and one notice, when the window ends.

export interface PresenceLimits {
  windowMs: number;
  /** Joins plus leaves reported in full per user and window. */
  perUser: number;
}

export const PRESENCE_LIMITS: PresenceLimits = { windowMs: 10_000, perUser: 6 };

export interface PresenceCount {
  user: string;
  joins: number;
  leaves: number;
  since: Date;
}

interface Tally {
  reported: number;
  joins: number;
  leaves: number;
}

export class PresenceLimiter {
  private tallies = new Map<string, Tally>();
  private since = new Date();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly summarise: (count: PresenceCount) => void,
    private readonly limits: PresenceLimits = PRESENCE_LIMITS,
  ) {}

  /** Whether this join or leave is to be reported in full (else it was counted). */
  admit(user: string, kind: 'join' | 'leave'): boolean {
    if (Date.now() - this.since.getTime() >= this.limits.windowMs) this.flush();
    let tally = this.tallies.get(user);
    if (!tally) {
      tally = { reported: 0, joins: 0, leaves: 0 };
      this.tallies.set(user, tally);
    }
    if (tally.reported < this.limits.perUser) {
      tally.reported++;
      return true;
    }
    if (kind === 'join') tally.joins++;
    else tally.leaves++;
    this.timer ??= setTimeout(() => this.flush(), this.limits.windowMs).unref();
    return false;
  }

  /** Reports the window's counts and starts a new window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const since = this.since;
    const tallies = this.tallies;
    this.tallies = new Map();
    this.since = new Date();
    for (const [user, tally] of tallies)
      if (tally.joins + tally.leaves > 0) this.summarise({ user, joins: tally.joins, leaves: tally.leaves, since });
  }
}
