import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline, type Duplex, type Readable } from "node:stream";
import parser from "stream-json/parser.js";
import pick from "stream-json/filters/pick.js";
import streamArray from "stream-json/streamers/stream-array.js";
import streamValues from "stream-json/streamers/stream-values.js";
import { RunError, errorMessage } from "../schema/errors.js";
import { pointerFrom, pointerSegments as specPointerSegments } from "../schema/extractorSpec.js";
import { absolute, readJsonFile } from "./io.js";
import type { RunFiles } from "./types.js";

/**
 * Documents above this size are never parsed whole: their arrays are streamed element by element,
 * so a 100 MB event log costs the memory of one event at a time (plus the steps made from it).
 */
export const STREAM_ABOVE_BYTES = 16 * 1024 * 1024;

/** The threshold in force: `CODETRACER_STREAM_ABOVE_BYTES` lowers it on small machines (and lets tests force streaming). */
export function streamThreshold(): number {
  const configured = Number.parseInt(process.env.CODETRACER_STREAM_ABOVE_BYTES ?? "", 10);
  return Number.isInteger(configured) && configured >= 0 ? configured : STREAM_ABOVE_BYTES;
}

export interface ArrayItem {
  /** Position in the array, so a step can name its raw record as `<pointer>/<index>`. */
  index: number;
  value: unknown;
}

/** RFC 6901: "/history/3/a~1b" → ["history", "3", "a/b"]. "" is the whole document. */
export function pointerSegments(pointer: string): string[] {
  if (pointer !== "" && !pointer.startsWith("/")) throw new Error(`not a JSON pointer: ${pointer}`);
  return specPointerSegments(pointer);
}

export function pointerOf(...segments: (string | number)[]): string {
  return pointerFrom(segments);
}

/** The token pipeline up to (and including) picking the value at `pointer`. */
function tokensAt(file: string, pointer: string, last: Duplex): Readable {
  const segments = pointerSegments(pointer);
  const stages: (Readable | Duplex)[] = [createReadStream(file), parser.asStream()];
  if (segments.length > 0) {
    const atPointer = (stack: (string | number | null)[]) =>
      stack.length === segments.length && stack.every((key, depth) => String(key) === segments[depth]);
    stages.push(pick.asStream({ filter: atPointer, once: true }));
  }
  stages.push(last);
  // Errors surface through the async iterator of the last stage; the callback only keeps Node quiet.
  return (pipeline as (...streams: unknown[]) => Readable)(...stages, () => undefined);
}

function invalid(file: string, err: unknown): RunError {
  return new RunError(`${file} is not valid JSON (truncated or corrupt?): ${errorMessage(err)}`);
}

/**
 * The elements of the JSON array at `pointer` (default: the top level), one at a time, with bounded
 * memory (stream-json). A missing array yields nothing; a truncated or invalid document throws a RunError.
 */
export async function* streamJsonArray(file: string, pointer = "", label = file): AsyncGenerator<ArrayItem> {
  const stream = tokensAt(file, pointer, streamArray.asStream());
  try {
    for await (const item of stream as AsyncIterable<{ key: number; value: unknown }>) yield { index: item.key, value: item.value };
  } catch (err) {
    throw invalid(label, err);
  } finally {
    stream.destroy();
  }
}

/** The single value at `pointer` (e.g. `/info`), read by streaming; undefined when absent. */
export async function streamJsonValue(file: string, pointer: string, label = file): Promise<unknown> {
  const stream = tokensAt(file, pointer, streamValues.asStream());
  try {
    for await (const item of stream as AsyncIterable<{ value: unknown }>) return item.value;
    return undefined;
  } catch (err) {
    throw invalid(label, err);
  } finally {
    stream.destroy();
  }
}

/** A JSON document of a run: parsed whole when small, streamed when big; the same questions either way. */
export interface JsonDocument {
  streamed: boolean;
  /** Elements of the array at `pointer`; nothing when there is no array there. */
  array(pointer: string): AsyncIterable<ArrayItem>;
  /** The value at `pointer` (keep to small parts like `/info` when the document is big). */
  value(pointer: string): Promise<unknown>;
}

export async function openJsonDocument(run: RunFiles, relative: string, streamAbove = streamThreshold()): Promise<JsonDocument> {
  const file = absolute(run, relative);
  const { size } = await stat(file);
  if (size === 0) throw new RunError(`${relative} is empty`);
  if (size > streamAbove) {
    return {
      streamed: true,
      array: (pointer) => streamJsonArray(file, pointer, relative),
      value: (pointer) => streamJsonValue(file, pointer, relative),
    };
  }
  const whole = await readJsonFile(run, relative);
  return {
    streamed: false,
    array: (pointer) => elementsOf(valueAt(whole, pointer)),
    value: async (pointer) => valueAt(whole, pointer),
  };
}

/** Resolve a JSON pointer inside an already parsed value. */
export function valueAt(document: unknown, pointer: string): unknown {
  let current = document;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (typeof current === "object" && current !== null) current = (current as Record<string, unknown>)[segment];
    else return undefined;
  }
  return current;
}

async function* elementsOf(value: unknown): AsyncGenerator<ArrayItem> {
  if (!Array.isArray(value)) return;
  for (let index = 0; index < value.length; index += 1) yield { index, value: value[index] };
}
