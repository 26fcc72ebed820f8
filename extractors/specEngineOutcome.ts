import { readFile } from "node:fs/promises";
import picomatch from "picomatch";
import type { ExtractorSpec } from "../schema/extractorSpec.js";
import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import { looksBinary } from "./io.js";
import { resolveInsideRun } from "./specEngineSafety.js";
import { evaluate, textOf, textValue } from "./specEngineValues.js";
import type { RunFiles } from "./types.js";
import { harborOutcome } from "./verifiers.js";

/** Side files (task, outcome) are small: read at most this much of them. */
const MAX_SIDE_FILE_BYTES = 4 * 1024 * 1024;
const DEFAULT_TASK_CHARS = 20_000;

function firstFile(glob: string, run: RunFiles): string | undefined {
  const match = picomatch(glob, { dot: true });
  return run.files.filter((file) => match(file)).sort((a, b) => a.localeCompare(b, "en", { numeric: true }))[0];
}

/** A side file as a value: parsed JSON when it is JSON, else its trimmed text. Damage means "no value". */
async function readSideFile(run: RunFiles, file: string, decode: "text" | "json"): Promise<unknown> {
  try {
    const buffer = await readFile(await resolveInsideRun(run.root, file));
    if (buffer.length > MAX_SIDE_FILE_BYTES || looksBinary(buffer.subarray(0, 8192))) return undefined;
    const text = buffer.toString("utf8");
    return decode === "json" ? JSON.parse(text) : text.trim();
  } catch {
    return undefined;
  }
}

export async function specTask(spec: ExtractorSpec, run: RunFiles, steps: Step[]): Promise<string | undefined> {
  const task = spec.task;
  if (!task) return undefined;
  if ("from_step_actor" in task) {
    const candidates = task.opening_only ? steps.slice(0, 1) : steps;
    return candidates.find((step) => step.actor === task.from_step_actor && step.text)?.text;
  }
  const file = firstFile(task.file, run);
  if (!file) return undefined;
  const document = await readSideFile(run, file, task.decode);
  const value = task.value === undefined ? document : textValue(task.value, { record: document, document });
  if (value === undefined || value === null) return undefined;
  return textOf(value).slice(0, task.max_chars ?? DEFAULT_TASK_CHARS) || undefined;
}

function sameScalar(value: unknown, expected: unknown): boolean {
  if (value === expected) return true;
  if (typeof expected === "number" && typeof value === "string") return value.trim() !== "" && Number(value) === expected;
  return typeof expected === "string" && typeof value !== "object" && String(value) === expected;
}

export async function specOutcome(spec: ExtractorSpec, run: RunFiles): Promise<Outcome | undefined> {
  const outcome = spec.outcome;
  if (!outcome) return undefined;
  if ("decoder" in outcome) return harborOutcome(run);
  const file = firstFile(outcome.file, run);
  if (!file) return undefined;
  const document = await readSideFile(run, file, file.endsWith(".json") ? "json" : "text");
  const value = evaluate(outcome.value, { record: document, document });
  if (value === undefined) return { status: "unknown", evidence: [] };
  const status = outcome.passed.some((expected) => sameScalar(value, expected))
    ? "passed"
    : outcome.failed.some((expected) => sameScalar(value, expected))
      ? "failed"
      : "unknown";
  const pointer = typeof outcome.value === "string" ? outcome.value : outcome.value.path;
  return { status, evidence: [{ name: file, status: textOf(value), source: { path: file, ...(pointer && file.endsWith(".json") ? { pointer } : { line: 1 }) } }] };
}
