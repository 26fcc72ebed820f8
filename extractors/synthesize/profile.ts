import { pointerFrom } from "../../schema/extractorSpec.js";
import { isRecord } from "../io.js";
import { keyTokens } from "./vocabulary.js";

/**
 * Value statistics of every key path of a set of records (array elements as `*`): how often it is
 * there, what types it holds, how long its text is, which values it takes. Schema induction decides
 * what a field means from these and from its name.
 */
export interface FieldStats {
  path: string;
  segments: string[];
  /** Records that have a value here. */
  present: number;
  strings: number;
  numbers: number;
  booleans: number;
  objects: number;
  arrays: number;
  /** Arrays whose elements are mostly objects (content parts, tool calls). */
  objectArrays: number;
  /** Strings that hold JSON objects or arrays (arguments as text). */
  jsonStrings: number;
  isoDates: number;
  textLength: number;
  maxElements: number;
  values: Map<string, number>;
}

const MAX_DEPTH = 6;
const MAX_DISTINCT = 64;
const ELEMENTS_SAMPLED = 8;

export function profileRecords(records: unknown[]): Map<string, FieldStats> {
  const stats = new Map<string, FieldStats>();
  for (const record of records) {
    const seen = new Set<string>();
    walk(record, [], 0, stats, seen);
  }
  return stats;
}

function statsAt(stats: Map<string, FieldStats>, segments: string[]): FieldStats {
  const path = pointerFrom(segments);
  let entry = stats.get(path);
  if (!entry) {
    entry = { path, segments, present: 0, strings: 0, numbers: 0, booleans: 0, objects: 0, arrays: 0, objectArrays: 0, jsonStrings: 0, isoDates: 0, textLength: 0, maxElements: 0, values: new Map() };
    stats.set(path, entry);
  }
  return entry;
}

function walk(value: unknown, segments: string[], depth: number, stats: Map<string, FieldStats>, seen: Set<string>): void {
  if (segments.length > 0 && value !== undefined && value !== null) {
    const entry = statsAt(stats, segments);
    // Counted once per record, even when `*` reaches it through several elements.
    if (!seen.has(entry.path)) {
      seen.add(entry.path);
      entry.present += 1;
      count(entry, value);
    }
  }
  if (depth >= MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const element of value.slice(0, ELEMENTS_SAMPLED)) walk(element, [...segments, "*"], depth + 1, stats, seen);
  } else if (isRecord(value)) {
    for (const key of Object.keys(value).slice(0, 80)) walk(value[key], [...segments, key], depth + 1, stats, seen);
  }
}

function count(entry: FieldStats, value: unknown): void {
  if (typeof value === "string") {
    entry.strings += 1;
    entry.textLength += value.length;
    const trimmed = value.trim();
    if ((trimmed.startsWith("{") && trimmed.endsWith("}")) || (trimmed.startsWith("[") && trimmed.endsWith("]"))) entry.jsonStrings += 1;
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(trimmed)) entry.isoDates += 1;
    if (value.length <= 80 && (entry.values.size < MAX_DISTINCT || entry.values.has(value))) entry.values.set(value, (entry.values.get(value) ?? 0) + 1);
  } else if (typeof value === "number") entry.numbers += 1;
  else if (typeof value === "boolean") entry.booleans += 1;
  else if (Array.isArray(value)) {
    entry.arrays += 1;
    entry.maxElements = Math.max(entry.maxElements, value.length);
    if (value.length > 0 && value.filter(isRecord).length / value.length >= 0.5) entry.objectArrays += 1;
  } else if (isRecord(value)) entry.objects += 1;
}

/** Words of the last key of a path (the key that names the value). */
export function lastTokens(stats: FieldStats): string[] {
  const last = [...stats.segments].reverse().find((segment) => segment !== "*") ?? "";
  return keyTokens(last);
}

/** Words of every key of a path. */
export function allTokens(stats: FieldStats): string[] {
  return stats.segments.filter((segment) => segment !== "*").flatMap(keyTokens);
}

export function averageLength(stats: FieldStats): number {
  return stats.strings === 0 ? 0 : stats.textLength / stats.strings;
}

export function hasWildcard(stats: FieldStats): boolean {
  return stats.segments.includes("*");
}

/** Fields under a prefix (e.g. inside one tool-call element), with the prefix removed from their path. */
export function under(stats: Map<string, FieldStats>, prefix: string[]): FieldStats[] {
  return [...stats.values()]
    .filter((entry) => entry.segments.length > prefix.length && prefix.every((segment, index) => entry.segments[index] === segment))
    .map((entry) => ({ ...entry, segments: entry.segments.slice(prefix.length), path: pointerFrom(entry.segments.slice(prefix.length)) }));
}
