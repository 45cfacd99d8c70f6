// Refusals come from the untrusted side (a stranger's connections, anyone's web requests, the
// agent over loopback), so they must not decide how fast the human's audit log grows (A29).
// In each window, the first few refusals of a source are written in full, a few sources at
// most; the rest are counted, and written as one `refusals` line per source when the window
// ends (plus one line for all the sources past the budget). Whatever the flood, a window adds
// at most 2 * MAX_DETAILED + 1 lines, and the counts say exactly how many were refused.

export interface RefusalLimits {
  windowMs: number;
  /** Refusals written in full per source and window. */
  perSource: number;
  /** Refusals written in full per window, all sources together. */
  detailed: number;
}

export const REFUSAL_LIMITS: RefusalLimits = { windowMs: 10_000, perSource: 8, detailed: 20 };

/** Distinct reasons kept per summary line (the rest are counted as `other`). */
const MAX_REASONS = 8;
const OTHER_SOURCES = 'other sources';

export interface RefusalSummaryLine {
  event: 'refusals';
  source: string;
  /** Refusals not written in full, in this window. */
  count: number;
  reasons: Record<string, number>;
  since: string;
  sources?: number;
}

interface Tally {
  detailed: number;
  counted: number;
  reasons: Map<string, number>;
}

export class RefusalLimiter {
  private sources = new Map<string, Tally>();
  private others: Tally = { detailed: 0, counted: 0, reasons: new Map() };
  private otherSources = new Set<string>();
  private detailed = 0;
  private since = new Date();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (line: RefusalSummaryLine) => void,
    private readonly limits: RefusalLimits = REFUSAL_LIMITS,
  ) {}

  /** Whether this refusal is to be written in full (else it was counted). */
  admit(source: string, reason: string): boolean {
    if (Date.now() - this.since.getTime() >= this.limits.windowMs) this.flush();
    let tally = this.sources.get(source);
    if (!tally && this.detailed < this.limits.detailed) {
      tally = { detailed: 0, counted: 0, reasons: new Map() };
      this.sources.set(source, tally);
    }
    if (tally && tally.detailed < this.limits.perSource && this.detailed < this.limits.detailed) {
      tally.detailed++;
      this.detailed++;
      return true;
    }
    const into = tally ?? this.others;
    if (!tally && this.otherSources.size < 10_000) this.otherSources.add(source);
    into.counted++;
    const key = into.reasons.has(reason) || into.reasons.size < MAX_REASONS ? reason : 'other';
    into.reasons.set(key, (into.reasons.get(key) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), this.limits.windowMs).unref();
    return false;
  }

  /** Writes the window's counts and starts a new window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const since = this.since.toISOString();
    const line = (source: string, tally: Tally, extra: Partial<RefusalSummaryLine> = {}): void => {
      if (tally.counted > 0) this.write({ event: 'refusals', source, count: tally.counted, reasons: Object.fromEntries(tally.reasons), since, ...extra });
    };
    for (const [source, tally] of this.sources) line(source, tally);
    line(OTHER_SOURCES, this.others, { sources: this.otherSources.size });
    this.sources = new Map();
    this.others = { detailed: 0, counted: 0, reasons: new Map() };
    this.otherSources = new Set();
    this.detailed = 0;
    this.since = new Date();
  }
}
