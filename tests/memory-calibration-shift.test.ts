import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { learnEval, type LearnResult } from "../evals/learn.js";
import { resolveRef, resolveRefs } from "../evals/refs.js";
import { analyzeRun } from "../graphs/analyze.js";
import { LABELS } from "./corpus.js";

/**
 * What calibration is for, measured out of fold: annotators whose conventions differ from the offline
 * rules. The kimi dev labels are rewritten by one such convention — a garbled call after the onset
 * did nothing, so it is unuseful rather than incorrect — and `eval --learn` must recover it from the
 * other folds' cases (evals/README.md quotes these numbers). On the real labels the offline rules
 * already follow the annotators closely, so there memory finds little to correct.
 */
let scratch: string;
let shifted: LearnResult;

/** The kimi dev set relabelled by the convention, with step ids as refs. */
async function shiftedManifest(file: string): Promise<void> {
  const records = readFileSync(path.join(LABELS, "kimi-silver-dev.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  const lines: string[] = [];
  for (const record of records) {
    const run = path.resolve(LABELS, record.path);
    const { trace, diagnosis } = await analyzeRun(run, { llm: "off", home: path.join(scratch, "never-created"), remember: false, builtin: true });
    const onset = resolveRef(record.labels.onset, trace.steps)!;
    const garbled = new Set(diagnosis.evidence.filter((item) => item.signal === "malformed_call" && item.step_id > onset).map((item) => item.step_id));
    const incorrect = resolveRefs(record.labels.incorrect, trace.steps).ids;
    const unuseful = resolveRefs(record.labels.unuseful, trace.steps).ids;
    const labels = { onset, incorrect: incorrect.filter((id) => !garbled.has(id)), unuseful: [...unuseful, ...incorrect.filter((id) => garbled.has(id))] };
    lines.push(JSON.stringify({ id: record.id, path: run, labels, failure_category: record.failure_category }));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "codetracer-calibration-shift-"));
  const manifest = path.join(scratch, "kimi-garbled-unuseful.jsonl");
  await shiftedManifest(manifest);
  shifted = await learnEval([manifest], { folds: 5 });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("annotators with another convention than the offline rules", () => {
  it("are learned from the other folds: warm agrees with them much better than cold on incorrect and unuseful steps", () => {
    expect(shifted.warm.incorrectF1 - shifted.cold.incorrectF1).toBeGreaterThan(0.1);
    expect(shifted.warm.unusefulF1 - shifted.cold.unusefulF1).toBeGreaterThan(0.1);
    // Calibration relabels steps; it does not move onsets or categories.
    expect(shifted.warm.onsetExact).toBe(shifted.cold.onsetExact);
    expect(shifted.warm.categoryAccuracy).toBe(shifted.cold.categoryAccuracy);
  });

  it("more remembered runs never make it worse, and a few change nothing", () => {
    const incorrect = shifted.curve.map((point) => point.scores.incorrectF1);
    expect(incorrect.every((value, index) => index === 0 || value >= incorrect[index - 1]! - 1e-9)).toBe(true);
    const few = shifted.curve[1]!;
    expect(few.remembered).toBe(4);
    for (const [name, value] of Object.entries(few.scores)) expect(value).toBeCloseTo(shifted.cold[name as keyof typeof shifted.cold] as number, 9);
  });
});
