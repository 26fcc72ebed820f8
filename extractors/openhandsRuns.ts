import { RunError, errorMessage } from "../schema/errors.js";
import type { SourceRef } from "../schema/step.js";
import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { absolute, isRecord, peek, readJsonFile, WarningLog } from "./io.js";
import { openJsonDocument, pointerOf } from "./jsonStream.js";
import { readLines } from "./lines.js";
import { openHandsSteps, type LocatedEvent } from "./openhands.js";
import type { ExtractedRun, Extractor, RunFiles } from "./types.js";

/**
 * The three ways OpenHands runs are stored, all decoded by `openHandsSteps`:
 * - a JSON array of events (e.g. `tests/runtime/trajs/*.json`), streamed element by element;
 * - a session folder `events/<id>.json` (+ `metadata.json`), one event per file, in id order;
 * - an evaluation `output.jsonl`: ONE RUN PER LINE (`{instance_id|issue, instruction, history[],
 *   test_result|success, error}`). Each line is its own run, named `<file>#L<line>`; `batch` finds
 *   one run per line, and a file of one line is simply that run. Sources are `{path, line, pointer:
 *   "/history/<i>"}`.
 * Outcome: a recorded resolution (`report.resolved`, `test_result.report.resolved`, the resolver's
 * `success`) decides; otherwise unknown, with the harness error and the agent's own `finish` as evidence.
 */

function withOutcome(result: Awaited<ReturnType<typeof openHandsSteps>>, warnings: WarningLog, outcome: Outcome, task?: string): ExtractedRun {
  const finish = result.finish ? [result.finish] : [];
  return { steps: result.steps, task: task ?? result.task, outcome: { ...outcome, evidence: [...outcome.evidence, ...finish] }, warnings: warnings.toJSON() };
}

const UNKNOWN: Outcome = { status: "unknown", evidence: [] };

// ---- a JSON array of events ----

async function looksLikeEventArray(run: RunFiles): Promise<boolean> {
  if (!run.isFile || !run.files[0]!.endsWith(".json")) return false;
  const head = (await peek(absolute(run, run.files[0]!), 4096)).toString("utf8").trimStart();
  // OpenHands events carry `source` agent|user|environment; an `action`/`observation` key alone is too
  // common a word (ReAct-style logs use it too) to claim a file.
  return /^\[\s*\{/.test(head) && /"source":\s*"(agent|user|environment)"/.test(head) && /"(action|observation)":\s*"/.test(head);
}

export const openHandsEventArray: Extractor = {
  id: "openhands-event-array",
  version: "1",
  format: "OpenHands event stream (JSON array)",
  async detect(run) {
    return (await looksLikeEventArray(run)) ? 0.9 : 0;
  },
  async extract(run) {
    const file = run.files[0]!;
    const warnings = new WarningLog();
    const document = await openJsonDocument(run, file);
    async function* events(): AsyncGenerator<LocatedEvent> {
      for await (const { index, value } of document.array("")) yield { value, source: { path: file, pointer: pointerOf(index) } };
    }
    return withOutcome(await openHandsSteps(events(), warnings), warnings, UNKNOWN);
  },
};

// ---- a session folder: events/<id>.json ----

const EVENT_FILE = /^events\/(\d+)\.json$/;

function eventFiles(run: RunFiles): string[] {
  return run.files.filter((file) => EVENT_FILE.test(file)).sort((a, b) => Number(EVENT_FILE.exec(a)![1]) - Number(EVENT_FILE.exec(b)![1]));
}

export const openHandsSession: Extractor = {
  id: "openhands-session",
  version: "1",
  format: "OpenHands session (events/<id>.json)",
  async detect(run) {
    return !run.isFile && eventFiles(run).length > 0 ? 1 : 0;
  },
  async extract(run) {
    const files = eventFiles(run);
    if (files.length === 0) throw new RunError("no events/<id>.json in this run");
    const warnings = new WarningLog();
    async function* events(): AsyncGenerator<LocatedEvent> {
      for (const file of files) {
        const source: SourceRef = { path: file, pointer: "" };
        try {
          yield { value: await readJsonFile(run, file), source };
        } catch (err) {
          warnings.add(source, errorMessage(err));
        }
      }
    }
    return withOutcome(await openHandsSteps(events(), warnings), warnings, UNKNOWN);
  },
};

// ---- an evaluation output.jsonl: one run per line ----

async function looksLikeOutputJsonl(run: RunFiles): Promise<number> {
  if (!run.isFile || !run.files[0]!.endsWith(".jsonl")) return 0;
  const head = (await peek(absolute(run, run.files[0]!), 64 * 1024)).toString("utf8").trimStart();
  if (!head.startsWith("{")) return 0;
  if (/"history":\s*\[/.test(head)) return 1;
  // history may start beyond the peek after a long instruction: the evaluation keys are enough.
  return /"instance_id":/.test(head) && /"instruction":/.test(head) ? 0.6 : 0;
}

async function nonEmptyLines(file: string): Promise<number[]> {
  const lines: number[] = [];
  for await (const { text, line } of readLines(file)) if (text.trim() !== "") lines.push(line);
  return lines;
}

async function recordOnLine(file: string, label: string, wanted: number): Promise<Record<string, unknown>> {
  for await (const { text, line, truncated } of readLines(file)) {
    if (line < wanted) continue;
    if (truncated) throw new RunError(`${label} line ${wanted} is too long to read`);
    try {
      const record: unknown = JSON.parse(text);
      if (isRecord(record)) return record;
    } catch (err) {
      throw new RunError(`${label} line ${wanted} is not valid JSON (truncated or corrupt?): ${errorMessage(err)}`);
    }
    throw new RunError(`${label} line ${wanted} is not a JSON object`);
  }
  throw new RunError(`${label} has no line ${wanted}`);
}

/** Which line this run is: the one named, or the only one. */
async function chosenLine(run: RunFiles): Promise<number> {
  if (run.line !== undefined) return run.line;
  const lines = await nonEmptyLines(absolute(run, run.files[0]!));
  if (lines.length === 1) return lines[0]!;
  throw new RunError(`${run.files[0]} holds ${lines.length} runs, one per line: name one as ${run.files[0]}#L<line> (or use \`codetracer batch\`)`);
}

/** A recorded verdict of the evaluation harness, else unknown with the harness error as evidence. */
export function outputRecordOutcome(record: Record<string, unknown>, path: string, line: number): Outcome {
  const at = (pointer: string): SourceRef => ({ path, line, pointer });
  const testResult = isRecord(record.test_result) ? record.test_result : {};
  const report = isRecord(record.report) ? [record.report, "/report"] as const : isRecord(testResult.report) ? [testResult.report, "/test_result/report"] as const : undefined;
  if (report && typeof report[0].resolved === "boolean") {
    return { status: report[0].resolved ? "passed" : "failed", evidence: [{ name: "resolved", status: String(report[0].resolved), source: at(`${report[1]}/resolved`) }] };
  }
  if (typeof record.success === "boolean") {
    // The resolver's verdict (an LLM judged the final diff against the issue), with its explanation.
    const detail = typeof record.result_explanation === "string" ? record.result_explanation.slice(0, 500) : undefined;
    return { status: record.success ? "passed" : "failed", evidence: [{ name: "resolver success", status: String(record.success), ...(detail ? { detail } : {}), source: at("/success") }] };
  }
  const evidence: OutcomeEvidence[] = typeof record.error === "string" && record.error !== "" ? [{ name: "error", status: "error", detail: record.error, source: at("/error") }] : [];
  return { status: "unknown", evidence };
}

export const openHandsOutputJsonl: Extractor = {
  id: "openhands-output-jsonl",
  version: "1",
  format: "OpenHands evaluation output.jsonl (one run per line)",
  async detect(run) {
    return looksLikeOutputJsonl(run);
  },
  async runLines(run) {
    return nonEmptyLines(absolute(run, run.files[0]!));
  },
  async extract(run) {
    const file = run.files[0]!;
    const line = await chosenLine(run);
    const record = await recordOnLine(absolute(run, file), file, line);
    if (!Array.isArray(record.history)) throw new RunError(`${file} line ${line} has no history[]: not an OpenHands evaluation record`);
    const warnings = new WarningLog();
    const events: LocatedEvent[] = record.history.map((value, index) => ({ value, source: { path: file, line, pointer: pointerOf("history", index) } }));
    const task = typeof record.instruction === "string" ? record.instruction : undefined;
    return withOutcome(await openHandsSteps(events, warnings), warnings, outputRecordOutcome(record, file, line), task);
  },
};
