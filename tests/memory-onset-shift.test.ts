import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { learnEval, type LearnResult } from "../evals/learn.js";
import { resolveRef, resolveRefs } from "../evals/refs.js";
import { analyzeRun } from "../graphs/analyze.js";
import { LABELS } from "./corpus.js";

/**
 * What onset learning is for, measured out of fold: annotators who place the onset by another
 * convention than the offline weights. The kimi dev labels are rewritten by one — the onset is the
 * run's first garbled call, where the run has one — and `eval --learn` must learn it from the other
 * folds' cases (analysis/onsetCalibration.ts; evals/README.md quotes these numbers). On the real
 * labels, and on the held-out ones, no such convention holds consistently enough to be adopted.
 */
let scratch: string;
let shifted: LearnResult;

async function firstGarbledManifest(file: string): Promise<void> {
  const records = readFileSync(path.join(LABELS, "kimi-silver-dev.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  const lines: string[] = [];
  for (const record of records) {
    const run = path.resolve(LABELS, record.path);
    const { trace, diagnosis } = await analyzeRun(run, { llm: "off", home: path.join(scratch, "never-created"), remember: false, builtin: true });
    const garbled = diagnosis.evidence.filter((item) => item.signal === "malformed_call").map((item) => item.step_id);
    const onset = garbled.length ? Math.min(...garbled) : resolveRef(record.labels.onset, trace.steps)!;
    const incorrect = [...new Set([onset, ...resolveRefs(record.labels.incorrect, trace.steps).ids.filter((id) => id >= onset)])];
    const unuseful = resolveRefs(record.labels.unuseful, trace.steps).ids.filter((id) => !incorrect.includes(id));
    lines.push(JSON.stringify({ id: record.id, path: run, labels: { onset, incorrect, unuseful }, failure_category: record.failure_category }));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "codetracer-onset-shift-"));
  const manifest = path.join(scratch, "kimi-first-garbled-onset.jsonl");
  await firstGarbledManifest(manifest);
  shifted = await learnEval([manifest], { folds: 5 });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("annotators who put the onset at the first garbled call", () => {
  it("are learned from the other folds: warm finds their onsets far more often than cold", () => {
    expect(shifted.cold.onsetWithin3).toBeLessThan(0.8);
    expect(shifted.warm.onsetExact - shifted.cold.onsetExact).toBeGreaterThan(0.3);
    expect(shifted.warm.onsetWithin3 - shifted.cold.onsetWithin3).toBeGreaterThan(0.2);
  });

  it("list the remembered cases that taught the moved onsets", () => {
    const moved = shifted.perRun.filter((run) => run.warm.onset !== run.cold.onset);
    expect(moved.length).toBeGreaterThan(5);
    expect(moved.every((run) => run.warm.calibration > 0)).toBe(true);
  });

  it("a memory too small for the sign test changes no onset", () => {
    const few = shifted.curve[1]!;
    expect(few.remembered).toBe(4);
    expect(few.scores.onsetExact).toBeCloseTo(shifted.cold.onsetExact, 9);
  });
});
