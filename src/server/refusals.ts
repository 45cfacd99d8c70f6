// Refusals come from the untrusted side (a stranger's connections, anyone's web requests, the
// agent over loopback), so they must not decide how fast the human's audit log grows (A29).
// Two kinds of source, with budgets of their own so that one cannot spend the other's:
//  - uid sources (the Unix socket: kernel-attested, one per account, so bounded by the accounts):
//    each uid's first refusals of a window in full, the rest counted on that uid's own line;
//    reasons of different uids are never merged;
//  - address sources (the web port: the agent may bind any 127.x address): the first refusals of
//    a few addresses in full, within a line and a byte budget; the rest counted per address
//    while the summary byte budget lasts, then on one `other sources` line that names the first
//    OTHER_SOURCES_LISTED addresses and counts the rest.
// Reason keys are cut to REASON_KEY_CHARS, MAX_REASONS per line. So one window of address
// refusals adds at most DETAILED_BYTES + SUMMARY_BYTES + one `other sources` line (32 addresses
// of at most 45 characters, 9 reasons of at most 60: under 2.5 KiB): under 11 KiB, whatever the
// flood; the counts say exactly how many were refused.

export interface RefusalLimits {
  windowMs: number;
  /** Refusals written in full per source and window. */
  perSource: number;
  /** Refusals written in full per window, per kind of source. */
  detailed: number;
}

export const REFUSAL_LIMITS: RefusalLimits = { windowMs: 10_000, perSource: 8, detailed: 20 };

export type SourceKind = 'uid' | 'address';

/** Distinct reasons kept per summary line (the rest of that line's are counted as `other`). */
const MAX_REASONS = 8;
export const REASON_KEY_CHARS = 60;
/** Bytes of address refusals written in full per window. */
export const DETAILED_BYTES = 4096;
/** Bytes of per-address summary lines per window (past it, into `other sources`). */
export const SUMMARY_BYTES = 4096;
export const OTHER_SOURCES_LISTED = 32;
/** Distinct other sources counted per window (memory stays bounded; past it, `sources` is a lower bound). */
const OTHER_SOURCES_KEPT = 10_000;
/** uids tallied per window (accounts are bounded; this only bounds memory). */
const MAX_UID_SOURCES = 4096;
const OTHER_SOURCES = 'other sources';
/** The `time` field the audit adds to each line, and its separators. */
const LINE_OVERHEAD = 40;

export interface RefusalSummaryLine {
  event: 'refusals';
  source: string;
  /** Refusals not written in full, in this window. */
  count: number;
  reasons: Record<string, number>;
  since: string;
  /** On the `other sources` line: how many distinct sources, and the first of them. */
  sources?: number;
  listed?: string[];
}

interface Tally {
  kind: SourceKind;
  detailed: number;
  counted: number;
  reasons: Map<string, number>;
}

const newTally = (kind: SourceKind): Tally => ({ kind, detailed: 0, counted: 0, reasons: new Map() });

function count(into: Tally, reason: string, n = 1): void {
  into.counted += n;
  const key = into.reasons.has(reason) || into.reasons.size < MAX_REASONS ? reason : 'other';
  into.reasons.set(key, (into.reasons.get(key) ?? 0) + n);
}

export class RefusalLimiter {
  private sources = new Map<string, Tally>();
  private others = newTally('address');
  private otherSources = new Set<string>();
  private detailed: Record<SourceKind, number> = { uid: 0, address: 0 };
  private detailedBytes = 0;
  private uidSources = 0;
  private since = new Date();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (line: RefusalSummaryLine) => void,
    private readonly limits: RefusalLimits = REFUSAL_LIMITS,
  ) {}

  /**
   * Whether this refusal is to be written in full (else it was counted). `lineBytes`: the size
   * of the line that would be written (address refusals are held to a byte budget too).
   */
  admit(source: string, reason: string, kind: SourceKind = 'address', lineBytes = 0): boolean {
    if (Date.now() - this.since.getTime() >= this.limits.windowMs) this.flush();
    const key = reason.slice(0, REASON_KEY_CHARS);
    let tally = this.sources.get(source);
    const withinBudget =
      this.detailed[kind] < this.limits.detailed && (kind === 'uid' || this.detailedBytes + lineBytes + LINE_OVERHEAD <= DETAILED_BYTES);
    if (!tally && (kind === 'uid' ? this.uidSources < MAX_UID_SOURCES : withinBudget)) {
      tally = newTally(kind);
      this.sources.set(source, tally);
      if (kind === 'uid') this.uidSources++;
    }
    if (tally && tally.detailed < this.limits.perSource && withinBudget) {
      tally.detailed++;
      this.detailed[kind]++;
      if (kind === 'address') this.detailedBytes += lineBytes + LINE_OVERHEAD;
      return true;
    }
    if (tally) count(tally, key);
    else this.countOther(source, key);
    this.timer ??= setTimeout(() => this.flush(), this.limits.windowMs).unref();
    return false;
  }

  private countOther(source: string, reason: string): void {
    this.noteOtherSource(source);
    count(this.others, reason);
  }

  /** A source counted here: remembered (up to OTHER_SOURCES_KEPT, for the count), the first named. */
  private noteOtherSource(source: string): void {
    if (this.otherSources.size < OTHER_SOURCES_KEPT) this.otherSources.add(source);
  }

  /** Writes the window's counts and starts a new window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const since = this.since.toISOString();
    const lineOf = (source: string, tally: Tally): RefusalSummaryLine => ({
      event: 'refusals',
      source,
      count: tally.counted,
      reasons: Object.fromEntries(tally.reasons),
      since,
    });
    let summaryBytes = 0;
    for (const [source, tally] of this.sources) {
      if (tally.counted === 0) continue;
      const line = lineOf(source, tally);
      if (tally.kind === 'uid') {
        this.write(line);
        continue;
      }
      const bytes = JSON.stringify(line).length + LINE_OVERHEAD;
      if (summaryBytes + bytes <= SUMMARY_BYTES) {
        summaryBytes += bytes;
        this.write(line);
      } else {
        // Past the byte budget: this address's counts join the other sources (addresses only).
        this.noteOtherSource(source);
        for (const [reason, n] of tally.reasons) count(this.others, reason, n);
      }
    }
    if (this.others.counted > 0)
      this.write({
        ...lineOf(OTHER_SOURCES, this.others),
        sources: this.otherSources.size,
        listed: [...this.otherSources].slice(0, OTHER_SOURCES_LISTED),
      });
    this.sources = new Map();
    this.others = newTally('address');
    this.otherSources = new Set();
    this.detailed = { uid: 0, address: 0 };
    this.detailedBytes = 0;
    this.uidSources = 0;
    this.since = new Date();
  }
}
