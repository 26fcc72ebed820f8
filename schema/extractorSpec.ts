import { z } from "zod";
import { FORBIDDEN_KEYS, forbiddenKeyPath, globProblem, regexProblem } from "../extractors/specEngineSafety.js";

/**
 * The extractor spec language: a declarative description of how a log format becomes Steps.
 * Specs are data (written by people, the offline schema inducer or an LLM) and are interpreted by
 * one engine (extractors/specEngine.ts); nothing in a spec is ever executed.
 *
 * Paths are JSON Pointers (RFC 6901) relative to a record; a `*` segment means "every element".
 */

export const SPEC_LANGUAGE = 1;
export const MAX_POINTER_LENGTH = 300;

export function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function pointerFrom(segments: Array<string | number>): string {
  return segments.map((segment) => `/${String(segment).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export const Pointer = z
  .string()
  .max(MAX_POINTER_LENGTH)
  .refine((pointer) => pointer === "" || pointer.startsWith("/"), "a JSON pointer starts with / (or is \"\" for the whole record)")
  .refine((pointer) => pointerSegments(pointer).every((segment) => !FORBIDDEN_KEYS.has(segment)), "refused key (__proto__, constructor, prototype)");

export const Glob = z.string().min(1).superRefine((glob, ctx) => {
  const problem = globProblem(glob);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A regex with optional flags; refused when it could backtrack catastrophically. */
export const Regex = z
  .union([z.string(), z.strictObject({ pattern: z.string(), flags: z.string().max(3).optional() })])
  .superRefine((regex, ctx) => {
    const { pattern, flags } = typeof regex === "string" ? { pattern: regex, flags: "" } : regex;
    const problem = regexProblem(pattern, flags ?? "");
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
export type Regex = z.infer<typeof Regex>;

const SafeKey = z.string().max(200).refine((key) => !FORBIDDEN_KEYS.has(key), "refused key (__proto__, constructor, prototype)");
export const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof Scalar>;

/** Where a path is read: the record, the record it was exploded from, or the whole decoded document. */
export const Scope = z.enum(["record", "parent", "document"]);

export type ValueSpec =
  | string
  | {
      path?: string;
      from?: "record" | "parent" | "document";
      const?: Scalar;
      first_of?: ValueSpec[];
      parse_json?: boolean;
      join?: string;
      parts?: "text";
      pick?: Regex;
      drop_if?: Regex;
      map?: Record<string, Scalar>;
      default?: Scalar;
      derive?: "shell_command" | "exit_code_from_text";
    };

/**
 * How to get one value. A bare string is a pointer into the record. Steps, in order: read `path`
 * (or `const`, or the first present of `first_of`), `parse_json` strings, `join` the texts of a
 * wildcard path, keep only the text `parts` of message content, `pick` a regex capture, `drop_if` a regex matches, translate through `map`, fall
 * back to `default`. `derive` names a small built-in rule (the shell command of a shell tool's
 * args; an exit code printed in the observation text).
 */
export const Value: z.ZodType<ValueSpec> = z.lazy(() =>
  z.union([
    Pointer,
    z.strictObject({
      path: Pointer.optional(),
      from: Scope.optional(),
      const: Scalar.optional(),
      first_of: z.array(Value).min(1).max(8).optional(),
      parse_json: z.boolean().optional(),
      join: z.string().max(16).optional(),
      /** The value is message content (a string or a list of parts): keep only the text of its parts. */
      parts: z.literal("text").optional(),
      pick: Regex.optional(),
      drop_if: Regex.optional(),
      map: z.record(SafeKey, Scalar).optional(),
      default: Scalar.optional(),
      derive: z.enum(["shell_command", "exit_code_from_text"]).optional(),
    }),
  ]),
);

export type PredicateSpec =
  | { path: string; from?: "record" | "parent" | "document"; equals: Scalar }
  | { path: string; from?: "record" | "parent" | "document"; in: Scalar[] }
  | { path: string; from?: "record" | "parent" | "document"; exists: boolean }
  | { path: string; from?: "record" | "parent" | "document"; matches: Regex }
  | { path: string; from?: "record" | "parent" | "document"; type: "string" | "number" | "boolean" | "object" | "array" | "null" }
  | { all: PredicateSpec[] }
  | { any: PredicateSpec[] }
  | { not: PredicateSpec };

/** A test on a record's fields, for rules (`when`) and stream filters. */
export const Predicate: z.ZodType<PredicateSpec> = z.lazy(() =>
  z.union([
    z.strictObject({ path: Pointer, from: Scope.optional(), equals: Scalar }),
    z.strictObject({ path: Pointer, from: Scope.optional(), in: z.array(Scalar).min(1).max(64) }),
    z.strictObject({ path: Pointer, from: Scope.optional(), exists: z.boolean() }),
    z.strictObject({ path: Pointer, from: Scope.optional(), matches: Regex }),
    z.strictObject({ path: Pointer, from: Scope.optional(), type: z.enum(["string", "number", "boolean", "object", "array", "null"]) }),
    z.strictObject({ all: z.array(Predicate).min(1).max(12) }),
    z.strictObject({ any: z.array(Predicate).min(1).max(12) }),
    z.strictObject({ not: Predicate }),
  ]),
);

export const ObservationMapping = z.strictObject({
  text: Value,
  exit_code: Value.optional(),
  is_error: Value.optional(),
  /** For `by_id` pairing: the id of the tool call this observation answers. */
  tool_id: Value.optional(),
});

/**
 * The tool call of a step. With `each`, a record yields one step per element of that array (the
 * paths of `name`, `id`, `args`, `command` and `result` then read the element). `result`: the call
 * element holds its own result.
 */
export const ToolMapping = z.strictObject({
  each: Pointer.optional(),
  name: Value,
  id: Value.optional(),
  args: Value.optional(),
  command: Value.optional(),
  result: ObservationMapping.optional(),
});

/** How a record's fields become Step fields. */
export const StepMapping = z.strictObject({
  actor: Value.optional(),
  text: Value.optional(),
  thought: Value.optional(),
  timestamp: Value.optional(),
  tool: ToolMapping.optional(),
  observation: ObservationMapping.optional(),
  tokens: z.strictObject({ prompt: Value.optional(), completion: Value.optional(), cached: Value.optional() }).optional(),
  /** Steps sharing this value ran in parallel (kept only where two or more steps share it). */
  parallel_group: Value.optional(),
});
export type StepMapping = z.infer<typeof StepMapping>;

/**
 * What a record is. The first rule whose `when` holds decides: `step` starts a Step; `observation`
 * completes a waiting one (see pairing); `thought` is held and becomes the thought of the next step
 * (or a message step of its own when none follows); `attach` continues the latest step (its text is
 * appended to that step's observation, e.g. a file a tool returned, sent as a separate record);
 * `skip` drops the record on purpose.
 */
export const Rule = z.strictObject({
  when: Predicate.optional(),
  emit: z.enum(["step", "observation", "thought", "attach", "skip"]),
  map: StepMapping.default({}),
  /** A matched record is a step even when it yields no text, tool or observation (formats where every record is a step). */
  keep_empty: z.boolean().optional(),
});
export type Rule = z.infer<typeof Rule>;

/**
 * How observations find their action: `same_record` (the action record holds its result; separate
 * observation records become steps of their own), `next` (the oldest step still waiting for a
 * result), `by_id` (the oldest waiting step whose tool id equals the observation's `tool_id`, so a
 * log that reuses ids is paired by position among equal ids, never by id alone).
 */
export const Pairing = z.strictObject({
  mode: z.enum(["same_record", "next", "by_id"]),
  /** by_id: what to do with a result whose id matches no waiting step (`drop` counts it as a warning). */
  unmatched: z.enum(["own_step", "oldest_waiting", "drop"]).optional(),
});
export type Pairing = z.infer<typeof Pairing>;

export const Stream = z.strictObject({
  /** Which run files hold the records (globs relative to the run; files are read in natural order). */
  files: z.union([Glob, z.array(Glob).min(1).max(10)]),
  exclude: z.array(Glob).max(10).optional(),
  /**
   * json: one JSON document per file; jsonl: one JSON value per line; json_in_text: JSON objects
   * embedded in text lines (from the first `{`); lines: `line_pattern`'s named groups become fields.
   */
  decode: z.enum(["json", "jsonl", "json_in_text", "lines"]),
  /** json: pointer to the record array (`*` flattens nested arrays); jsonl: optional pointer inside each line. */
  records: Pointer.optional(),
  line_pattern: Regex.optional(),
  /** Replace each record by the elements of one of its arrays (e.g. content blocks); a non-array value is one element. */
  explode: z
    .strictObject({
      path: Pointer,
      /** Sources of the elements: their own pointer (`child`) or the record's (`parent`). */
      source: z.enum(["child", "parent"]).optional(),
    })
    .optional(),
  /** Records that fail the filter are ignored (not counted as undecodable). */
  filter: Predicate.optional(),
  rules: z.array(Rule).min(1).max(24),
  pairing: Pairing.default({ mode: "same_record" }),
  /**
   * A step whose key equals that of a step still waiting for its result is the same step emitted
   * again: one step, both records its sources. `keep: "last"` takes the tool call from the later
   * emission (the one that ran) and makes it the action source.
   */
  dedupe: z.strictObject({ key: z.array(Value).min(1).max(4), keep: z.enum(["first", "last"]).optional() }).optional(),
  /**
   * Held thoughts and texts belong to a group (e.g. the assistant message they came in): when the
   * value changes, what is still held becomes one message step.
   */
  thought_group: Value.optional(),
  /** Held thoughts and texts go to the next step with a tool (default), or to the next step of any kind. */
  thought_attach: z.enum(["next_tool_step", "next_step"]).optional(),
});
export type Stream = z.infer<typeof Stream>;

/** Where the task is: the text of the first step of an actor, or a value in a file. */
export const TaskSpec = z.union([
  /** `opening_only`: only when that step opens the run (a later user message is a follow-up, not the task). */
  z.strictObject({ from_step_actor: z.string().max(64), opening_only: z.boolean().optional() }),
  z.strictObject({ file: Glob, decode: z.enum(["text", "json"]), value: Value.optional(), max_chars: z.number().int().min(1).max(100_000).optional() }),
]);

/** How the run ended: a value in a file (or record) compared with lists, or a named verifier decoder kept in code. */
export const OutcomeSpec = z.union([
  z.strictObject({
    file: Glob,
    value: Value,
    passed: z.array(Scalar).min(1).max(16),
    failed: z.array(Scalar).max(16).default([]),
  }),
  z.strictObject({ decoder: z.enum(["harbor_verifier"]) }),
]);

/** What a run must have for this spec to read it; used by `detect`. */
export const DetectSpec = z.strictObject({
  /** Each glob must match at least one run file. */
  files: z.array(Glob).max(10).optional(),
  /** Pointers that must exist in the first record of the first stream. */
  keys: z.array(Pointer).max(24).optional(),
});

const SpecShape = z.strictObject({
  spec_language: z.literal(SPEC_LANGUAGE).default(SPEC_LANGUAGE),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, "ids are lower-case letters, digits, . _ - (2–63 chars)"),
  format: z.string().min(1).max(120),
  description: z.string().max(2000).optional(),
  detect: DetectSpec.optional(),
  streams: z.array(Stream).min(1).max(4),
  task: TaskSpec.optional(),
  outcome: OutcomeSpec.optional(),
  max_records: z.number().int().min(1).max(1_000_000).optional(),
  /** Texts (and string arguments) longer than this keep their head and tail, so memory stays bounded. */
  clip_chars: z.number().int().min(1024).max(10_000_000).optional(),
});

/** The raw shape, for structured output (an LLM gets this JSON schema). */
export const ExtractorSpecShape = SpecShape;

/** A spec as accepted from anywhere (file, registry, LLM): prototype keys anywhere are refused first. */
export const ExtractorSpec = z.preprocess((raw, ctx) => {
  const forbidden = forbiddenKeyPath(raw);
  if (forbidden) ctx.addIssue({ code: "custom", message: `refused key at ${forbidden} (__proto__, constructor, prototype)`, input: raw });
  return raw;
}, SpecShape);
export type ExtractorSpec = z.infer<typeof SpecShape>;
export type ExtractorSpecInput = z.input<typeof SpecShape>;

/** Parse a spec and say, in one line, which field was wrong. */
export function parseSpec(raw: unknown): { ok: true; spec: ExtractorSpec } | { ok: false; error: string } {
  const parsed = ExtractorSpec.safeParse(raw);
  if (parsed.success) return { ok: true, spec: parsed.data };
  return { ok: false, error: specIssues(parsed.error) };
}

export function specIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 6)
    .map((issue) => `${issue.path.length ? `/${issue.path.join("/")}` : "spec"}: ${unionMessage(issue)}`)
    .join("; ");
}

/** zod reports a failed union as "invalid input"; the nested issues say what was actually wrong. */
function unionMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_union" && "errors" in issue && Array.isArray(issue.errors)) {
    const nested = (issue.errors as z.core.$ZodIssue[][]).flat().filter((inner) => inner.code === "custom");
    if (nested.length > 0) return nested[0]!.message;
  }
  return issue.message;
}
