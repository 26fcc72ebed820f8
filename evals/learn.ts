import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { importLabelledRuns } from "../memory/import.js";
import { UsageError } from "../schema/errors.js";
import { BASELINES } from "./baselines.js";
import { readManifest, type ManifestRecord } from "./manifest.js";
import { runEval, type EvalResult, type EvalRun } from "./run.js";
import { scoreEval } from "./score.js";

/**
 * Measured learning (`eval --learn k`): does memory of confirmed failures make diagnoses better?
 * The labelled runs are split into k folds. Each fold is diagnosed COLD (an empty memory) and WARM,
 * after the labels of the other folds were imported as confirmed cases through `memory import`
 * (the same code path people use). Warm is measured at growing shares of the other folds, which
 * gives the learning curve: score against the number of remembered cases. Everything happens in
 * temporary homes that are deleted afterwards; the user's --home is never read or written.
 *
 * Fold assignment is deterministic and independent of the manifest's order: runs are ranked by the
 * SHA-256 of their id, and the run at rank r goes to fold r mod k. The share p of the other folds
 * remembered is the first ceil(p × n) of them in that same ranking, so a smaller memory is always a
 * subset of a larger one.
 */

/** Shares of the other folds remembered at each point of the curve (0 = cold). */
export const LEARNING_SHARES = [0, 0.25, 0.5, 1] as const;

export interface LearnOptions {
  folds: number;
  builtin?: boolean;
  concurrency?: number;
  shares?: readonly number[];
  /** Progress, one line per phase. */
  onPhase?: (message: string) => void;
  /** Receives the whole cold eval (baselines, breakdowns), e.g. for the HTML page. */
  onCold?: (cold: EvalResult) => void;
}

/** The scores the issue tracks, as shares 0..1. */
export interface LearnScores {
  runs: number;
  onsetExact: number;
  onsetWithin1: number;
  onsetWithin3: number;
  incorrectF1: number;
  unusefulF1: number;
  /** Over runs whose label names a category; null when none does. */
  categoryAccuracy: number | null;
}

export interface LearningPoint {
  share: number;
  /** Confirmed cases in memory, averaged over folds. */
  remembered: number;
  scores: LearnScores;
}

/** One run, cold and at full memory: what changed. */
export interface LearnRun {
  id: string;
  fold: number;
  gold: { onset: number | null; category?: string; incorrect: number[]; unuseful: number[] };
  cold: { onset: number | null; category?: string; incorrect: number[]; unuseful: number[] };
  /** `cases`: similar remembered failures used as priors; `calibration`: cases whose conventions changed a step. */
  warm: { onset: number | null; category?: string; incorrect: number[]; unuseful: number[]; cases: number; calibration: number };
}

/** What transfers between agents: all labelled runs of one manifest remembered, another manifest diagnosed. */
export interface Transfer {
  from: string;
  to: string;
  remembered: number;
  cold: LearnScores;
  warm: LearnScores;
}

export interface LearnResult {
  manifests: string[];
  folds: number;
  runs: number;
  cold: LearnScores;
  warm: LearnScores;
  curve: LearningPoint[];
  perRun: LearnRun[];
  /** With several manifests: each one diagnosed after remembering all of each other one (cross-set). */
  transfer: Transfer[];
  /** Labelled runs memory import could not use (e.g. the run could not be analyzed), per fold. */
  importErrors: { fold: number; id: string; error: string }[];
}

/** Run the k-fold cold/warm comparison over one or more labelled manifests (pooled). */
export async function learnEval(manifests: string[], options: LearnOptions): Promise<LearnResult> {
  const k = options.folds;
  const perManifest = await Promise.all(manifests.map(readManifest));
  const records = dedupe(perManifest.flat());
  if (!Number.isInteger(k) || k < 2) throw new UsageError("--learn needs a number of folds of at least 2");
  if (records.length < k) throw new UsageError(`--learn ${k}: the manifest has only ${records.length} runs; use fewer folds`);
  const shares = [...new Set([0, ...(options.shares ?? LEARNING_SHARES)])].sort((a, b) => a - b);
  const ranked = rankById(records);
  const foldOf = new Map(ranked.map((record, rank) => [record.id, rank % k]));

  const scratch = await mkdtemp(path.join(os.tmpdir(), "codetracer-learn-"));
  try {
    const evalOptions = { llm: "off" as const, remember: false, builtin: options.builtin ?? true, concurrency: options.concurrency ?? 1 };
    options.onPhase?.(`cold: ${records.length} runs with an empty memory`);
    const cold = await runEval(await writeManifest(scratch, "all", ranked), { ...evalOptions, home: path.join(scratch, "cold-home") });
    options.onCold?.({ ...cold, manifest: manifests.map((file) => path.basename(file)).join(" + ") });

    const warmRuns = new Map<number, EvalRun[]>(shares.filter((share) => share > 0).map((share) => [share, []]));
    const remembered = new Map<number, number[]>();
    const casesUsed = new Map<string, { cases: number; calibration: number }>();
    const importErrors: LearnResult["importErrors"] = [];
    for (let fold = 0; fold < k; fold += 1) {
      const held = ranked.filter((record) => foldOf.get(record.id) === fold);
      const training = ranked.filter((record) => foldOf.get(record.id) !== fold);
      const home = path.join(scratch, `fold-${fold}`);
      const heldManifest = await writeManifest(scratch, `fold-${fold}`, held);
      for (const share of shares.filter((value) => value > 0)) {
        const known = training.slice(0, Math.ceil(share * training.length));
        options.onPhase?.(`fold ${fold + 1}/${k}: remembering ${known.length} labelled runs, diagnosing ${held.length}`);
        const imported = await importLabelledRuns(await writeManifest(scratch, `fold-${fold}-train-${share}`, known), { home });
        importErrors.push(...imported.errors.filter((error) => !importErrors.some((seen) => seen.fold === fold && seen.id === error.id)).map((error) => ({ fold, ...error })));
        remembered.set(share, [...(remembered.get(share) ?? []), imported.confirmed_cases]);
        const warm = await runEval(heldManifest, { ...evalOptions, home, keep: ({ record, analysis }) => casesUsed.set(`${share}\u0000${record.id}`, countCases(analysis.diagnosis.cases_used)) });
        warmRuns.get(share)!.push(...warm.runs);
      }
    }

    const curve: LearningPoint[] = shares.map((share) => ({
      share,
      remembered: share === 0 ? 0 : mean(remembered.get(share) ?? []),
      scores: share === 0 ? scoresOf(cold.runs) : scoresOf(warmRuns.get(share)!),
    }));
    const transfer: Transfer[] = [];
    for (const [from, remembered] of perManifest.entries()) {
      for (const [to, diagnosed] of perManifest.entries()) {
        if (from === to) continue;
        options.onPhase?.(`transfer: remembering ${path.basename(manifests[from]!)}, diagnosing ${path.basename(manifests[to]!)}`);
        const home = path.join(scratch, `transfer-${from}-${to}`);
        const imported = await importLabelledRuns(await writeManifest(scratch, `transfer-${from}-train`, remembered), { home });
        const warm = await runEval(await writeManifest(scratch, `transfer-${to}-test`, diagnosed), { ...evalOptions, home });
        const ids = new Set(diagnosed.map((record) => record.id));
        transfer.push({ from: manifests[from]!, to: manifests[to]!, remembered: imported.confirmed_cases, cold: scoresOf(cold.runs.filter((run) => ids.has(run.id))), warm: scoresOf(warm.runs) });
      }
    }

    const last = shares.at(-1)!;
    const full = warmRuns.get(last) ?? cold.runs;
    return {
      manifests,
      folds: k,
      runs: records.length,
      cold: curve[0]!.scores,
      warm: curve.at(-1)!.scores,
      curve,
      perRun: perRun(cold.runs, full, foldOf, (id) => casesUsed.get(`${last}\u0000${id}`) ?? { cases: 0, calibration: 0 }),
      transfer,
      importErrors,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The deterministic order folds are cut from: by SHA-256 of the run id. */
export function rankById<T extends { id: string }>(records: T[]): T[] {
  const key = (id: string) => createHash("sha256").update(id).digest("hex");
  return [...records].sort((a, b) => key(a.id).localeCompare(key(b.id)) || a.id.localeCompare(b.id));
}

function scoresOf(runs: EvalRun[]): LearnScores {
  const summary = scoreEval(runs, Object.keys(BASELINES));
  const onset = summary.system.onset;
  return {
    runs: onset.runs,
    onsetExact: onset.exact,
    onsetWithin1: onset.within["±1"] ?? 0,
    onsetWithin3: onset.within["±3"] ?? 0,
    incorrectF1: summary.system.incorrect.macro.f1,
    unusefulF1: summary.system.unuseful.macro.f1,
    categoryAccuracy: summary.categories?.accuracy ?? null,
  };
}

function perRun(cold: EvalRun[], warm: EvalRun[], foldOf: Map<string, number>, casesOf: (id: string) => { cases: number; calibration: number }): LearnRun[] {
  const warmById = new Map(warm.map((run) => [run.id, run]));
  return cold.map((run) => {
    const after = warmById.get(run.id);
    return {
      id: run.id,
      fold: foldOf.get(run.id)!,
      gold: { onset: run.gold.onset, incorrect: run.gold.incorrect, unuseful: run.gold.unuseful, ...(run.goldCategory ? { category: run.goldCategory } : {}) },
      cold: { onset: run.predicted.onset, incorrect: run.predicted.incorrect, unuseful: run.predicted.unuseful, ...(run.predictedCategory ? { category: run.predictedCategory } : {}) },
      warm: {
        onset: after?.predicted.onset ?? null,
        incorrect: after?.predicted.incorrect ?? [],
        unuseful: after?.predicted.unuseful ?? [],
        ...casesOf(run.id),
        ...(after?.predictedCategory ? { category: after.predictedCategory } : {}),
      },
    };
  });
}

/** Cases a diagnosis used: similar failures (priors) and calibration cases, counted apart. */
function countCases(used: { role?: string }[] | undefined): { cases: number; calibration: number } {
  const calibration = (used ?? []).filter((entry) => entry.role === "calibration").length;
  return { cases: (used?.length ?? 0) - calibration, calibration };
}

/** A manifest of some records with absolute paths, so it can live anywhere. */
async function writeManifest(dir: string, name: string, records: ManifestRecord[]): Promise<string> {
  const file = path.join(dir, `${name}.jsonl`);
  const lines = records.map(({ absolutePath, ...record }) => JSON.stringify({ ...record, path: absolutePath }));
  await writeFile(file, lines.length ? `${lines.join("\n")}\n` : "");
  return file;
}

/**
 * Pooled manifests may name a run twice: the first record wins (a run is one case in memory). Two
 * different runs under one id cannot be told apart in folds and scores: that is a usage error.
 */
function dedupe(records: ManifestRecord[]): ManifestRecord[] {
  const byPath = new Map<string, ManifestRecord>();
  const ids = new Set<string>();
  for (const record of records) {
    if (byPath.has(record.absolutePath)) continue;
    if (ids.has(record.id)) throw new UsageError(`--learn: two different runs share the id "${record.id}"`);
    byPath.set(record.absolutePath, record);
    ids.add(record.id);
  }
  return [...byPath.values()];
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : 0;
}
