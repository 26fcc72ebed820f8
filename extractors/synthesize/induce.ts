import { parseSpec, type ExtractorSpec } from "../../schema/extractorSpec.js";
import type { RunFiles } from "../types.js";
import { candidateSpecs } from "./generate.js";
import { findRecordStreams } from "./streams.js";
import { compareMetrics, validateSpec, type SpecMetrics } from "./validate.js";

/**
 * Offline schema induction: find the record streams of a run, write candidate specs for each from
 * the inferred meaning of their keys, score every candidate with the validator, best first.
 */
export interface ScoredSpec {
  spec: ExtractorSpec;
  metrics: SpecMetrics;
  /** How it was made: an induction family (records, blocks…), or "llm". */
  origin: string;
  /** The validator's score plus the tie-breaks between streams (see rankOf); what candidates are sorted by. */
  rank: number;
}

/** Files named like a log of the run win ties against side files (configs, results, test reports). */
const LOG_NAME = /traj|history|event|message|conversation|chat|log|trace|step|session|turn|dialog/i;
const LOG_NAME_BONUS = 0.02;
/**
 * A stream whose every record is one step is a step list by design (a trajectory file); one whose
 * steps are assembled from many small events is a transcript. When both describe a run, the step
 * list wins.
 */
const STEP_LIST_BONUS = 0.05;

export async function induceSpecs(run: RunFiles): Promise<ScoredSpec[]> {
  const scored: ScoredSpec[] = [];
  for (const stream of await findRecordStreams(run)) {
    for (const candidate of candidateSpecs(stream, run)) {
      const parsed = parseSpec(candidate.spec);
      if (!parsed.ok) continue;
      const { metrics } = await validateSpec(parsed.spec, run);
      scored.push({ spec: parsed.spec, metrics, origin: candidate.family, rank: rankOf(parsed.spec, metrics) });
    }
  }
  return sortScored(scored);
}

/** The score, plus small tie-breaks: a file named like a log, a stream whose records are steps one to one. */
export function rankOf(spec: ExtractorSpec, metrics: SpecMetrics): number {
  const files = spec.streams.flatMap((stream) => (Array.isArray(stream.files) ? stream.files : [stream.files])).join(" ");
  const bonus = (LOG_NAME.test(files) ? LOG_NAME_BONUS : 0) + (metrics.records > 0 ? STEP_LIST_BONUS * Math.min(1, metrics.steps / metrics.records) : 0);
  return Math.round((metrics.score + bonus) * 1000) / 1000;
}

/** Acceptable specs first, then by rank. */
export function sortScored(scored: ScoredSpec[]): ScoredSpec[] {
  return [...scored].sort((a, b) => (a.metrics.acceptable !== b.metrics.acceptable ? (a.metrics.acceptable ? -1 : 1) : b.rank - a.rank || compareMetrics(a.metrics, b.metrics)));
}
