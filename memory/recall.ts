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
 * run itself, of the same kind of run (the same harness); the most recently written first, at most
 * MAX_CALIBRATION_CASES. Conventions and habits are learned per kind: letting another agent's cases in
 * for lack of the run's own (Claude Code's conventions for kimi's runs) lowered held-out scores
 * (evals/README.md).
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
  const family = formatFamily(trace.run.format);
  // The same kind of run: the same harness, whichever of its files the run was read from (a Harbor
  // trial is read from its ATIF trajectory, or from claude-code.txt when that is missing).
  const sameKind = (entry: CalibrationCase) => formatFamily(entry.format) === family;
  return all.filter(sameKind).slice(-MAX_CALIBRATION_CASES).reverse();
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

/** A format without the file it was read from: "harbor-trial (ATIF)" → "harbor-trial". */
export function formatFamily(format: string): string {
  return format.replace(/\s*\(.*\)\s*$/, "");
}
