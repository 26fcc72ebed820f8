import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import picomatch from "picomatch";
import { RunError, errorMessage } from "../schema/errors.js";
import { pointerFrom, pointerSegments, type Stream } from "../schema/extractorSpec.js";
import type { SourceRef } from "../schema/step.js";
import { isRecord, looksBinary, MAX_WHOLE_JSON_BYTES, type WarningLog } from "./io.js";
import { boundedExec, resolveInsideRun } from "./specEngineSafety.js";
import type { RunFiles } from "./types.js";
import { at } from "./specEngineValues.js";

/** One record as the rules see it, with the exact place it came from. */
export interface Unit {
  value: unknown;
  /** The record this one was exploded from (content blocks → their message). */
  parent?: unknown;
  /** The whole decoded JSON document (for `from: "document"` paths). */
  document?: unknown;
  source: SourceRef;
}

/** A stream never yields more records than this unless the spec says otherwise: bounded work on hostile input. */
export const DEFAULT_MAX_RECORDS = 200_000;

function globs(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

/** The run files a stream reads, in natural order (`events/2.json` before `events/10.json`). */
export function streamFiles(stream: Stream, run: RunFiles): string[] {
  const include = picomatch(globs(stream.files), { dot: true });
  const exclude = stream.exclude ? picomatch(stream.exclude, { dot: true }) : () => false;
  return run.files.filter((file) => include(file) && !exclude(file)).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

export function matchesAnyFile(glob: string, run: RunFiles): boolean {
  const match = picomatch(glob, { dot: true });
  return run.files.some((file) => match(file));
}

/** Every record of a stream, exploded and in order. Files that cannot be read raise a RunError. */
export async function* streamUnits(stream: Stream, run: RunFiles, warnings: WarningLog, maxRecords = DEFAULT_MAX_RECORDS): AsyncGenerator<Unit> {
  let count = 0;
  for (const file of streamFiles(stream, run)) {
    for await (const unit of fileUnits(stream, run, file, warnings)) {
      for (const exploded of explode(stream, unit)) {
        count += 1;
        if (count > maxRecords) {
          warnings.add(exploded.source, `more than ${maxRecords} records; the rest were not read`);
          return;
        }
        yield exploded;
      }
    }
  }
}

async function* fileUnits(stream: Stream, run: RunFiles, file: string, warnings: WarningLog): AsyncGenerator<Unit> {
  const absolute = await resolveInsideRun(run.root, file);
  if (stream.decode === "json") {
    const document = await readJsonDocument(absolute, file);
    for (const { pointer, value } of recordsAt(document, stream.records ?? "")) yield { value, document, source: { path: file, pointer } };
    return;
  }
  for await (const { line, text } of readLines(absolute)) {
    if (stream.decode === "lines") {
      const match = stream.line_pattern === undefined ? null : regexMatch(stream.line_pattern, text);
      if (match) yield { value: { ...(match.groups ?? {}), _text: text }, source: { path: file, line } };
      continue;
    }
    if (stream.decode === "json_in_text" && stream.line_pattern !== undefined && !regexMatch(stream.line_pattern, text)) continue;
    const value = stream.decode === "jsonl" ? parseLine(text, { path: file, line }, warnings) : embeddedJson(text);
    if (value === undefined) continue;
    if (stream.records === undefined) {
      yield { value, source: { path: file, line } };
      continue;
    }
    for (const record of recordsAt(value, stream.records)) yield { value: record.value, document: value, source: { path: file, line, pointer: record.pointer } };
  }
}

function regexMatch(regex: NonNullable<Stream["line_pattern"]>, text: string): RegExpExecArray | null {
  return typeof regex === "string" ? boundedExec(regex, "", text) : boundedExec(regex.pattern, regex.flags ?? "", text);
}

async function readJsonDocument(absolute: string, file: string): Promise<unknown> {
  const { size } = await stat(absolute);
  if (size > MAX_WHOLE_JSON_BYTES) throw new RunError(`${file} is ${size} bytes, too large to parse as one JSON document`);
  const buffer = await readFile(absolute);
  if (looksBinary(buffer.subarray(0, 8192))) throw new RunError(`${file} is a binary file, not JSON`);
  try {
    return JSON.parse(buffer.toString("utf8").replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new RunError(`${file} is not valid JSON (truncated or corrupt?): ${errorMessage(err)}`);
  }
}

/** Lines of a text file, 1-based, read incrementally so a huge log stays in bounded memory. */
async function* readLines(absolute: string): AsyncGenerator<{ line: number; text: string }> {
  const lines = createInterface({ input: createReadStream(absolute, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (text.trim() !== "") yield { line, text };
  }
}

function parseLine(text: string, source: SourceRef, warnings: WarningLog): unknown {
  try {
    return JSON.parse(text);
  } catch {
    warnings.add(source, "line is not valid JSON");
    return undefined;
  }
}

/** A JSON object embedded in a text line, from its first `{`; plain text lines are not an error. */
function embeddedJson(text: string): unknown {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(start).trimEnd());
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The records under a pointer, each with its concrete pointer. The pointer names containers
 * (`*` fans out); an array container contributes its elements, any other value is one record.
 */
export function recordsAt(document: unknown, pointer: string): Array<{ pointer: string; value: unknown }> {
  const containers: Array<{ path: Array<string | number>; value: unknown }> = [];
  collect(document, pointerSegments(pointer), 0, [], containers);
  return containers.flatMap(({ path, value }) => {
    if (Array.isArray(value)) return value.map((item, index) => ({ pointer: pointerFrom([...path, index]), value: item }));
    return value === undefined ? [] : [{ pointer: pointerFrom(path), value }];
  });
}

function collect(value: unknown, segments: string[], index: number, path: Array<string | number>, out: Array<{ path: Array<string | number>; value: unknown }>): void {
  if (value === undefined) return;
  if (index === segments.length) {
    out.push({ path, value });
    return;
  }
  const segment = segments[index]!;
  if (segment === "*") {
    if (Array.isArray(value)) value.forEach((item, position) => collect(item, segments, index + 1, [...path, position], out));
    else if (isRecord(value)) for (const key of Object.keys(value)) collect(value[key], segments, index + 1, [...path, key], out);
    return;
  }
  collect(at(value, pointerFrom([segment])), segments, index + 1, [...path, segment], out);
}

/** Replace a record by the elements of one of its arrays; a record without that field stays as it is. */
function explode(stream: Stream, unit: Unit): Unit[] {
  if (!stream.explode) return [unit];
  const { path, source = "child" } = stream.explode;
  const inner = at(unit.value, path);
  if (inner === undefined || inner === null) return [unit];
  if (!Array.isArray(inner)) return [{ ...unit, value: inner, parent: unit.value }];
  return inner.map((value, index) => ({
    value,
    parent: unit.value,
    document: unit.document,
    source: source === "parent" ? unit.source : { ...unit.source, pointer: `${unit.source.pointer ?? ""}${path}/${index}` },
  }));
}
