import { readFile } from "node:fs/promises";
import { z } from "zod";
import { RunError } from "../schema/errors.js";
import type { Observation, SourceRef, Step } from "../schema/step.js";
import type { ReferenceStage } from "../schema/trace.js";
import { absolute, hasFile, isRecord, peek, readOptionalJson, WarningLog } from "./io.js";
import { openJsonDocument, pointerOf } from "./jsonStream.js";
import { decodeMiniSweMessage, miniSweAction, miniSweObservation } from "./miniSwe.js";
import { decodeOpenHandsEvent } from "./openhands.js";
import { assembleStep, trimTrailingBlankLines, type ActionParts } from "./stepParts.js";
import { terminus2Observation, terminus2Parts } from "./terminus2.js";
import type { Extractor, RunFiles } from "./types.js";

/**
 * CodeTracer normalized runs (CodeTraceBench): `steps.json` = `[{step_id, action_ref, observation_ref}]`
 * where each ref is `{path, line_start, line_end, content}` quoting the framework's own log;
 * `stage_ranges.json` = the human-annotated stages; `task.md` = the task.
 * Step ids of steps.json are KEPT. Each `content` is decoded by its framework's decoder (mini-SWE-agent
 * message, OpenHands event JSON, Terminus 2 response JSON / next prompt). Sources: the refs inside
 * steps.json (`/<i>/action_ref`, `/<i>/observation_ref`), then the original `path` + `line_start`.
 * The annotated stages go to `reference_stages`, apart from the stages the project predicts.
 */

const STEPS = "steps.json";
const STAGES = "stage_ranges.json";
const TASK = "task.md";

const Ref = z.looseObject({ path: z.string(), line_start: z.number().int().nullish(), line_end: z.number().int().nullish(), content: z.string().nullish() });
type Ref = z.infer<typeof Ref>;
const NormalizedStep = z.looseObject({ step_id: z.number().int(), action_ref: Ref.nullish(), observation_ref: Ref.nullish() });
const StageRange = z.looseObject({ stage: z.union([z.number(), z.string()]), start_step_id: z.number().int(), end_step_id: z.number().int() });

type Framework = "miniswe" | "openhands" | "terminus2";

/** The framework a ref quotes, from its path (`miniswe/…`, `openhands/…`, `…/terminus2/…`), else from its content. */
export function frameworkOf(ref: Ref): Framework | undefined {
  const segments = ref.path.toLowerCase().split("/");
  if (segments.some((segment) => /^mini-?swe/.test(segment))) return "miniswe";
  if (segments.some((segment) => /^openhands/.test(segment))) return "openhands";
  if (segments.some((segment) => /^terminus/.test(segment)) || /(^|\/)episode-\d+\/(response|prompt)\.txt$/.test(ref.path)) return "terminus2";
  const content = ref.content ?? "";
  if (/"(action|observation)":\s*"/.test(content) && /"source":/.test(content)) return "openhands";
  if (/"keystrokes":|"analysis":/.test(content)) return "terminus2";
  if (/"role":\s*"/.test(content)) return "miniswe";
  return undefined;
}

/** A per-step annotation record (`{command, agent_analysis, terminal_result, llm_analysis}`) some runs quote instead of the raw log. */
function annotationRecord(content: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(content);
    return isRecord(parsed) && typeof parsed.command === "string" && "terminal_result" in parsed ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A line of terminal-bench's `commands.txt`: the Python repr of the keys the harness sent with
 * `tmux send-keys`, e.g. `['ls -la', 'Enter']`. Some normalized runs quote only these (the agent's
 * own log was not kept); they are the harness's keystrokes, "Enter" being a newline.
 */
export function decodeTmuxKeys(content: string): string[] | undefined {
  const text = content.trim();
  if (!/^\[\s*['"]/.test(text) || !text.endsWith("]")) return undefined;
  const keys: string[] = [];
  for (const match of text.slice(1, -1).matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)) {
    keys.push((match[1] ?? match[2]!).replace(/\\(n|t|\\|'|")/g, (_, escaped: string) => ({ n: "\n", t: "\t" })[escaped] ?? escaped));
  }
  return keys.length > 0 ? keys : undefined;
}

function decodeKeys(keys: string[]): DecodedStep {
  const typed = keys.map((key) => (key === "Enter" ? "\n" : key)).join("");
  return { action: { actor: "harness", tool: { name: "terminal", args: { keys }, command: typed.replace(/\n$/, "") } }, undecoded: false };
}

interface DecodedStep {
  action: ActionParts;
  observation?: Observation;
  /** The action content was not understood: kept as text, counted in warnings. */
  undecoded: boolean;
}

function decodeAnnotated(record: Record<string, unknown>): DecodedStep {
  // Only what the agent did and saw: the annotators' `llm_analysis` is a label, never trace content.
  const command = (record.command as string).replace(/\n$/, "");
  const thought = typeof record.agent_analysis === "string" ? record.agent_analysis : undefined;
  const action: ActionParts = { actor: "agent", ...(thought ? { thought } : {}), tool: { name: "terminal", args: { keystrokes: record.command }, command } };
  const observation = typeof record.terminal_result === "string" ? { text: trimTrailingBlankLines(record.terminal_result) } : undefined;
  return { action, ...(observation ? { observation } : {}), undecoded: false };
}

export function decodeNormalizedStep(actionRef: Ref | undefined | null, observationRef: Ref | undefined | null): DecodedStep {
  const actionContent = actionRef?.content ?? "";
  const observationContent = observationRef?.content ?? undefined;
  const framework = actionRef ? frameworkOf(actionRef) : undefined;
  const annotated = annotationRecord(actionContent);
  if (annotated) return decodeAnnotated(annotated);
  const keys = decodeTmuxKeys(actionContent);
  if (keys) return decodeKeys(keys);
  if (framework === "miniswe") {
    const message = decodeMiniSweMessage(actionContent);
    const reply = observationContent !== undefined ? decodeMiniSweMessage(observationContent) : undefined;
    const replyText = observationContent === undefined ? undefined : reply?.content ?? observationContent;
    const observation = replyText === undefined ? undefined : miniSweObservation(replyText);
    if (!message) return { action: { actor: "agent", text: actionContent }, ...(observation ? { observation } : {}), undecoded: true };
    return { action: message.role === "assistant" ? miniSweAction(message, replyText) : { actor: message.role, text: message.content }, ...(observation ? { observation } : {}), undecoded: false };
  }
  if (framework === "openhands") {
    const event = decodeOpenHandsEvent(actionContent);
    const reply = observationContent !== undefined ? decodeOpenHandsEvent(observationContent) : undefined;
    const observation = reply?.type === "observation" ? reply.result : observationContent !== undefined ? { text: observationContent } : undefined;
    if (event?.type !== "action") return { action: { actor: "agent", text: actionContent }, ...(observation ? { observation } : {}), undecoded: true };
    return { action: event.parts, ...(observation ? { observation } : {}), undecoded: false };
  }
  if (framework === "terminus2") {
    const { action, decoded } = terminus2Parts(actionContent);
    const observation = observationContent !== undefined ? terminus2Observation(observationContent) : undefined;
    return { action, ...(observation ? { observation } : {}), undecoded: !decoded };
  }
  return { action: { actor: "agent", text: actionContent }, ...(observationContent !== undefined ? { observation: { text: observationContent } } : {}), undecoded: true };
}

function sourcesOf(index: number, actionRef: Ref | undefined | null, observationRef: Ref | undefined | null): SourceRef[] {
  const original = (ref: Ref): SourceRef => ({ path: ref.path, ...(ref.line_start && ref.line_start >= 1 ? { line: ref.line_start } : {}) });
  return [
    { path: STEPS, pointer: actionRef ? pointerOf(index, "action_ref") : pointerOf(index) },
    ...(observationRef ? [{ path: STEPS, pointer: pointerOf(index, "observation_ref") }] : []),
    ...(actionRef ? [original(actionRef)] : []),
    ...(observationRef ? [original(observationRef)] : []),
  ];
}

async function referenceStages(run: RunFiles, warnings: WarningLog): Promise<ReferenceStage[] | undefined> {
  const raw = await readOptionalJson(run, STAGES);
  if (!Array.isArray(raw)) {
    if (hasFile(run, STAGES)) warnings.add({ path: STAGES, pointer: "" }, "stage_ranges.json is not a JSON array");
    return undefined;
  }
  const stages: ReferenceStage[] = [];
  raw.forEach((value, index) => {
    const parsed = StageRange.safeParse(value);
    if (parsed.success) stages.push({ start_step_id: parsed.data.start_step_id, end_step_id: parsed.data.end_step_id, label: String(parsed.data.stage) });
    else warnings.add({ path: STAGES, pointer: pointerOf(index) }, "not a {stage, start_step_id, end_step_id} range");
  });
  return stages;
}

export const codetracerNormalized: Extractor = {
  id: "codetracer-normalized",
  version: "1",
  format: "CodeTracer normalized run (steps.json + stage_ranges.json)",
  async detect(run) {
    if (run.isFile || !hasFile(run, STEPS)) return 0;
    const head = (await peek(absolute(run, STEPS), 4096)).toString("utf8");
    if (!/"step_id"/.test(head) || !/"(action_ref|observation_ref)"/.test(head)) return 0;
    return hasFile(run, STAGES) || hasFile(run, TASK) ? 1 : 0.9;
  },
  async extract(run) {
    if (!hasFile(run, STEPS)) throw new RunError("no steps.json in this run");
    const warnings = new WarningLog();
    const document = await openJsonDocument(run, STEPS);
    const steps: Step[] = [];
    for await (const { index, value } of document.array("")) {
      const parsed = NormalizedStep.safeParse(value);
      if (!parsed.success) {
        warnings.add({ path: STEPS, pointer: pointerOf(index) }, "not a {step_id, action_ref, observation_ref} step");
        continue;
      }
      const { step_id: id, action_ref: actionRef, observation_ref: observationRef } = parsed.data;
      const decoded = decodeNormalizedStep(actionRef, observationRef);
      if (decoded.undecoded) warnings.add({ path: STEPS, pointer: pointerOf(index, "action_ref") }, `action content not decodable as ${actionRef ? frameworkOf(actionRef) ?? "a known framework" : "anything (no action_ref)"}`);
      steps.push(assembleStep(id, decoded.action, decoded.observation, sourcesOf(index, actionRef, observationRef)));
    }
    const task = hasFile(run, TASK) ? (await readFile(absolute(run, TASK), "utf8")).trim() || undefined : undefined;
    const reference_stages = await referenceStages(run, warnings);
    return { steps, task, outcome: { status: "unknown", evidence: [] }, warnings: warnings.toJSON(), ...(reference_stages ? { reference_stages } : {}) };
  },
};
