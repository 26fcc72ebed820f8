import { existsSync } from "node:fs";
import path from "node:path";
import { CaseCalibration, type CalibrationCase } from "../analysis/calibration.js";
import type { RecalledCase } from "../analysis/priors.js";
import { errorMessage } from "../schema/errors.js";
import { DATABASE_FILE } from "./db.js";
import { cosineSimilarity } from "./embeddings.js";
import { caseText, nearestCases, type FailureCase, type NearCase, type TraceLike } from "./failureCases.js";
import { FAILURES, VectorMemory } from "./vectorStore.js";

export interface Recalled {
  cases: RecalledCase[];
  /** Confirmed cases with calibration features, of this run's kind of agent when memory holds enough of them. */
  calibration: CalibrationCase[];
  /** Set when memory exists but could not be read: the analysis goes on without it. */
  warning?: string;
}

/** Calibration cases used at most per analysis (the most recently written ones): bounded work and memory. */
export const MAX_CALIBRATION_CASES = 300;
/**
 * Cases of the run's own kind of agent are used alone once memory holds this many of them (twice the
 * five runs the smallest calibration rule needs, analysis/calibrationRules.ts); below that, all confirmed cases are.
 */
export const MIN_FAMILY_CASES = 10;

/**
 * The k confirmed failure cases nearest to a run, never the run itself, and the confirmed cases to
 * calibrate on. Cheap when there is nothing to find: a home without a database, or without a
 * confirmed case, is not opened further (no index is built, no file created). Memory that cannot be
 * read is a warning, never a failed analysis.
 */
export async function recallConfirmedCases(home: string, trace: TraceLike, k: number): Promise<Recalled> {
  if (!existsSync(path.join(home, DATABASE_FILE))) return { cases: [], calibration: [] };
  let memory: VectorMemory | undefined;
  try {
    memory = await VectorMemory.open(home);
    if (memory.confirmedCount(FAILURES) === 0) return { cases: [], calibration: [] };
    const near = await nearestCases(memory, trace, k, { confirmedOnly: true, excludeRuns: [trace.run.path] });
    return { cases: await withCloseness(memory, near), calibration: calibrationCases(memory, trace) };
  } catch (err) {
    return { cases: [], calibration: [], warning: `memory under ${home} could not be read (${errorMessage(err)}); diagnosed without priors from past failures` };
  } finally {
    memory?.close();
  }
}

/**
 * Every confirmed case that kept its offline view (older cases did not and are skipped), except the
 * run itself: those of the same extractor (or, without one, the same format) when there are enough,
 * else all of them; the most recently written first, at most MAX_CALIBRATION_CASES.
 */
export function calibrationCases(memory: VectorMemory, trace: TraceLike): CalibrationCase[] {
  const all: CalibrationCase[] = [];
  for (const document of memory.documents(FAILURES)) {
    const metadata = document.metadata;
    if (metadata.confirmed !== true || !metadata.calibration || metadata.run === trace.run.path) continue;
    const calibration = CaseCalibration.safeParse(metadata.calibration);
    // A record another version wrote may not parse: that case is not used for calibration.
    if (calibration.success) all.push({ id: document.id, format: String(metadata.format), calibration: calibration.data });
  }
  const extractor = trace.run.extractor?.id;
  const sameKind = (entry: CalibrationCase) => (extractor && entry.calibration.extractor ? entry.calibration.extractor === extractor : entry.format === trace.run.format);
  const family = all.filter(sameKind);
  return (family.length >= MIN_FAMILY_CASES ? family : all).slice(-MAX_CALIBRATION_CASES).reverse();
}

/**
 * A new run is searched by its symptoms alone, but a case is stored with its onset and category too,
 * so even the same failure seen again scores well below 1. Each case's similarity is therefore
 * divided by the similarity its own symptoms have to its stored text: 1 means "as close as this
 * failure can be to itself", whatever the embedding's scale.
 */
async function withCloseness(memory: VectorMemory, near: NearCase[]): Promise<RecalledCase[]> {
  if (near.length === 0) return [];
  const vectors = await memory.embeddings.embedDocuments(near.flatMap((entry) => [symptomText(entry.case), caseText(entry.case)]));
  return near.map((entry, index) => {
    const self = cosineSimilarity(vectors[2 * index]!, vectors[2 * index + 1]!);
    return { ...entry, closeness: self > 0 ? Math.min(1, entry.similarity / self) : entry.similarity };
  });
}

/** What the search of the case's own run would have been: its text without the onset and category (memory/failureCases.ts `queryText`). */
export function symptomText(failure: FailureCase): string {
  return caseText({ ...failure, onset: null }).replace(/\ncategory: [^\n]*$/, "");
}

