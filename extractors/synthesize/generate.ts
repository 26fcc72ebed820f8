import { createHash } from "node:crypto";
import type { ExtractorSpecInput, PredicateSpec, ValueSpec } from "../../schema/extractorSpec.js";
import { at } from "../specEngineValues.js";
import { isRecord } from "../io.js";
import type { RunFiles } from "../types.js";
import { inferKind, inferRole, inferShape, type RecordShape } from "./infer.js";
import { profileRecords } from "./profile.js";
import type { RecordStream } from "./streams.js";
import { actorClass, keyTokens, kindClass, THOUGHT_WORDS, type KindClass } from "./vocabulary.js";

/**
 * Candidate specs for one record stream, written from the inferred shape of its records:
 * - `records`: one step per record; rules per record kind (calls, results, messages), results paired
 *   with their calls by id or by order;
 * - `records-unpaired`: the same with every record its own step (when pairing guesses wrong);
 * - `blocks`: records whose content is a list of typed blocks (tool_use / tool_result / text…) are
 *   exploded into the blocks.
 * The validator picks among them; nothing here is specific to one log format.
 */

type StreamInput = ExtractorSpecInput["streams"][number];
type RuleInput = StreamInput["rules"][number];
type MapInput = NonNullable<RuleInput["map"]>;

const MAX_CLASS_RULES = 12;

export interface Candidate {
  family: "records" | "records-unpaired" | "blocks";
  spec: ExtractorSpecInput;
}

export function candidateSpecs(stream: RecordStream, run: RunFiles): Candidate[] {
  const records = stream.sample.filter(isRecord);
  if (records.length === 0) return [];
  const candidates: Candidate[] = [];
  const paired = recordsStream(stream, records, true);
  candidates.push({ family: "records", spec: specFor(stream, run, paired.stream, "records", paired.userValue) });
  if (paired.hasObservationRules) {
    const unpaired = recordsStream(stream, records, false);
    candidates.push({ family: "records-unpaired", spec: specFor(stream, run, unpaired.stream, "records", unpaired.userValue) });
  }
  const blocks = blocksStream(stream, records);
  if (blocks) candidates.push({ family: "blocks", spec: specFor(stream, run, blocks.stream, "blocks", blocks.userValue) });
  return candidates;
}

/** Where the stream's records are; `files` is generalised in specFor. */
function base(stream: RecordStream): Pick<StreamInput, "files" | "decode" | "records"> {
  return { files: stream.files, decode: stream.decode, ...(stream.records !== undefined ? { records: stream.records } : {}) };
}

/**
 * The file pattern a later run of the same format will also match: any file of the extension for a
 * single-file run (its name is arbitrary), numbers folded otherwise.
 */
function generalisedGlob(files: string, run: RunFiles): string {
  if (run.isFile) {
    const dot = files.lastIndexOf(".");
    return dot > 0 ? `*${files.slice(dot)}` : files;
  }
  return files.replace(/\d+/g, "*");
}

function actorOf(role: string | undefined, kind: { path: string; classes: Map<string, KindClass> } | undefined): ValueSpec {
  if (role) return { path: role, default: "agent" };
  const roleLike = kind ? [...kind.classes.keys()].filter((value) => /user|human|customer|bot|assistant|agent|system/i.test(value)) : [];
  if (!kind || roleLike.length === 0) return { const: "agent" };
  const map: Record<string, string> = {};
  for (const value of kind.classes.keys()) map[value] = /user|human|customer/i.test(value) ? "user" : /system/i.test(value) ? "system" : kind.classes.get(value) === "result" ? "tool" : "agent";
  if (Object.values(map).every((actor) => actor === "agent")) return { const: "agent" };
  return { path: kind.path, map, default: "agent" };
}

function stepMap(shape: RecordShape, actor: ValueSpec): MapInput {
  const map: MapInput = { actor };
  if (shape.text) map.text = shape.text;
  if (shape.thought) map.thought = shape.thought;
  if (shape.timestamp) map.timestamp = shape.timestamp;
  if (shape.call) {
    const { each, name, id, args, command, result } = shape.call;
    map.tool = { name, command: command ?? { derive: "shell_command" } };
    if (each) map.tool.each = each;
    if (id) map.tool.id = id;
    if (args) map.tool.args = args;
    if (result) map.tool.result = { text: result, exit_code: { derive: "exit_code_from_text" } };
  }
  if (shape.observation) {
    map.observation = { text: shape.observation, exit_code: { derive: "exit_code_from_text" } };
    if (shape.isError) map.observation.is_error = shape.isError;
  }
  return map;
}

function observationMap(shape: RecordShape): MapInput | undefined {
  const text = shape.observation ?? shape.text;
  if (!text) return undefined;
  const observation: NonNullable<MapInput["observation"]> = { text, exit_code: { derive: "exit_code_from_text" } };
  if (shape.isError) observation.is_error = shape.isError;
  if (shape.resultId) observation.tool_id = shape.resultId;
  return { actor: { const: "tool" }, observation, ...(shape.timestamp ? { timestamp: shape.timestamp } : {}) };
}

function valuesByFrequency(records: Record<string, unknown>[], path: string): string[] {
  const counts = new Map<string, number>();
  for (const record of records) {
    const value = at(record, path);
    if (typeof value === "string") counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([value]) => value).slice(0, MAX_CLASS_RULES);
}

/** Results hold no call unless they carry arguments too (a tool run that records its input and output). */
function shapeOfClass(records: Record<string, unknown>[], taken: Set<string>, cls: KindClass): RecordShape {
  if (cls !== "result") return inferShape(records, taken, { bareNameIsTool: cls === "call" });
  const result = inferShape(records, taken, { bareNameIsTool: false, calls: false });
  if (result.hasArgs) return inferShape(records, taken, { bareNameIsTool: true });
  // Records named for their results that list their calls too (a step with toolCalls and toolResults) are steps.
  const withCalls = inferShape(records, taken, { bareNameIsTool: false });
  return withCalls.call?.each ? withCalls : result;
}

/** One step per record, a rule per kind of record. */
function recordsStream(stream: RecordStream, records: Record<string, unknown>[], pair: boolean) {
  const role = inferRole(records);
  const kind = inferKind(records);
  const roleValues = role ? valuesByFrequency(records, role) : [];
  const classKey = kind?.path ?? (role && roleValues.some((value) => actorClass(value) === "tool") ? role : undefined);
  const taken = new Set([role, kind?.path].filter((path): path is string => path !== undefined));
  // A role field that is also the record kind (event: user_message) names actors through a map.
  const actor = actorOf(role === kind?.path ? undefined : role, kind);
  const rules: RuleInput[] = [];
  let observationRules = 0;
  let callIds = false;
  let resultIds = false;
  for (const value of classKey ? valuesByFrequency(records, classKey) : []) {
    const subset = records.filter((record) => at(record, classKey!) === value);
    const cls: KindClass = kind && kind.path === classKey ? kind.classes.get(value) ?? "other" : actorClass(value) === "tool" ? "result" : "message";
    const shape = shapeOfClass(subset, taken, cls);
    const when: PredicateSpec = { path: classKey!, equals: value };
    const observation = cls === "result" && !shape.hasArgs && !shape.call ? observationMap(shape) : undefined;
    if (observation && pair) {
      rules.push({ when, emit: "observation", map: observation });
      observationRules += 1;
      resultIds ||= shape.resultId !== undefined;
    } else if (observation) {
      rules.push({ when, emit: "step", keep_empty: true, map: observation });
      observationRules += 1;
    } else {
      rules.push({ when, emit: "step", keep_empty: true, map: stepMap(shape, actor) });
      callIds ||= shape.call?.id !== undefined;
    }
  }
  const whole = inferShape(records, taken, { bareNameIsTool: false });
  callIds ||= whole.call?.id !== undefined;
  rules.push({ emit: "step", keep_empty: true, map: stepMap(whole, actor) });
  const pairing = observationRules === 0 || !pair ? { mode: "same_record" as const } : callIds && resultIds ? { mode: "by_id" as const } : { mode: "next" as const };
  const userValue = roleValues.find((value) => actorClass(value) === "user");
  return { stream: { ...base(stream), rules, pairing }, hasObservationRules: observationRules > 0, userValue };
}

/** The array of typed content blocks inside records (Anthropic content, Gemini parts…), if there is one. */
function blockArray(records: Record<string, unknown>[]): { path: string; maxElements: number } | undefined {
  const stats = profileRecords(records);
  let best: { path: string; maxElements: number; score: number } | undefined;
  for (const entry of stats.values()) {
    if (entry.objectArrays === 0 || entry.segments.includes("*")) continue;
    const typed = stats.get(`${entry.path}/*/type`) ?? stats.get(`${entry.path}/*/$type`);
    if (!typed || typed.values.size < 2) continue;
    const classes = new Set([...typed.values.keys()].map(kindClass));
    if (!classes.has("call") && !classes.has("result")) continue;
    const score = entry.present + (classes.has("call") && classes.has("result") ? records.length : 0);
    if (!best || score > best.score) best = { path: entry.path, maxElements: entry.maxElements, score };
  }
  return best;
}

function isThoughtValue(value: string): boolean {
  return keyTokens(value).some((token) => THOUGHT_WORDS.has(token));
}

/** Records exploded into their content blocks; text of the agent waits for the call it explains. */
function blocksStream(stream: RecordStream, records: Record<string, unknown>[]) {
  const array = blockArray(records);
  if (!array) return undefined;
  const elements = records.flatMap((record) => {
    const value = at(record, array.path);
    return Array.isArray(value) ? value.filter(isRecord) : [];
  });
  const kind = inferKind(elements);
  if (!kind) return undefined;
  const role = inferRole(records);
  const actor: ValueSpec = role ? { path: role, from: "parent", default: "agent" } : { const: "agent" };
  const agentValues = role ? valuesByFrequency(records, role).filter((value) => actorClass(value) === "agent") : [];
  const rules: RuleInput[] = [{ when: { path: "", from: "parent", exists: false }, emit: "skip" }];
  const harnessFlags = harnessFlagPaths(records);
  if (harnessFlags.length > 0) {
    // Records the harness inserted (file contents a tool returned) continue the latest result.
    rules.push({ when: { any: harnessFlags.map((path) => ({ path, from: "parent" as const, equals: true })) }, emit: "attach", map: { text: "" } });
  }
  let callId: string | undefined;
  for (const value of valuesByFrequency(elements, kind.path)) {
    const subset = elements.filter((element) => at(element, kind.path) === value);
    const cls = kind.classes.get(value) ?? "other";
    const shape = shapeOfClass(subset, new Set([kind.path]), cls);
    const when: PredicateSpec = { path: kind.path, equals: value };
    if (isThoughtValue(value)) {
      const text = firstString(subset, kind.path);
      if (text) rules.push({ when, emit: "thought", map: { thought: { path: text, drop_if: "^\\s*$" } } });
    } else if (cls === "result") {
      const observation = observationMap({ ...shape, observation: shape.observation ?? shape.text ?? (firstString(subset, kind.path, shape.resultId) as string | undefined) });
      if (observation) rules.push({ when, emit: "observation", map: observation });
    } else if (cls === "call" && shape.call && !shape.call.each) {
      rules.push({ when, emit: "step", map: stepMap({ ...shape, text: undefined }, actor) });
      callId ??= shape.call.id;
    } else if (shape.text) {
      const text: ValueSpec = typeof shape.text === "string" ? { path: shape.text, drop_if: "^\\s*(\\(no content\\))?\\s*$" } : shape.text;
      if (role && agentValues.length > 0) rules.push({ when: { all: [when, { path: role, from: "parent", in: agentValues }] }, emit: "thought", map: { text, actor } });
      rules.push({ when, emit: "step", map: { actor, text } });
    }
  }
  rules.push({ when: { path: "", type: "string" }, emit: "step", map: { actor, text: { path: "", drop_if: "^\\s*$" } } });
  rules.push({ emit: "skip" });
  const groupPath = messageIdPath(records, array.path);
  const scopePath = scopeIdPath(records);
  const streamInput: StreamInput = {
    ...base(stream),
    explode: { path: array.path, source: stream.decode === "jsonl" && array.maxElements <= 1 ? "parent" : "child" },
    rules,
    pairing: { mode: "by_id", unmatched: "drop" },
    ...(groupPath ? { thought_group: { path: groupPath, from: "parent" as const } } : {}),
    ...(callId ? { dedupe: { key: [callId, ...(scopePath ? [{ path: scopePath, from: "parent" as const }] : [])], keep: "last" as const } } : {}),
  };
  const userValue = role ? valuesByFrequency(records, role).find((value) => actorClass(value) === "user") : undefined;
  return { stream: streamInput, userValue };
}

/** Boolean flags marking records the harness inserted, not the user (isMeta, isSynthetic…). */
function harnessFlagPaths(records: Record<string, unknown>[]): string[] {
  const keys = new Set(records.flatMap((record) => Object.keys(record).filter((key) => record[key] === true && /^(is_?)?(meta|synthetic|injected|attachment)$/i.test(key))));
  return [...keys].map((key) => `/${key}`);
}

/** The first string field of these records that is not the discriminator or an id. */
function firstString(records: Record<string, unknown>[], ...skip: Array<string | undefined>): string | undefined {
  const stats = profileRecords(records);
  return [...stats.values()]
    .filter((entry) => entry.strings > 0 && !entry.segments.includes("*") && !skip.includes(entry.path) && !/id$/i.test(entry.segments.at(-1) ?? ""))
    .sort((a, b) => b.textLength - a.textLength)[0]?.path;
}

/** The id of the message a block came in (shared by consecutive records): blocks of one message belong together. */
function messageIdPath(records: Record<string, unknown>[], arrayPath: string): string | undefined {
  const container = arrayPath.slice(0, arrayPath.lastIndexOf("/"));
  const path = `${container}/id`;
  const values = records.map((record) => at(record, path)).filter((value): value is string => typeof value === "string");
  return values.length > 0 && new Set(values).size < values.length ? path : undefined;
}

/** A parent-call id (sub-agent scope) on the records, when there is one. */
function scopeIdPath(records: Record<string, unknown>[]): string | undefined {
  const keys = new Set(records.flatMap((record) => Object.keys(record)));
  const scope = [...keys].find((key) => /^parent.*(tool|call|use).*id$/i.test(key.replace(/[^a-z]/gi, "")));
  return scope ? `/${scope}` : undefined;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 28) || "log";
}

function specFor(stream: RecordStream, run: RunFiles, streamInput: StreamInput, family: string, userValue: string | undefined): ExtractorSpecInput {
  const files = generalisedGlob(stream.files, run);
  const where = stream.records ? ` at ${stream.records || "/"}` : "";
  const fixed: StreamInput = { ...streamInput, files };
  const hash = createHash("sha1").update(JSON.stringify(fixed)).digest("hex").slice(0, 8);
  // A single file's name is arbitrary: the id says where the records are, not what the file was called.
  const name = run.isFile ? stream.records || (stream.decode === "jsonl" ? "lines" : "records") : `${files}${stream.records ?? ""}`;
  return {
    id: `synth-${slug(name)}-${hash}`,
    format: `${family === "blocks" ? "content blocks of " : ""}${stream.decode === "jsonl" ? "JSON lines" : "JSON records"}${where} in ${files} (synthesized)`,
    // Nothing run-specific (counts, names) in the spec: two runs of one format induce the same spec, hence one version.
    description: `Induced offline (${family} family) from the records of ${files}${where}.`,
    detect: { keys: requiredKeys(stream.sample) },
    streams: [fixed],
    ...(userValue ? { task: { from_step_actor: userValue } } : {}),
  };
}

/** Top-level keys every sampled record has (a few): a later run must share them to reuse the spec. */
function requiredKeys(sample: unknown[]): string[] {
  const records = sample.filter(isRecord);
  if (records.length === 0) return [];
  const common = Object.keys(records[0]!).filter((key) => records.every((record) => Object.hasOwn(record, key)));
  return common.filter((key) => !/[~/]/.test(key) && !["__proto__", "constructor", "prototype"].includes(key)).slice(0, 4).map((key) => `/${key}`);
}
