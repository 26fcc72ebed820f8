import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { isRecord, looksBinary, peek } from "./io.js";
import { resolveInsideRun } from "./specEngineSafety.js";
import type { RunFiles } from "./types.js";

/**
 * The structural signature of a run: the shape of its file tree, the key paths of its JSON, the
 * shapes of its text lines. Two runs of one format share most of it whatever they say, so it picks
 * the extractor of the most similar known format (and its text form is what the vector memory's
 * `fingerprints` namespace indexes).
 */
export interface FormatFingerprint {
  /** File paths with numbers and ids folded; only the extension for a single-file run (its name is arbitrary). */
  files: string[];
  /** JSON key paths (array indices as `*`), plus `path=value` for short discriminator values (`/type=tool_use`). */
  keys: string[];
  /** Shapes of the most common text lines (letters → a, digits → 9). */
  lines: string[];
}

/** Below this similarity a registered spec is not trusted for a run. */
export const FINGERPRINT_MATCH_THRESHOLD = 0.55;

const MAX_FILES_LISTED = 200;
const MAX_FILES_SAMPLED = 8;
const MAX_JSON_BYTES = 8 * 1024 * 1024;
const MAX_LINES_SAMPLED = 300;
const MAX_KEYS = 400;
const MAX_DEPTH = 7;
/** How much each part counts; a part absent from both runs does not count. */
const WEIGHTS = { keys: 0.6, files: 0.25, lines: 0.15 } as const;

/** Numbers, hashes and uuids vary between runs of one format; the rest of a path is its shape. */
export function foldName(name: string): string {
  return name
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "U")
    .replace(/\b[0-9a-f]{12,}\b/gi, "H")
    .replace(/\d+/g, "N");
}

function extension(file: string): string {
  const base = file.slice(file.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot) : "";
}

export async function fingerprintRun(run: RunFiles): Promise<FormatFingerprint> {
  const files = run.isFile ? [`*${extension(run.files[0] ?? "")}`] : [...new Set(run.files.slice(0, MAX_FILES_LISTED * 5).map(foldName))].sort().slice(0, MAX_FILES_LISTED);
  const keys = new Set<string>();
  const lineShapes = new Map<string, number>();
  for (const file of await sampledFiles(run)) {
    try {
      await sampleFile(run, file, keys, lineShapes);
    } catch {
      // An unreadable file has no shape to contribute; the extractor will report it properly.
    }
  }
  const lines = [...lineShapes.entries()].filter(([, count]) => count >= 2).sort((a, b) => b[1] - a[1]).slice(0, 30).map(([shape]) => shape).sort();
  return { files, keys: [...keys].sort().slice(0, MAX_KEYS), lines };
}

/** The largest files first (the log is usually the biggest file of a run), a few of them. */
async function sampledFiles(run: RunFiles): Promise<string[]> {
  const sized: Array<{ file: string; size: number }> = [];
  for (const file of run.files.slice(0, MAX_FILES_LISTED)) {
    const size = await stat(`${run.root}/${file}`).then((info) => info.size).catch(() => 0);
    if (size > 0) sized.push({ file, size });
  }
  return sized.sort((a, b) => b.size - a.size || a.file.localeCompare(b.file)).slice(0, MAX_FILES_SAMPLED).map(({ file }) => file);
}

async function sampleFile(run: RunFiles, file: string, keys: Set<string>, lineShapes: Map<string, number>): Promise<void> {
  const absolute = await resolveInsideRun(run.root, file);
  const head = await peek(absolute, 4096);
  if (looksBinary(head)) return;
  const start = head.toString("utf8").trimStart()[0];
  const { size } = await stat(absolute);
  if ((start === "{" || start === "[") && size <= MAX_JSON_BYTES) {
    const text = await readFile(absolute, "utf8");
    try {
      addKeyPaths(JSON.parse(text), "", keys, 0);
      return;
    } catch {
      // Not one JSON document: maybe JSON lines; read it line by line below.
    }
  }
  let count = 0;
  for await (const line of createInterface({ input: createReadStream(absolute, { encoding: "utf8", end: 4 * 1024 * 1024 }), crlfDelay: Infinity })) {
    if (line.trim() === "") continue;
    if (++count > MAX_LINES_SAMPLED) break;
    const parsed = jsonLine(line);
    if (parsed !== undefined) addKeyPaths(parsed, "", keys, 0);
    else {
      const shape = lineShape(line);
      lineShapes.set(shape, (lineShapes.get(shape) ?? 0) + 1);
    }
  }
}

function jsonLine(line: string): unknown {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

/** Short identifier-like strings are discriminators (`type`, `role`): their values are part of the shape. */
const DISCRIMINATOR_VALUE = /^[A-Za-z][A-Za-z0-9_.:-]{0,31}$/;

function addKeyPaths(value: unknown, at: string, keys: Set<string>, depth: number): void {
  if (keys.size >= MAX_KEYS * 2 || depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value.slice(0, 50)) addKeyPaths(item, `${at}/*`, keys, depth + 1);
    return;
  }
  if (!isRecord(value)) {
    if (typeof value === "string" && at !== "" && DISCRIMINATOR_VALUE.test(value) && /\/(type|role|source|kind|event|speaker|sender|object|subtype)$/.test(at)) keys.add(`${at}=${value}`);
    return;
  }
  for (const key of Object.keys(value).slice(0, 60)) {
    const path = `${at}/${foldName(key)}`;
    keys.add(path);
    addKeyPaths(value[key], path, keys, depth + 1);
  }
}

/** The shape of a text line: what kind of line it is, not what it says. */
export function lineShape(line: string): string {
  return line
    .slice(0, 24)
    .replace(/[A-Za-z]+/g, "a")
    .replace(/\d+/g, "9")
    .replace(/\s+/g, "_");
}

function jaccard(a: string[], b: string[]): number | undefined {
  if (a.length === 0 && b.length === 0) return undefined;
  const left = new Set(a);
  const right = new Set(b);
  let shared = 0;
  for (const item of left) if (right.has(item)) shared += 1;
  return shared / (left.size + right.size - shared);
}

/** 0..1: weighted Jaccard similarity of the parts both fingerprints have. */
export function fingerprintSimilarity(a: FormatFingerprint, b: FormatFingerprint): number {
  let total = 0;
  let weight = 0;
  for (const part of ["keys", "files", "lines"] as const) {
    const similarity = jaccard(a[part], b[part]);
    if (similarity === undefined) continue;
    total += WEIGHTS[part] * similarity;
    weight += WEIGHTS[part];
  }
  return weight === 0 ? 0 : total / weight;
}

/** The text form: one feature per line, prefixed by its part, so it embeds well and parses back exactly. */
export function fingerprintText(fingerprint: FormatFingerprint): string {
  return [...fingerprint.files.map((file) => `file ${file}`), ...fingerprint.keys.map((key) => `key ${key}`), ...fingerprint.lines.map((line) => `line ${line}`)].join("\n");
}

export function parseFingerprintText(text: string): FormatFingerprint {
  const fingerprint: FormatFingerprint = { files: [], keys: [], lines: [] };
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    const part = line.slice(0, space);
    const value = line.slice(space + 1);
    if (part === "file") fingerprint.files.push(value);
    else if (part === "key") fingerprint.keys.push(value);
    else if (part === "line") fingerprint.lines.push(value);
  }
  return fingerprint;
}
