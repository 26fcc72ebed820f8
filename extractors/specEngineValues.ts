import { pointerSegments, type PredicateSpec, type Regex, type Scalar, type ValueSpec } from "../schema/extractorSpec.js";
import { boundedExec } from "./specEngineSafety.js";
import { contentText, isRecord } from "./io.js";

/** What a path can read: the record, the record it was exploded from, the decoded document. */
export interface Scope {
  record: unknown;
  parent?: unknown;
  document?: unknown;
}

/** Parsing JSON held in a string field is bounded too (trajectory text is untrusted). */
const MAX_EMBEDDED_JSON = 2 * 1024 * 1024;

/** Own properties only: a record's keys never reach the prototype chain. */
function child(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) {
    if (!/^\d+$/.test(segment)) return undefined;
    return value[Number(segment)];
  }
  if (isRecord(value) && Object.hasOwn(value, segment)) return value[segment];
  return undefined;
}

function elements(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isRecord(value)) return Object.values(value);
  return undefined;
}

/**
 * Every value a pointer reaches. Without `*` it is at most one value. A `*` fans out over an
 * array's elements (or an object's values); elements lacking the rest of the path yield undefined,
 * so a join keeps one slot per element.
 */
export function select(value: unknown, pointer: string): unknown[] | undefined {
  return walk(value, pointerSegments(pointer), 0);
}

function walk(value: unknown, segments: string[], index: number): unknown[] | undefined {
  if (index === segments.length) return value === undefined ? undefined : [value];
  const segment = segments[index]!;
  if (segment === "*") {
    const items = elements(value);
    if (!items) return undefined;
    return items.flatMap((item) => walk(item, segments, index + 1) ?? [undefined]);
  }
  return walk(child(value, segment), segments, index + 1);
}

/** The single value at a pointer (the first, for wildcard paths). */
export function at(value: unknown, pointer: string): unknown {
  return select(value, pointer)?.[0];
}

function base(scope: Scope, from: "record" | "parent" | "document" | undefined): unknown {
  if (from === "parent") return scope.parent;
  if (from === "document") return scope.document;
  return scope.record;
}

function regexParts(regex: Regex): { pattern: string; flags: string } {
  return typeof regex === "string" ? { pattern: regex, flags: "" } : { pattern: regex.pattern, flags: regex.flags ?? "" };
}

export function regexTest(regex: Regex, text: string): RegExpExecArray | null {
  const { pattern, flags } = regexParts(regex);
  return boundedExec(pattern, flags, text);
}

export function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

/** Evaluate a value expression; undefined means "absent". `derive` is left to the caller, which has the context. */
export function evaluate(expr: ValueSpec, scope: Scope): unknown {
  if (typeof expr === "string") return at(scope.record, expr);
  let value: unknown;
  if (expr.first_of) value = expr.first_of.map((alternative) => evaluate(alternative, scope)).find((candidate) => !isAbsent(candidate));
  else if (expr.const !== undefined) value = expr.const;
  else if (expr.path !== undefined) {
    const matches = select(base(scope, expr.from), expr.path);
    // A wildcard path keeps every match (one per element); a plain path reads one value.
    value = pointerSegments(expr.path).includes("*") ? matches?.map((match) => parseIfJson(match, expr.parse_json)) : parseIfJson(matches?.[0], expr.parse_json);
  }
  if (expr.parts === "text") value = textParts(value);
  if (expr.join !== undefined && Array.isArray(value)) value = value.map((item) => (item === undefined ? "" : textOf(item))).join(expr.join);
  if (expr.pick !== undefined && !isAbsent(value)) {
    const match = regexTest(expr.pick, textOf(value));
    value = match ? (match[1] ?? match[0]) : undefined;
  }
  if (expr.drop_if !== undefined && !isAbsent(value) && regexTest(expr.drop_if, textOf(value))) value = undefined;
  if (expr.map !== undefined && !isAbsent(value)) {
    const key = textOf(value);
    if (Object.hasOwn(expr.map, key)) value = expr.map[key];
    else if (expr.default !== undefined) value = expr.default;
  }
  if (isAbsent(value) && expr.default !== undefined) value = expr.default;
  return value;
}

/** The text of message content: a string as it is; of a parts list, only the parts that are text. */
function textParts(value: unknown): unknown {
  if (!Array.isArray(value)) return typeof value === "string" || value === undefined ? value : isRecord(value) ? textParts([value]) : value;
  const texts = value.flatMap((part) => {
    if (typeof part === "string") return [part];
    if (isRecord(part) && typeof part.text === "string") return [part.text];
    if (isRecord(part) && typeof part.Text === "string") return [part.Text];
    if (isRecord(part) && typeof part.content === "string" && part.type !== "tool_result") return [part.content];
    return [];
  });
  return texts.length > 0 ? texts.join("\n") : undefined;
}

function parseIfJson(value: unknown, enabled: boolean | undefined): unknown {
  if (!enabled || typeof value !== "string" || value.length > MAX_EMBEDDED_JSON) return value;
  const trimmed = value.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return value;
  try {
    return JSON.parse(trimmed);
  } catch {
    return value;
  }
}

/**
 * Any value as text: strings as they are, message content (parts arrays, `{text}` blocks) flattened,
 * attachments as a short marker (never their base64), other values as JSON.
 */
export function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(textOf).filter((part) => part !== "").join("\n");
  if (isRecord(value) && (value.type === "image" || value.type === "document")) {
    const media = isRecord(value.source) && typeof value.source.media_type === "string" ? ` ${value.source.media_type}` : "";
    return `[${value.type}${media}]`;
  }
  return contentText(value);
}

/** A value as optional text ("" counts as absent). */
export function textValue(expr: ValueSpec | undefined, scope: Scope): string | undefined {
  if (expr === undefined) return undefined;
  const value = evaluate(expr, scope);
  if (isAbsent(value)) return undefined;
  const text = textOf(value);
  return text === "" ? undefined : text;
}

export function numberValue(expr: ValueSpec | undefined, scope: Scope): number | undefined {
  if (expr === undefined) return undefined;
  const value = evaluate(expr, scope);
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

export function booleanValue(expr: ValueSpec | undefined, scope: Scope): boolean | undefined {
  if (expr === undefined) return undefined;
  const value = evaluate(expr, scope);
  if (typeof value === "boolean") return value;
  if (value === "true" || value === 1) return true;
  if (value === "false" || value === 0) return false;
  return undefined;
}

/**
 * Timestamps as ISO strings: strings are kept; epoch numbers are read as seconds, milliseconds or
 * nanoseconds by magnitude (OpenTelemetry writes nanoseconds).
 */
export function timestampValue(expr: ValueSpec | undefined, scope: Scope): string | undefined {
  if (expr === undefined) return undefined;
  const value = evaluate(expr, scope);
  if (typeof value === "string" && value !== "") return value;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  const millis = value > 1e17 ? value / 1e6 : value > 1e14 ? value / 1e3 : value > 1e11 ? value : value * 1000;
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function scalarEquals(value: unknown, expected: Scalar): boolean {
  return value === expected || (value === undefined && expected === null);
}

/** Evaluate a predicate on a record. */
export function holds(predicate: PredicateSpec, scope: Scope): boolean {
  if ("all" in predicate) return predicate.all.every((inner) => holds(inner, scope));
  if ("any" in predicate) return predicate.any.some((inner) => holds(inner, scope));
  if ("not" in predicate) return !holds(predicate.not, scope);
  const value = at(base(scope, predicate.from), predicate.path);
  if ("equals" in predicate) return scalarEquals(value, predicate.equals);
  if ("in" in predicate) return predicate.in.some((expected) => scalarEquals(value, expected));
  if ("exists" in predicate) return (value !== undefined && value !== null) === predicate.exists;
  if ("type" in predicate) return typeName(value) === predicate.type;
  if ("matches" in predicate) return value !== undefined && value !== null && regexTest(predicate.matches, textOf(value)) !== null;
  return false;
}
