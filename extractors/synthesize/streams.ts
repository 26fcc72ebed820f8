import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pointerFrom } from "../../schema/extractorSpec.js";
import { foldName } from "../fingerprint.js";
import { isRecord, looksBinary, peek } from "../io.js";
import { resolveInsideRun } from "../specEngineSafety.js";
import type { RunFiles } from "../types.js";
import { keyTokens, RECORD_WORDS } from "./vocabulary.js";

/**
 * Where a run's records might be: arrays of objects at any depth of a JSON document, JSON-lines
 * files, and folders of one-JSON-object-per-file (events/1.json, events/2.json…). Each candidate
 * comes with a sample of its records for the field inference.
 */
export interface RecordStream {
  /** The stream's `files` glob (one file, or a pattern for per-file records). */
  files: string;
  decode: "json" | "jsonl";
  /** JSON pointer of the record array (may contain `*`); undefined for JSON lines. */
  records?: string;
  sample: unknown[];
  count: number;
}

const MAX_FILES = 200;
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_PARSE_BYTES = 32 * 1024 * 1024;
export const SAMPLE_SIZE = 300;
const MIN_RECORDS = 2;
const MIN_OBJECT_SHARE = 0.7;
/** An array inside a small array (a few conversations in one file) is searched; inside a big one it is a field. */
const MAX_OUTER_FOR_WILDCARD = 5;
const MAX_STREAMS = 6;

export async function findRecordStreams(run: RunFiles): Promise<RecordStream[]> {
  const streams: RecordStream[] = [];
  const singleObjects: Array<{ file: string; value: Record<string, unknown> }> = [];
  for (const file of run.files.slice(0, MAX_FILES)) {
    try {
      const found = await streamsOfFile(run, file);
      streams.push(...found.streams);
      if (found.object) singleObjects.push({ file, value: found.object });
    } catch {
      // Unreadable or escaping files are not candidates.
    }
  }
  streams.push(...perFileStreams(singleObjects));
  return streams.sort((a, b) => likeness(b) - likeness(a)).slice(0, MAX_STREAMS);
}

async function streamsOfFile(run: RunFiles, file: string): Promise<{ streams: RecordStream[]; object?: Record<string, unknown> }> {
  const absolute = await resolveInsideRun(run.root, file);
  const { size } = await stat(absolute);
  if (size === 0 || size > MAX_FILE_BYTES) return { streams: [] };
  const head = await peek(absolute, 4096);
  if (looksBinary(head)) return { streams: [] };
  const start = head.toString("utf8").replace(/^\uFEFF/, "").trimStart()[0];
  if ((start === "{" || start === "[") && size <= MAX_PARSE_BYTES) {
    const document = parseJson(await readFile(absolute, "utf8"));
    if (document !== undefined) {
      const streams = arrayStreams(document, file);
      return isRecord(document) ? { streams, object: document } : { streams };
    }
  }
  const jsonl = await jsonLinesSample(absolute);
  return jsonl ? { streams: [{ files: file, decode: "jsonl", sample: jsonl.sample, count: jsonl.count }] } : { streams: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    return undefined;
  }
}

function isRecordArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length >= MIN_RECORDS && value.filter(isRecord).length / value.length >= MIN_OBJECT_SHARE;
}

/** Arrays of objects reachable through object keys (and through small arrays, as `*`). */
function arrayStreams(document: unknown, file: string): RecordStream[] {
  const found: RecordStream[] = [];
  const visit = (value: unknown, path: string[], depth: number) => {
    if (depth > 8 || !isRecord(value)) return;
    for (const key of Object.keys(value)) {
      const inner = value[key];
      if (isRecordArray(inner)) found.push(stream(file, pointerFrom([...path, key]), inner));
      else if (Array.isArray(inner) && inner.length <= MAX_OUTER_FOR_WILDCARD) wildcardStreams(inner, [...path, key], file, found);
      else visit(inner, [...path, key], depth + 1);
    }
  };
  if (isRecordArray(document)) found.push(stream(file, "", document));
  else visit(document, [], 0);
  return found;
}

/** `/runs/*\/messages`: the same record array inside each element of a small outer array, read as one stream. */
function wildcardStreams(outer: unknown[], path: string[], file: string, found: RecordStream[]): void {
  const keys = new Set(outer.filter(isRecord).flatMap((element) => Object.keys(element).filter((key) => isRecordArray(element[key]))));
  for (const key of keys) {
    const records = outer.filter(isRecord).flatMap((element) => (Array.isArray(element[key]) ? (element[key] as unknown[]) : []));
    found.push(stream(file, `${pointerFrom(path)}/*${pointerFrom([key])}`, records));
  }
}

function stream(file: string, records: string, values: unknown[]): RecordStream {
  return { files: file, decode: "json", records, sample: values.slice(0, SAMPLE_SIZE), count: values.length };
}

async function jsonLinesSample(absolute: string): Promise<{ sample: unknown[]; count: number } | undefined> {
  const sample: unknown[] = [];
  let lines = 0;
  let objects = 0;
  for await (const line of createInterface({ input: createReadStream(absolute, { encoding: "utf8" }), crlfDelay: Infinity })) {
    if (line.trim() === "") continue;
    lines += 1;
    const value = parseJson(line);
    if (isRecord(value)) {
      objects += 1;
      if (sample.length < SAMPLE_SIZE) sample.push(value);
    }
    if (lines >= SAMPLE_SIZE * 4) break;
  }
  return lines >= MIN_RECORDS && objects / lines >= 0.8 ? { sample, count: objects } : undefined;
}

/** Sibling files whose names differ only by numbers, each one JSON object: one record per file. */
function perFileStreams(objects: Array<{ file: string; value: Record<string, unknown> }>): RecordStream[] {
  const groups = new Map<string, Array<{ file: string; value: Record<string, unknown> }>>();
  for (const entry of objects) {
    if (!/\d/.test(entry.file.slice(entry.file.lastIndexOf("/") + 1))) continue;
    const key = foldName(entry.file);
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()]
    .filter((group) => group.length >= 3)
    .map((group) => {
      const sorted = group.sort((a, b) => a.file.localeCompare(b.file, "en", { numeric: true }));
      const first = sorted[0]!.file;
      const dir = first.slice(0, first.lastIndexOf("/") + 1);
      const base = first.slice(dir.length).replace(/\d+/g, "*");
      return { files: `${dir}${base}`, decode: "json" as const, records: "", sample: sorted.slice(0, SAMPLE_SIZE).map((entry) => entry.value), count: sorted.length };
    });
}

/** How much a stream looks like a log of agent messages: record keys from the vocabulary, and size. */
function likeness(stream: RecordStream): number {
  const records = stream.sample.filter(isRecord);
  if (records.length === 0) return 0;
  const worded = records.filter((record) => Object.keys(record).some((key) => keyTokens(key).some((token) => RECORD_WORDS.has(token)))).length;
  return worded / records.length + Math.log10(stream.count + 1) / 4;
}
