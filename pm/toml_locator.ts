// Finds the source line of a key in a TOML document, so schema errors can say `Vox.toml:14: deploy.copy[1].mode`.
// TOML parsers return plain values without positions; this is a small line scanner that understands what our
// files use: table headers `[a.b]`, array tables `[[a.b]]` (counted, so the second is `a.b[1]`), dotted keys,
// `key = value` lines, values spanning lines (arrays, inline tables, multi-line strings) and array elements.

/** A path to a value: table and key names, and array indexes. */
export type KeyPath = ReadonlyArray<string | number>;

/** Answers "on which line is this key?" for one document. */
export interface TomlKeyLocator {
  /** The 1-based line of `path`, else of its nearest enclosing key or table header, else undefined. */
  lineOf(path: KeyPath): number | undefined;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * The display form of a key path: `deploy.copy[1].mode`, with keys that are not bare quoted (`labels."a.b"`).
 *
 * @example
 * ```ts
 * formatKeyPath(["deploy", "copy", 1, "mode"]); // "deploy.copy[1].mode"
 * ```
 */
export function formatKeyPath(path: KeyPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += `${text === "" ? "" : "."}${BARE_KEY.test(segment) ? segment : JSON.stringify(segment)}`;
  }
  return text;
}

/**
 * Scans `text` once and returns a locator for its keys. Malformed input never throws: lines the scanner does not
 * understand are skipped, and the parser reports the syntax error itself.
 *
 * @example
 * ```ts
 * const locator = locateTomlKeys('[deploy]\n\n[[deploy.copy]]\nfrom = "a"\n\n[[deploy.copy]]\nmode = "x"\n');
 * locator.lineOf(["deploy", "copy", 1, "mode"]); // 7
 * locator.lineOf(["deploy", "copy", 1, "to"]); // 6 (the header of that table)
 * ```
 */
export function locateTomlKeys(text: string): TomlKeyLocator {
  const lines = new Map<string, number>();
  const remember = (path: KeyPath, line: number) => {
    const key = formatKeyPath(path);
    if (!lines.has(key)) lines.set(key, line);
  };
  const arrayTableCounts = new Map<string, number>();
  let table: KeyPath = [];
  let value: ValueScan | undefined;

  const sourceLines = text.split(/\r?\n/);
  for (let index = 0; index < sourceLines.length; index++) {
    const lineNumber = index + 1;
    const line = sourceLines[index]!;
    if (value && !value.done) {
      scanValue(line, 0, value, lineNumber, remember);
      continue;
    }
    const start = skipSpaces(line, 0);
    if (start >= line.length || line[start] === "#") continue;
    if (line[start] === "[") {
      const isArrayTable = line[start + 1] === "[";
      const header = readDottedKey(line, start + (isArrayTable ? 2 : 1));
      if (!header) continue;
      table = resolveHeader(header.keys, isArrayTable, arrayTableCounts);
      if (isArrayTable) remember(table.slice(0, -1), lineNumber);
      remember(table, lineNumber);
      continue;
    }
    const key = readDottedKey(line, start);
    if (!key || line[key.end] !== "=") continue;
    const path = [...table, ...key.keys];
    for (let depth = table.length + 1; depth <= path.length; depth++) remember(path.slice(0, depth), lineNumber);
    value = { path, depth: 0, closers: [], element: 0, elementSeen: false, string: undefined, done: false };
    scanValue(line, key.end + 1, value, lineNumber, remember);
  }
  return {
    lineOf(path) {
      for (let length = path.length; length > 0; length--) {
        const line = lines.get(formatKeyPath(path.slice(0, length)));
        if (line !== undefined) return line;
      }
      return undefined;
    },
  };
}

/** Turns a header's keys into a path, inserting the current index of every enclosing array table. */
function resolveHeader(keys: string[], isArrayTable: boolean, counts: Map<string, number>): KeyPath {
  const path: Array<string | number> = [];
  keys.forEach((key, i) => {
    path.push(key);
    const name = formatKeyPath(path);
    if (isArrayTable && i === keys.length - 1) {
      const next = counts.get(name) ?? 0;
      counts.set(name, next + 1);
      path.push(next);
    } else if (counts.has(name)) {
      path.push(counts.get(name)! - 1);
    }
  });
  return path;
}

/** State of a value being scanned, which may continue over several lines. */
interface ValueScan {
  path: KeyPath;
  depth: number;
  /** The closing bracket of every open array or inline table, innermost last. */
  closers: string[];
  /** Index of the current element of a top-level array value. */
  element: number;
  elementSeen: boolean;
  /** The delimiter of an open multi-line string. */
  string: string | undefined;
  done: boolean;
}

function scanValue(line: string, from: number, scan: ValueScan, lineNumber: number, remember: (path: KeyPath, line: number) => void): void {
  let i = from;
  while (i < line.length) {
    if (scan.string) {
      const close = line.indexOf(scan.string, i);
      if (close < 0) return;
      i = close + 3;
      scan.string = undefined;
      continue;
    }
    const c = line[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === "#") break;
    const inTopArray = scan.depth === 1 && scan.closers[0] === "]";
    if (inTopArray && c !== "," && c !== "]" && !scan.elementSeen) {
      remember([...scan.path, scan.element], lineNumber);
      scan.elementSeen = true;
    }
    if (c === '"' || c === "'") {
      if (line.startsWith(c.repeat(3), i)) {
        scan.string = c.repeat(3);
        i += 3;
      } else {
        i = endOfString(line, i);
      }
    } else if (c === "[" || c === "{") {
      scan.closers.push(c === "[" ? "]" : "}");
      scan.depth++;
      i++;
    } else if (c === "]" || c === "}") {
      scan.closers.pop();
      scan.depth = Math.max(0, scan.depth - 1);
      i++;
    } else {
      if (c === "," && inTopArray) {
        scan.element++;
        scan.elementSeen = false;
      }
      i++;
    }
  }
  if (scan.depth === 0 && !scan.string) scan.done = true;
}

/** Index just past a one-line basic or literal string starting at `start`. */
function endOfString(line: string, start: number): number {
  const quote = line[start]!;
  for (let i = start + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === "\\") i++;
    else if (line[i] === quote) return i + 1;
  }
  return line.length;
}

/** Reads `a."b c".d` up to `=` or `]`; returns the keys and the index of that delimiter. */
function readDottedKey(line: string, from: number): { keys: string[]; end: number } | undefined {
  const keys: string[] = [];
  let i = skipSpaces(line, from);
  for (;;) {
    const c = line[i];
    if (c === '"' || c === "'") {
      const end = endOfString(line, i);
      const raw = line.slice(i, end);
      keys.push(c === "'" ? raw.slice(1, -1) : decodeBasicString(raw));
      i = end;
    } else {
      let end = i;
      while (end < line.length && /[A-Za-z0-9_-]/.test(line[end]!)) end++;
      if (end === i) return undefined;
      keys.push(line.slice(i, end));
      i = end;
    }
    i = skipSpaces(line, i);
    if (line[i] !== ".") return { keys, end: i };
    i = skipSpaces(line, i + 1);
  }
}

function decodeBasicString(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

function skipSpaces(line: string, from: number): number {
  let i = from;
  while (line[i] === " " || line[i] === "\t") i++;
  return i;
}
