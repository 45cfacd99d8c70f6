// Does a Node.js version satisfy a package's `engines.node`, and which Node.js release to give
// the agent when the one it has does not. The grammar is npm's (node-semver ranges: `||`,
// comparators joined by spaces, `^`, `~`, x-ranges, hyphen ranges), for release versions only:
// Node.js releases have no pre-release part. A range this parser cannot read is `undefined`
// ("cannot tell"), never a guess.

type Triple = [number, number, number];
type Op = '>=' | '>' | '<' | '<=' | '=';
interface Comparator {
  op: Op;
  version: Triple;
}

const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The numbers a partial version names, stopping at the first wildcard or missing part. */
function parsePartial(text: string): number[] | undefined {
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const parts: number[] = [];
  for (const part of [m[1], m[2], m[3]]) {
    if (part === undefined || /^[xX*]$/.test(part)) break;
    parts.push(Number(part));
  }
  return parts;
}

const fill = (parts: readonly number[]): Triple => [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];

/** The first version past everything `parts` names (1.2 -> 1.3.0, 1 -> 2.0.0). */
function next(parts: readonly number[]): Triple {
  if (parts.length === 1) return [parts[0]! + 1, 0, 0];
  if (parts.length === 2) return [parts[0]!, parts[1]! + 1, 0];
  return [parts[0]!, parts[1]!, parts[2]! + 1];
}

const NOTHING: Comparator[] = [{ op: '<', version: [0, 0, 0] }];

/** One space-free piece of a range, as comparators that must all hold. */
function desugar(piece: string): Comparator[] | undefined {
  const m = /^(<=|>=|<|>|=|~>?|\^)?(.*)$/.exec(piece)!;
  const op = m[1] ?? '';
  const parts = parsePartial(m[2]!);
  if (!parts) return undefined;
  const full = parts.length === 3;
  switch (op) {
    case '':
    case '=':
      if (parts.length === 0) return [];
      return full
        ? [{ op: '=', version: fill(parts) }]
        : [
            { op: '>=', version: fill(parts) },
            { op: '<', version: next(parts) },
          ];
    case '>':
      if (parts.length === 0) return NOTHING;
      return full ? [{ op: '>', version: fill(parts) }] : [{ op: '>=', version: next(parts) }];
    case '>=':
      return [{ op: '>=', version: fill(parts) }];
    case '<':
      return parts.length === 0 ? NOTHING : [{ op: '<', version: fill(parts) }];
    case '<=':
      if (parts.length === 0) return [];
      return full ? [{ op: '<=', version: fill(parts) }] : [{ op: '<', version: next(parts) }];
    case '~':
    case '~>':
      if (parts.length === 0) return [];
      return [
        { op: '>=', version: fill(parts) },
        { op: '<', version: next(parts.slice(0, Math.min(parts.length, 2))) },
      ];
    case '^': {
      if (parts.length === 0) return [];
      // The upper bound moves the left-most non-zero part (or the last one given).
      const nonZero = parts.findIndex((p) => p !== 0);
      const keep = nonZero === -1 ? parts.length : nonZero + 1;
      return [
        { op: '>=', version: fill(parts) },
        { op: '<', version: next(parts.slice(0, keep)) },
      ];
    }
    default:
      return undefined;
  }
}

/** One `||` alternative: a hyphen range or comparators joined by spaces. */
function parseAlternative(text: string): Comparator[] | undefined {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const low = parsePartial(hyphen[1]!);
    const high = parsePartial(hyphen[2]!);
    if (!low || !high) return undefined;
    const upper: Comparator[] =
      high.length === 0 ? [] : high.length === 3 ? [{ op: '<=', version: fill(high) }] : [{ op: '<', version: next(high) }];
    return [{ op: '>=', version: fill(low) }, ...upper];
  }
  const pieces = text
    .replace(/(<=|>=|<|>|=|~>?|\^)\s+/g, '$1')
    .split(/\s+/)
    .filter(Boolean);
  const comparators: Comparator[] = [];
  for (const piece of pieces) {
    const c = desugar(piece);
    if (!c) return undefined;
    comparators.push(...c);
  }
  return comparators;
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function holds(version: Triple, c: Comparator): boolean {
  const d = compare(version, c.version);
  return c.op === '>=' ? d >= 0 : c.op === '>' ? d > 0 : c.op === '<' ? d < 0 : c.op === '<=' ? d <= 0 : d === 0;
}

const RELEASE = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})$/;

export function parseRelease(text: string): Triple | undefined {
  const m = RELEASE.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether `version` (a release, `22.1.0`) is in `range`; undefined when either cannot be read. */
export function satisfies(version: string, range: string): boolean | undefined {
  const v = parseRelease(version);
  if (!v || range.length > 256) return undefined;
  const alternatives = range.trim() === '' ? [''] : range.split('||');
  let readable = true;
  for (const alternative of alternatives) {
    const comparators = parseAlternative(alternative.trim());
    if (!comparators) {
      readable = false;
      continue;
    }
    if (comparators.every((c) => holds(v, c))) return true;
  }
  return readable ? false : undefined;
}

/**
 * The Node.js release to give the agent: among `available` (the registry's builds), those in
 * every range; of them the oldest major line that qualifies, preferring even majors (the LTS
 * lines; odd ones are short-lived), and its newest release. Undefined when none qualifies.
 */
export function pickNodeRelease(available: readonly string[], ranges: readonly string[]): string | undefined {
  const fitting = available
    .map((text) => ({ text, v: parseRelease(text) }))
    .filter((x): x is { text: string; v: Triple } => x.v !== undefined && ranges.every((r) => satisfies(x.text, r) === true));
  const even = fitting.filter((x) => x.v[0] % 2 === 0);
  const pool = even.length > 0 ? even : fitting;
  if (pool.length === 0) return undefined;
  const major = Math.min(...pool.map((x) => x.v[0]));
  const line = pool.filter((x) => x.v[0] === major).sort((a, b) => compare(b.v, a.v));
  return `${line[0]!.v.join('.')}`;
}
