// A format-preserving update of a TOML text: given the data the text stood for (`before`) and
// the data it must stand for (`after`), change only the lines of keys and tables that differ.
// Comments, blank lines, key order, quoting and keys neither side knows about (unknown keys
// the model did not carry, e.g. inside mount tables) stay exactly as the human wrote them.
//
// The text is cut into sections (the root, then one per `[table]` / `[[array]]` header), each
// holding its lines as entries (a key = value, possibly over several lines, or a comment or blank
// line). A section gets an address from its header and the array elements before it
// ("agents[2].mounts[0]"), which is how a table of the data finds its lines. smol-toml decides
// where a value ends (the shortest run of lines that parses), so multi-line values are handled
// by the same parser that reads the file.
//
// When the text has a shape this editor does not handle (dotted keys, inline tables being
// turned into sections, implicit parent tables) `editToml` returns undefined and the caller
// writes the whole file anew.
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'smol-toml';

type Table = Record<string, unknown>;

const isTable = (value: unknown): value is Table =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
const isArrayOfTables = (value: unknown): value is Table[] => Array.isArray(value) && value.length > 0 && value.every(isTable);

interface Entry {
  lines: string[];
  /** The key of a `key = value` entry; undefined for comments and blank lines. */
  key?: string;
  /** False for dotted keys (`a.b = 1`), which this editor does not rewrite. */
  simple?: boolean;
}

interface Section {
  /** "" for the root, else e.g. "agents[1].net". */
  address: string;
  /** Comment lines right above the header: they go with the section when it is removed. */
  lead: string[];
  header?: string;
  entries: Entry[];
}

class Unsupported extends Error {}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const formatKey = (key: string): string => (BARE_KEY.test(key) ? key : JSON.stringify(key));

/** The value as TOML text on one line (inline tables and arrays included). */
function formatValue(value: unknown): string {
  if (isTable(value))
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${formatKey(k)} = ${formatValue(v)}`)
      .join(', ')} }`;
  if (Array.isArray(value) && value.some((v) => isTable(v) || Array.isArray(v))) return `[ ${value.map(formatValue).join(', ')} ]`;
  return stringify({ v: value }).replace(/^v = /, '').trimEnd();
}

const keyLine = (key: string, value: unknown): string => `${formatKey(key)} = ${formatValue(value)}`;

/** The path of a header line: `[[agents.mounts]]` -> { path: ['agents','mounts'], array: true }. */
function headerPath(line: string): { path: string[]; array: boolean } {
  let node: unknown = parse(line);
  const path: string[] = [];
  for (;;) {
    if (Array.isArray(node)) return { path, array: true };
    if (!isTable(node)) throw new Unsupported('header');
    const keys = Object.keys(node);
    if (keys.length === 0) return { path, array: false };
    if (keys.length !== 1) throw new Unsupported('header');
    path.push(keys[0]!);
    node = node[keys[0]!];
  }
}

const SIMPLE_KEY = /^\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')\s*=/;

function splitSections(text: string): Section[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const root: Section = { address: '', lead: [], entries: [] };
  const sections: Section[] = [root];
  // For each array path (with its parent's address), how many elements were seen so far.
  const counts = new Map<string, number>();
  // The address of the latest element of each array path, to resolve nested headers.
  const latest = new Map<string, string>();
  const addressOf = (path: string[], array: boolean): string => {
    let address = '';
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const base = address === '' ? key : `${address}.${key}`;
      const last = i === path.length - 1;
      if (last && array) {
        const n = counts.get(base) ?? 0;
        counts.set(base, n + 1);
        address = `${base}[${n}]`;
        latest.set(base, address);
      } else {
        address = latest.get(base) ?? base;
      }
    }
    return address;
  };
  let current = root;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      current.entries.push({ lines: [line] });
      continue;
    }
    if (trimmed.startsWith('[')) {
      const { path, array } = headerPath(line);
      const lead: string[] = [];
      while (current.entries.length > 0) {
        const last = current.entries.at(-1)!;
        if (last.key !== undefined || !last.lines[0]!.trim().startsWith('#')) break;
        lead.unshift(...last.lines);
        current.entries.pop();
      }
      current = { address: addressOf(path, array), lead, header: line, entries: [] };
      sections.push(current);
      continue;
    }
    let end = i;
    let value: Table | undefined;
    for (; end < lines.length; end++) {
      try {
        value = parse(lines.slice(i, end + 1).join('\n'));
        break;
      } catch {
        // the value goes on over the next line
      }
    }
    if (!value) throw new Unsupported('value');
    const keys = Object.keys(value);
    if (keys.length !== 1) throw new Unsupported('value');
    current.entries.push({ lines: lines.slice(i, end + 1), key: keys[0]!, simple: SIMPLE_KEY.test(line) });
    i = end;
  }
  return sections;
}

class Document {
  constructor(private sections: Section[]) {}

  text(): string {
    const lines = this.sections.flatMap((s) => [
      ...s.lead,
      ...(s.header === undefined ? [] : [s.header]),
      ...s.entries.flatMap((e) => e.lines),
    ]);
    while (lines.length > 0 && lines[0] === '') lines.shift();
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  section(address: string): Section | undefined {
    return this.sections.find((s) => s.address === address);
  }

  /** Index of the last section of the table at address and everything under it. */
  private regionEnd(address: string): number {
    let end = -1;
    this.sections.forEach((s, i) => {
      if (address === '' || s.address === address || s.address.startsWith(`${address}.`) || s.address.startsWith(`${address}[`)) end = i;
    });
    return end;
  }

  elements(arrayAddress: string): string[] {
    const pattern = new RegExp(`^${arrayAddress.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[\\d+\\]$`);
    return this.sections.filter((s) => pattern.test(s.address)).map((s) => s.address);
  }

  removeRegion(address: string): void {
    this.sections = this.sections.filter((s) => !(s.address === address || s.address.startsWith(`${address}.`)));
  }

  /** Puts new sections after the table at `parent` and its subtables (or after `after` if given). */
  insertAfter(regionOf: string, fresh: Section[]): void {
    const end = this.regionEnd(regionOf);
    this.sections.splice(end < 0 ? this.sections.length : end + 1, 0, ...fresh);
  }
}

let freshCounter = 0;

/** Sections for a table that is not in the text yet. */
function sectionsFor(headerKeys: string[], array: boolean, value: Table, address: string): Section[] {
  const name = headerKeys.map(formatKey).join('.');
  const head: Section = {
    address,
    lead: headerKeys.length === 1 ? [''] : [],
    header: array ? `[[${name}]]` : `[${name}]`,
    entries: [],
  };
  const rest: Section[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (isTable(child)) rest.push(...sectionsFor([...headerKeys, key], false, child, `${address}.${key}`));
    else if (isArrayOfTables(child)) {
      for (const element of child)
        rest.push(...sectionsFor([...headerKeys, key], true, element, `${address}.${key}[new${freshCounter++}]`));
    } else head.entries.push({ lines: [keyLine(key, child)], key, simple: true });
  }
  return [head, ...rest];
}

/** Which element of `before` each element of `after` continues (same user_name / target / source). */
function identity(element: Table, index: number): string {
  for (const key of ['user_name', 'target', 'source']) if (typeof element[key] === 'string') return `${key}:${element[key]}`;
  return `#${index}`;
}

class Editor {
  constructor(private readonly doc: Document) {}

  editTable(address: string, headerKeys: string[], before: Table, after: Table): void {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const old = before[key];
      const now = after[key];
      if (isDeepStrictEqual(old, now)) continue;
      const childAddress = address === '' ? key : `${address}.${key}`;
      if (isArrayOfTables(now) || (isArrayOfTables(old) && (now === undefined || (Array.isArray(now) && now.length === 0)))) {
        this.removeKeyLine(address, key);
        this.editArray(address, childAddress, [...headerKeys, key], isArrayOfTables(old) ? old : [], isArrayOfTables(now) ? now : []);
      } else if (isTable(now) && (isTable(old) || old === undefined) && !this.hasKeyLine(address, key)) {
        if (this.doc.section(childAddress)) this.editTable(childAddress, [...headerKeys, key], isTable(old) ? old : {}, now);
        else if (old === undefined && this.doc.elements(childAddress).length === 0) {
          this.doc.insertAfter(address, sectionsFor([...headerKeys, key], false, now, childAddress));
        } else throw new Unsupported('implicit table');
      } else if (now === undefined) {
        if (isTable(old) && !this.hasKeyLine(address, key)) this.doc.removeRegion(childAddress);
        else this.removeKeyLine(address, key);
      } else {
        if (isTable(old) && this.doc.section(childAddress)) this.doc.removeRegion(childAddress);
        this.setKeyLine(address, key, now);
      }
    }
  }

  private editArray(parentAddress: string, address: string, headerKeys: string[], before: Table[], after: Table[]): void {
    const existing = this.doc.elements(address);
    if (existing.length !== before.length) throw new Unsupported('array');
    const unmatched = new Map<string, number[]>();
    before.forEach((element, i) => {
      const id = identity(element, i);
      unmatched.set(id, [...(unmatched.get(id) ?? []), i]);
    });
    const kept = new Set<number>();
    let lastAddress = existing.at(-1) ?? parentAddress;
    after.forEach((element, i) => {
      const candidates = unmatched.get(identity(element, i));
      const match = candidates?.shift();
      if (match !== undefined) {
        kept.add(match);
        this.editTable(existing[match]!, headerKeys, before[match]!, element);
        return;
      }
      const fresh = `${address}[new${freshCounter++}]`;
      this.doc.insertAfter(lastAddress, sectionsFor(headerKeys, true, element, fresh));
      lastAddress = fresh;
    });
    before.forEach((_, i) => {
      if (!kept.has(i)) this.doc.removeRegion(existing[i]!);
    });
  }

  private entryOf(address: string, key: string): { section: Section; index: number } | undefined {
    const section = this.doc.section(address);
    if (!section) return undefined;
    const index = section.entries.findIndex((e) => e.key === key);
    if (index < 0) return undefined;
    if (!section.entries[index]!.simple) throw new Unsupported('dotted key');
    return { section, index };
  }

  private hasKeyLine(address: string, key: string): boolean {
    return this.entryOf(address, key) !== undefined;
  }

  private removeKeyLine(address: string, key: string): void {
    const found = this.entryOf(address, key);
    if (found) found.section.entries.splice(found.index, 1);
  }

  private setKeyLine(address: string, key: string, value: unknown): void {
    const found = this.entryOf(address, key);
    if (found) {
      const entry = found.section.entries[found.index]!;
      const indent = /^\s*/.exec(entry.lines[0]!)![0];
      entry.lines = [`${indent}${keyLine(key, value)}`];
      return;
    }
    const section = this.doc.section(address);
    if (!section) throw new Unsupported('implicit table');
    let at = section.entries.length;
    let lastKey = -1;
    section.entries.forEach((e, i) => {
      if (e.key !== undefined) lastKey = i;
    });
    if (lastKey >= 0) at = lastKey + 1;
    else if (section.header !== undefined) at = 0;
    section.entries.splice(at, 0, { lines: [keyLine(key, value)], key, simple: true });
  }
}

/**
 * The text updated from `before` to `after`, keeping everything else; undefined when the text's
 * shape is beyond this editor (the caller then writes the file anew).
 */
export function editToml(text: string, before: Table, after: Table): string | undefined {
  try {
    const doc = new Document(splitSections(text));
    new Editor(doc).editTable('', [], before, after);
    return doc.text();
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
