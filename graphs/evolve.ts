import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { LlmConfig } from "../llm/config.js";
import type { ExtractorSpec } from "../schema/extractorSpec.js";
import type { RunFiles } from "../extractors/types.js";
import { induceSpecs, rankOf, sortScored, type ScoredSpec } from "../extractors/synthesize/induce.js";
import { llmSpec } from "../extractors/synthesize/llm.js";
import { validateSpec } from "../extractors/synthesize/validate.js";

/**
 * Extractor evolution, a small graph of its own:
 *
 *   START → synthesize → validate ─┬─ good / out of repairs → END
 *                                  └─ poor → repair → validate   (bounded)
 *
 * `synthesize` writes candidates offline (schema induction) and, when an LLM is configured and
 * induction did not already read the run well, asks it for one more; `validate` scores them with the one validator and keeps the best; `repair` sends the
 * best spec and its problems back to the LLM. Offline there is nothing to repair with, so a poor best
 * ends the loop at once.
 */

/** How many times the LLM may repair a spec. */
export const MAX_REPAIRS = 2;
/** A spec scoring at least this (and acceptable) needs no repair. */
export const GOOD_SCORE = 0.9;

export const EvolveState = Annotation.Root({
  run: Annotation<RunFiles>,
  /** The id the LLM's spec gets (a new version of an existing extractor keeps its id). */
  specId: Annotation<string>,
  llm: Annotation<{ config?: LlmConfig; model?: BaseChatModel } | undefined>,
  candidates: Annotation<ScoredSpec[]>({ reducer: (known, added) => [...known, ...added], default: () => [] }),
  best: Annotation<ScoredSpec | undefined>,
  repairs: Annotation<number>({ reducer: (_, next) => next, default: () => 0 }),
  /** What happened, in order, for the record of the version. */
  log: Annotation<string[]>({ reducer: (known, added) => [...known, ...added], default: () => [] }),
});
export type EvolveStateType = typeof EvolveState.State;

async function synthesize(state: EvolveStateType): Promise<Partial<EvolveStateType>> {
  const induced = await induceSpecs(state.run);
  const log = [`offline induction: ${induced.length} candidate specs`];
  // The LLM is for the hard cases: when induction already reads the run well, it is not asked.
  if (!state.llm || isGood(induced[0])) return { candidates: induced, log };
  const attempt = await llmSpec(state.run, { ...state.llm, specId: state.specId });
  if (!attempt.spec) return { candidates: induced, log: [...log, `LLM: ${attempt.error}`] };
  const { metrics } = await validateSpec(attempt.spec, state.run);
  return { candidates: [...induced, { spec: attempt.spec, metrics, origin: "llm", rank: rankOf(attempt.spec, metrics) }], log: [...log, `LLM spec scored ${metrics.score}`] };
}

async function validate(state: EvolveStateType): Promise<Partial<EvolveStateType>> {
  const best = sortScored(state.candidates)[0];
  return { best, log: [best ? `best: ${best.origin} ${best.spec.id} (score ${best.metrics.score}, coverage ${best.metrics.coverage})` : "no candidate spec"] };
}

async function repair(state: EvolveStateType): Promise<Partial<EvolveStateType>> {
  const best = state.best!;
  const attempt = await llmSpec(state.run, { ...state.llm!, specId: state.specId, repair: { spec: best.spec, problems: best.metrics.problems } });
  const repairs = state.repairs + 1;
  if (!attempt.spec) return { repairs, log: [`repair ${repairs}: ${attempt.error}`] };
  const { metrics } = await validateSpec(attempt.spec, state.run);
  return { repairs, candidates: [{ spec: attempt.spec, metrics, origin: "llm_repair", rank: rankOf(attempt.spec, metrics) }], log: [`repair ${repairs}: scored ${metrics.score}`] };
}

function isGood(candidate: ScoredSpec | undefined): boolean {
  return candidate !== undefined && candidate.metrics.acceptable && candidate.metrics.score >= GOOD_SCORE;
}

/** Good enough, or nothing left to try: stop. Poor with an LLM and repairs left: repair. */
function routeValidation(state: EvolveStateType): "good" | "poor" {
  return isGood(state.best) || !state.llm || state.repairs >= MAX_REPAIRS ? "good" : "poor";
}

export const evolveGraph = new StateGraph(EvolveState)
  .addNode("synthesize", synthesize)
  .addNode("validate", validate)
  .addNode("repair", repair)
  .addEdge(START, "synthesize")
  .addEdge("synthesize", "validate")
  .addConditionalEdges("validate", routeValidation, { good: END, poor: "repair" })
  .addEdge("repair", "validate")
  .compile();

export interface Evolution {
  best?: ScoredSpec;
  candidates: number;
  repairs: number;
  log: string[];
}

/** Run the evolution graph for one run. */
export async function evolveSpec(run: RunFiles, options: { specId: string; llm?: { config?: LlmConfig; model?: BaseChatModel } }): Promise<Evolution> {
  const state = await evolveGraph.invoke({ run, specId: options.specId, llm: options.llm }, { recursionLimit: 20 });
  return { best: state.best, candidates: state.candidates.length, repairs: state.repairs, log: state.log };
}

/** Give a spec another id (a new version of an existing extractor keeps the extractor's id). */
export function withId(spec: ExtractorSpec, id: string): ExtractorSpec {
  return { ...spec, id };
}
