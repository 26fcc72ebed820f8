import type { ValueSpec } from "../../schema/extractorSpec.js";
import { keyTokens } from "./vocabulary.js";
import { allTokens, averageLength, hasWildcard, lastTokens, profileRecords, under, type FieldStats } from "./profile.js";
import {
  actorClass,
  ARGS_WORDS,
  CALLS_WORDS,
  CONTENT_WORDS,
  ERROR_WORDS,
  INPUT_WORDS,
  kindClass,
  RESULT_WORDS,
  ROLE_WORDS,
  SECONDARY_WORDS,
  THOUGHT_WORDS,
  TIME_WORDS,
  TOOL_WORDS,
  type KindClass,
} from "./vocabulary.js";

/**
 * Which keys of a set of records hold what: the actor, the text, the thought, the time, the tool
 * call(s) and their results, decided from key names and value statistics.
 */
export interface CallShape {
  /** Array of calls (one step per element); undefined when the call's fields sit on the record. */
  each?: string;
  name: ValueSpec;
  id?: string;
  args?: ValueSpec;
  command?: string;
  /** The call element holds its own result. */
  result?: string;
}

export interface RecordShape {
  text?: ValueSpec;
  thought?: ValueSpec;
  timestamp?: string;
  call?: CallShape;
  observation?: ValueSpec;
  isError?: string;
  /** For result records: the id of the call they answer. */
  resultId?: string;
  /** Fields that look like call arguments (a record with arguments is a call, not only a result). */
  hasArgs: boolean;
}

const has = (tokens: string[], words: Set<string>) => tokens.some((token) => words.has(token));
const squash = (segment: string) => segment.toLowerCase().replace(/[^a-z0-9]/g, "");
const lastSegment = (entry: FieldStats) => [...entry.segments].reverse().find((segment) => segment !== "*") ?? "";
const parentOf = (entry: FieldStats) => entry.segments.slice(0, -1).join("/");
const share = (entry: FieldStats, total: number) => (total === 0 ? 0 : entry.present / total);

const TOOL_NAME_KEYS = new Set(["tool", "toolname", "action", "function", "functionname", "skill", "actionname", "pluginname"]);
const REFERENCE_ID_KEYS = new Set(["toolcallid", "callid", "tooluseid", "toolid", "functioncallid", "parenttoolcallid"]);

/** The field naming who acted (role, speaker, sender…), if the records have one. */
export function inferRole(records: unknown[]): string | undefined {
  const stats = profileRecords(records);
  let best: { path: string; score: number } | undefined;
  for (const entry of stats.values()) {
    if (hasWildcard(entry) || entry.strings < entry.present * 0.9 || share(entry, records.length) < 0.5 || averageLength(entry) > 48) continue;
    if (entry.values.size > Math.max(12, records.length * 0.3)) continue;
    const tokens = lastTokens(entry);
    const named = has(tokens, ROLE_WORDS) || entry.segments.some((segment) => squash(segment) === "role") ? 1 : tokens.includes("name") || tokens.includes("type") ? 0.3 : 0;
    const roleLike = [...entry.values.entries()].filter(([value]) => actorClass(value) !== undefined).reduce((sum, [, count]) => sum + count, 0) / Math.max(1, entry.strings);
    const score = 2 * named + 3 * roleLike + (entry.segments.length === 1 ? 0.2 : 0);
    if (score >= 1.5 && (!best || score > best.score)) best = { path: entry.path, score };
  }
  return best?.path;
}

/** The discriminator (type, event, run_type…) whose values say what kind of record this is. */
export function inferKind(records: unknown[]): { path: string; classes: Map<string, KindClass> } | undefined {
  const stats = profileRecords(records);
  let best: { path: string; classes: Map<string, KindClass>; score: number } | undefined;
  for (const entry of stats.values()) {
    if (hasWildcard(entry) || entry.strings < entry.present * 0.9 || share(entry, records.length) < 0.5 || averageLength(entry) > 40) continue;
    // A discriminator takes few values; one that nearly every record varies is a name, not a kind.
    if (entry.values.size < 2 || entry.values.size > Math.min(24, Math.max(6, records.length * 0.3))) continue;
    if ([...entry.values.keys()].some((value) => /[\s/]/.test(value))) continue;
    const classes = new Map([...entry.values.keys()].map((value) => [value, kindClass(value)]));
    const kinds = new Set(classes.values());
    const tokens = lastTokens(entry);
    const named = has(tokens, new Set(["type", "event", "kind", "operation", "category", "object", "step", "item", "role", "action"])) ? 1 : 0;
    const secondary = entry.segments.some((segment) => keyTokens(segment).some((token) => SECONDARY_WORDS.has(token))) ? 1.5 : 0;
    const score = named + (kinds.has("call") ? 1 : 0) + (kinds.has("result") ? 1 : 0) + 0.5 * (kinds.size - 1) - secondary - 0.2 * (entry.segments.length - 1);
    if (score >= 1.5 && (!best || score > best.score)) best = { path: entry.path, classes, score };
  }
  return best ? { path: best.path, classes: best.classes } : undefined;
}

/** What each field of these records holds. `taken` are paths already given a meaning (role, kind). */
export function inferShape(records: unknown[], taken: Set<string>, options: { bareNameIsTool: boolean; calls?: boolean }): RecordShape {
  const stats = profileRecords(records);
  const total = records.length;
  const fields = [...stats.values()].filter((entry) => !taken.has(entry.path) && share(entry, total) >= 0.15);
  const used = new Set(taken);
  const call = options.calls === false ? undefined : callArray(stats, fields, total) ?? singleCall(fields, total, options.bareNameIsTool);
  const callPrefix = call?.each;
  const free = (entry: FieldStats) => !used.has(entry.path) && !(callPrefix && entry.path.startsWith(`${callPrefix}/`));
  if (call) for (const path of callPaths(call)) used.add(path);

  const timestamp = pick(fields.filter(free), (entry) => (has(lastTokens(entry), TIME_WORDS) || /^(created|started|start)/.test(squash(lastSegment(entry))) ? 1 : 0) * ((entry.isoDates > 0 || entry.numbers > 0) ? 2 : 0));
  if (timestamp) used.add(timestamp.path);
  const resultId = pick(fields.filter(free), (entry) => (entry.strings > 0 && REFERENCE_ID_KEYS.has(squash(lastSegment(entry))) ? 3 : 0));
  if (resultId) used.add(resultId.path);
  const isError = pick(fields.filter(free), (entry) => (entry.booleans > 0 && has(lastTokens(entry), ERROR_WORDS) ? 2 : 0));
  if (isError) used.add(isError.path);
  const thought = pick(fields.filter(free), (entry) => (entry.strings > 0 && !hasWildcard(entry) && has(lastTokens(entry), THOUGHT_WORDS) ? 2 + share(entry, total) : 0));
  if (thought) used.add(thought.path);
  const observation = textInside(pick(fields.filter(free), (entry) => observationScore(entry, total)), fields);
  if (observation) used.add(observation.path);
  const text = pick(fields.filter(free), (entry) => textScore(entry, total, stats));
  // Arguments at the top of the record: it describes an execution (call and result), not only a result.
  const hasArgs = fields.some((entry) => entry.segments.length === 1 && has(lastTokens(entry), ARGS_WORDS));

  const shape: RecordShape = { hasArgs };
  if (text) shape.text = textValueOf(text, stats);
  // Without a call, an "output" is what the agent said (a model turn), not the result of an action.
  const observationValue = observation ? (hasWildcard(observation) ? { path: observation.path, join: "\n" } : observation.path) : undefined;
  if (!call && !text && observationValue !== undefined) shape.text = observationValue;
  else if (observationValue !== undefined) shape.observation = observationValue;
  if (thought) shape.thought = thought.path;
  if (timestamp) shape.timestamp = timestamp.path;
  if (call) shape.call = call;
  if (isError) shape.isError = isError.path;
  if (resultId) shape.resultId = resultId.path;
  return shape;
}

function pick(fields: FieldStats[], score: (entry: FieldStats) => number): FieldStats | undefined {
  let best: { entry: FieldStats; score: number } | undefined;
  for (const entry of fields) {
    const value = score(entry);
    if (value > 0 && (!best || value > best.score)) best = { entry, score: value };
  }
  return best?.entry;
}

function callPaths(call: CallShape): string[] {
  const paths = [call.each, call.id, call.command, call.result, typeof call.name === "string" ? call.name : undefined, typeof call.args === "string" ? call.args : call.args && typeof call.args === "object" ? call.args.path : undefined];
  return paths.filter((path): path is string => path !== undefined);
}

/** A tool-name field: named like one, short values (a name, not a command line). */
function toolNameScore(entry: FieldStats, total: number, bareNameIsTool: boolean): number {
  if (entry.strings === 0 || averageLength(entry) > 80) return 0;
  // The name echoed inside a result (functionResponse.name) names what answered, not a call.
  if (has(allTokens(entry), RESULT_WORDS)) return 0;
  const key = squash(lastSegment(entry));
  const tokens = allTokens(entry);
  const named = TOOL_NAME_KEYS.has(key) ? 2 : has(tokens, TOOL_WORDS) && lastTokens(entry).includes("name") ? 2.5 : key === "name" && bareNameIsTool ? 1 : 0;
  // The name of a call sits near the top of it; a deeper "name" is usually inside the arguments.
  return named === 0 ? 0 : named + share(entry, total) - 0.3 * (entry.segments.filter((segment) => segment !== "*").length - 1);
}

/** The fields of a call, next to its name: arguments, id, result. */
function callAround(name: FieldStats, siblings: FieldStats[], inElement: boolean): CallShape {
  const parent = parentOf(name);
  const near = siblings.filter((entry) => parentOf(entry) === parent && entry.path !== name.path);
  const args = pick(near, (entry) => (has(lastTokens(entry), ARGS_WORDS) ? 2 + (entry.objects > 0 || entry.jsonStrings > 0 ? 1 : 0) : 0));
  // The call's id sits beside its name or one level up (OpenAI: {id, function: {name, arguments}}).
  const around = siblings.filter((entry) => entry.path !== name.path && (parentOf(entry) === parent || parent.startsWith(`${parentOf(entry)}/`) || parentOf(entry) === ""));
  const id = pick(around, (entry) => (entry.strings > 0 && (squash(lastSegment(entry)) === "id" || REFERENCE_ID_KEYS.has(squash(lastSegment(entry)))) ? 2 - 0.5 * (name.segments.length - entry.segments.length) : 0));
  // Only a call element (one of several in a record) carries its own result; a record's result is the observation.
  const result = !inElement ? undefined : pick(
    siblings.filter((entry) => entry.path !== name.path && entry.path !== args?.path),
    (entry) => (has(lastTokens(entry), RESULT_WORDS) && (entry.strings > 0 || entry.objects > 0) ? 1 : 0),
  );
  // A "name" that is really a command line (spaces, newlines) is the command of a generic action.
  const isCommand = [...name.values.keys()].filter((value) => /\s/.test(value)).length > name.values.size / 2;
  const shape: CallShape = isCommand ? { name: { const: lastSegment(name) }, command: name.path } : { name: name.path };
  if (args) shape.args = args.jsonStrings > args.strings / 2 && args.jsonStrings > 0 ? { path: args.path, parse_json: true } : args.path;
  if (id) shape.id = id.path;
  if (result) shape.result = result.path;
  return shape;
}

/** An array of tool calls (OpenAI tool_calls, content parts with a function call…). */
function callArray(stats: Map<string, FieldStats>, fields: FieldStats[], total: number): CallShape | undefined {
  let best: { shape: CallShape; score: number } | undefined;
  for (const array of fields.filter((entry) => entry.objectArrays > 0 && !hasWildcard(entry))) {
    const inside = under(stats, [...array.segments, "*"]);
    const name = pick(inside, (entry) => toolNameScore(entry, total, true));
    if (!name) continue;
    const tokens = lastTokens(array);
    const named = has(tokens, TOOL_WORDS) || has(tokens, CALLS_WORDS) ? 2 : has(tokens, CONTENT_WORDS) || tokens.includes("items") ? 1 : 0.5;
    const score = named + toolNameScore(name, total, true);
    if (!best || score > best.score) best = { shape: { ...callAround(name, inside, true), each: array.path }, score };
  }
  return best?.shape;
}

function singleCall(fields: FieldStats[], total: number, bareNameIsTool: boolean): CallShape | undefined {
  const name = pick(fields.filter((entry) => !hasWildcard(entry)), (entry) => toolNameScore(entry, total, bareNameIsTool));
  return name ? callAround(name, fields.filter((entry) => !hasWildcard(entry)), false) : undefined;
}

function observationScore(entry: FieldStats, total: number): number {
  if (entry.strings === 0 && entry.objects === 0) return 0;
  if (entry.objects === 0 && averageLength(entry) < 12 && entry.values.size <= 5) return 0;
  if (has(allTokens(entry), INPUT_WORDS)) return 0;
  const named = has(lastTokens(entry), RESULT_WORDS) ? 2 : has(allTokens(entry), RESULT_WORDS) && entry.strings > 0 ? 1 : 0;
  if (named === 0 || secondaryPenalty(entry) > 0) return 0;
  // A result named at the top of the record (`observation`, `output`) is the result; one deep in metadata is a copy.
  const topNamed = has(keyTokens(entry.segments[0] ?? ""), RESULT_WORDS) ? 1 : 0;
  return named + topNamed + (entry.strings > 0 ? 0.5 : 0) + Math.log10(1 + averageLength(entry)) / 4 + share(entry, total) - secondaryPenalty(entry) - 0.2 * depth(entry);
}

function textScore(entry: FieldStats, total: number, stats: Map<string, FieldStats>): number {
  const parts = entry.objectArrays > 0 && stats.has(`${entry.path}/*/text`);
  if (entry.strings === 0 && !parts) return 0;
  const tokens = allTokens(entry);
  if (has(lastTokens(entry), ROLE_WORDS) || has(lastTokens(entry), TIME_WORDS) || lastTokens(entry).includes("id")) return 0;
  // Text inside a result (observation.results[].content) is what a tool returned, not what the agent said.
  if (entry.segments.slice(0, -1).some((segment) => keyTokens(segment).some((token) => RESULT_WORDS.has(token) || ARGS_WORDS.has(token)))) return 0;
  const named = has(lastTokens(entry), CONTENT_WORDS) ? 2 : has(tokens, CONTENT_WORDS) ? 1 : 0;
  const average = averageLength(entry);
  // Text is said, not enumerated: short values from a small set are a type or a status.
  if (!parts && average < 12 && entry.values.size <= 5) return 0;
  if (named === 0 && average < 60) return 0;
  if (has(tokens, INPUT_WORDS) && named < 2) return 0;
  const penalty = has(tokens, INPUT_WORDS) ? 2 : 0;
  const length = Math.log10(1 + Math.max(averageLength(entry), parts ? 40 : 0)) / 2;
  return Math.max(0, named - penalty + length + share(entry, total) - (entry.jsonStrings > entry.strings / 2 ? 0.5 : 0) - secondaryPenalty(entry) - 0.2 * depth(entry));
}

/**
 * An object-valued result (`observation: {results: [{content}]}`) is read through the field inside
 * it that is named as content or result and always there; failing that, whole (as JSON).
 */
function textInside(entry: FieldStats | undefined, fields: FieldStats[]): FieldStats | undefined {
  if (!entry || entry.strings > 0) return entry;
  const inside = fields.filter((candidate) => (candidate.strings > 0 || candidate.objects > 0) && candidate.path.startsWith(`${entry.path}/`) && candidate.present >= entry.present * 0.8);
  const named = pick(inside, (candidate) =>
    has(lastTokens(candidate), CONTENT_WORDS) || has(lastTokens(candidate), RESULT_WORDS) ? 2 + (candidate.strings > 0 ? 0.5 : 0) + Math.log10(1 + averageLength(candidate)) / 2 - 0.2 * depth(candidate) : 0,
  );
  return named ? textInside(named, fields) : entry;
}

function secondaryPenalty(entry: FieldStats): number {
  return entry.segments.some((segment) => keyTokens(segment).some((token) => SECONDARY_WORDS.has(token))) ? 1.5 : 0;
}

function depth(entry: FieldStats): number {
  return entry.segments.filter((segment) => segment !== "*").length - 1;
}

/** Text of content parts, of a wildcard path (joined), or of a plain field. */
function textValueOf(entry: FieldStats, stats: Map<string, FieldStats>): ValueSpec {
  if (entry.objectArrays > 0 || stats.has(`${entry.path}/*/text`)) return { path: entry.path, parts: "text" };
  if (hasWildcard(entry)) return { path: entry.path, join: "\n" };
  return entry.path;
}
