import type { Embeddings } from "@langchain/core/embeddings";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { analyzeRun } from "../graphs/analyze.js";
import { Diagnosis, FailureCategory } from "../schema/diagnosis.js";
import { UsageError, errorMessage } from "../schema/errors.js";
import { Trace } from "../schema/trace.js";
import { caseFromAnalysis, storeCase, type FailureCase } from "./failureCases.js";
import { FeedbackLog } from "./feedbackLog.js";
import { VectorMemory } from "./vectorStore.js";

/** The categories a person may choose (the protocol's list: `none` is not a failure). */
export const FEEDBACK_CATEGORIES = FailureCategory.options.filter((category) => category !== "none");

export const FeedbackRequest = z.object({
  /** An `analyze --out` folder: its trace.json and diagnosis.json are what the feedback is about. */
  outDir: z.string().min(1),
  onset: z.number().int(),
  incorrect: z.array(z.number().int()).optional(),
  unuseful: z.array(z.number().int()).optional(),
  category: z.string().optional(),
  note: z.string().optional(),
  home: z.string().min(1),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

export interface FeedbackResult {
  run: string;
  /** The person's onset is the one the diagnosis proposed. */
  agrees: boolean;
  diagnosed_onset: number | null;
  onset: number;
  incorrect: number[];
  unuseful: number[];
  category: FailureCategory;
  /** The failure case now stored (confirmed) in memory. */
  case: FailureCase;
  confirmed_cases: number;
}

/**
 * Confirm or correct the diagnosis in an analyze output folder: check the labels against the run,
 * log them, and store the run as a confirmed failure case. What the person leaves out is taken from
 * the diagnosis (its incorrect steps from the onset on, its unuseful steps, its category).
 * Wrong step ids or categories are usage errors.
 */
export async function recordFeedback(request: FeedbackRequest, options: { embeddings?: Embeddings } = {}): Promise<FeedbackResult> {
  const { outDir, onset, note, home } = FeedbackRequest.parse(request);
  const trace = await readOutput(outDir, "trace.json", Trace);
  const diagnosis = await readOutput(outDir, "diagnosis.json", Diagnosis);
  const labels = resolveLabels(request, trace, diagnosis);

  const offline = await offlineDiagnosis(trace, diagnosis, home);
  const failure = caseFromAnalysis(trace, offline ?? diagnosis, { confirmed: true, labels: { ...labels, ...(note ? { note } : {}) }, source: "feedback", offline: offline !== undefined });
  const memory = await VectorMemory.open(home, options);
  const log = new FeedbackLog(home);
  try {
    await storeCase(memory, failure);
    log.record({ run_key: trace.run.path, source: "feedback", diagnosed_onset: diagnosis.onset?.step_id ?? null, ...labels, ...(note ? { note } : {}) });
    return {
      run: trace.run.path,
      agrees: diagnosis.onset?.step_id === onset,
      diagnosed_onset: diagnosis.onset?.step_id ?? null,
      ...labels,
      case: failure,
      confirmed_cases: memory.confirmedCount("failures"),
    };
  } finally {
    log.close();
    memory.close();
  }
}

/**
 * The diagnosis as the offline analysis alone makes it, which is what a confirmed case keeps for
 * calibration (memory/failureCases.ts): the diagnosis in the folder when memory and no LLM made it;
 * otherwise the run analyzed again offline without memory, if it can still be read into the same
 * steps. Undefined when neither holds: the case is stored without calibration features.
 */
async function offlineDiagnosis(trace: Trace, diagnosis: Diagnosis, home: string): Promise<Diagnosis | undefined> {
  const memoryFree = !diagnosis.cases_used?.length && !diagnosis.evidence.some((item) => item.signal?.startsWith("memory_"));
  if (diagnosis.strategy === "offline" && memoryFree) return diagnosis;
  try {
    const again = await analyzeRun(trace.run.path, { llm: "off", home, remember: false, builtin: true, recall: false });
    const sameSteps = again.trace.steps.length === trace.steps.length && again.trace.steps.every((step, index) => step.id === trace.steps[index]!.id && step.kind === trace.steps[index]!.kind);
    return sameSteps ? again.diagnosis : undefined;
  } catch {
    return undefined;
  }
}

/** The person's labels, checked against the run and completed from the diagnosis. */
function resolveLabels(request: FeedbackRequest, trace: Trace, diagnosis: Diagnosis) {
  const ids = new Set(trace.steps.map((step) => step.id));
  const range = trace.steps.length ? `steps ${trace.steps[0]!.id}..${trace.steps.at(-1)!.id}` : "no steps";
  const checkIds = (flag: string, values: number[]) => {
    const unknown = values.filter((id) => !ids.has(id));
    if (unknown.length) throw new UsageError(`${flag}: step ${unknown.join(", ")} is not in this run (${range})`);
  };
  const { onset } = request;
  checkIds("--onset", [onset]);
  checkIds("--incorrect", request.incorrect ?? []);
  checkIds("--unuseful", request.unuseful ?? []);
  const early = (request.incorrect ?? []).filter((id) => id < onset);
  if (early.length) throw new UsageError(`--incorrect: step ${early.join(", ")} comes before the onset ${onset} (the onset is the earliest error)`);

  const incorrect = unique([onset, ...(request.incorrect ?? diagnosis.incorrect_step_ids.filter((id) => id > onset))]);
  const both = (request.unuseful ?? []).filter((id) => incorrect.includes(id));
  if (both.length) throw new UsageError(`step ${both.join(", ")} cannot be both incorrect and unuseful`);
  const unuseful = unique((request.unuseful ?? diagnosis.unuseful_step_ids).filter((id) => !incorrect.includes(id)));
  return { onset, incorrect, unuseful, category: categoryOf(request.category, diagnosis) };
}

function categoryOf(requested: string | undefined, diagnosis: Diagnosis): FailureCategory {
  if (requested === undefined) return diagnosis.failure_category === "none" ? "other" : diagnosis.failure_category;
  const parsed = FailureCategory.safeParse(requested);
  if (!parsed.success || parsed.data === "none") throw new UsageError(`--category must be one of ${FEEDBACK_CATEGORIES.join(", ")}; got "${requested}"`);
  return parsed.data;
}

async function readOutput<T>(outDir: string, file: string, schema: z.ZodType<T>): Promise<T> {
  const full = path.join(outDir, file);
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch {
    throw new UsageError(`${outDir}: no ${file} here; give the --out folder of \`codetracer analyze\``);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${full}: not valid JSON (${errorMessage(err)})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${full}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
