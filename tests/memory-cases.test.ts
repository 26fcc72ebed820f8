import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { caseFromAnalysis, caseText, FailureCase, nearestCases, storeCase } from "../memory/failureCases.js";
import { importLabelledRuns, type ImportResult } from "../memory/import.js";
import { FAILURES, VectorMemory } from "../memory/vectorStore.js";
import { HARBOR, LABELS, TERMINAL_BENCH } from "./corpus.js";

const KIMI_LABELS = path.join(LABELS, "kimi-silver-dev.jsonl");
const labelRecords = readFileSync(KIMI_LABELS, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const analyze = (run: string) => analyzeRun(run, { llm: "off", home: path.join(home, "scratch"), remember: false, builtin: true });
const c4Run = (task: string) => path.join(TERMINAL_BENCH, task, `${task}.1-of-1.2025-11-08__13-10-33`);

let home: string;
let imported: ImportResult;
let memory: VectorMemory;

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "codetracer-cases-"));
  imported = await importLabelledRuns(KIMI_LABELS, { home });
  memory = await VectorMemory.open(home);
});
afterAll(() => {
  memory.close();
  rmSync(home, { recursive: true, force: true });
});

describe("memory import of a labelled manifest", () => {
  it("stores every labelled run as a confirmed failure case", () => {
    expect(imported).toMatchObject({ records: labelRecords.length, imported: labelRecords.length, skipped: 0, errors: [] });
    expect(memory.count(FAILURES)).toBe(labelRecords.length);
    expect(memory.confirmedCount(FAILURES)).toBe(labelRecords.length);
  });

  it("builds each case from the labels: onset resolved through its raw ref, category, failing checks", () => {
    const record = labelRecords.find((item) => item.id === "caffe-cifar-10__incQ5z3")!;
    const stored = memory.get(FAILURES, path.join(HARBOR, record.id))!;
    const failure = FailureCase.parse(stored.metadata);
    expect(failure.confirmed).toBe(true);
    expect(failure.source).toBe("import");
    expect(failure.category).toBe(record.failure_category);
    // ATIF step i is Step i+1: the label's pointer names the step, the case keeps both.
    expect(failure.labels.onset).toMatchObject({ source: record.labels.onset });
    expect(failure.onset!.step_id).toBe(Number(record.labels.onset.pointer.split("/").pop()) + 1);
    expect(failure.labels.incorrect.map((step) => step.source)).toEqual(record.labels.incorrect);
    expect(failure.failing_checks.length).toBeGreaterThan(0);
    expect(failure.failing_checks.every((check) => check.startsWith("test_outputs.py::"))).toBe(true);
    expect(failure.error_chain[0]!.step_id).toBe(failure.onset!.step_id);
    expect(stored.text).toBe(caseText(failure));
  });

  it("embeds a bounded text of symptoms, onset and category", () => {
    for (const stored of memory.documents(FAILURES)) {
      const failure = FailureCase.parse(stored.metadata);
      expect(stored.text.length).toBeLessThanOrEqual(2000);
      expect(stored.text).toContain(`category: ${failure.category.replace(/_/g, " ")}`);
      expect(stored.text).toContain("onset action: ");
    }
  });

  it("skips runs already imported with the same labels when run again", async () => {
    const again = await importLabelledRuns(KIMI_LABELS, { home });
    expect(again).toMatchObject({ imported: 0, skipped: labelRecords.length, errors: [] });
  });

  it("reports bad records and runs, and imports the rest", async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), "codetracer-manifest-"));
    const good = labelRecords[1];
    const relative = path.relative(folder, path.join(HARBOR, good.id));
    const manifest = path.join(folder, "labels.jsonl");
    writeFileSync(
      manifest,
      [
        JSON.stringify({ ...good, path: relative }),
        "{not json",
        JSON.stringify({ id: "gone", path: "no/such/run", labels: { onset: 3 } }),
        JSON.stringify({ id: "far", path: relative, labels: { onset: { path: "agent/trajectory.json", pointer: "/steps/9999" } } }),
        JSON.stringify({ id: "unlabelled", path: relative, labels: {} }),
      ].join("\n"),
    );
    const otherHome = path.join(folder, "home");
    const result = await importLabelledRuns(manifest, { home: otherHome });
    rmSync(folder, { recursive: true, force: true });
    expect(result.imported).toBe(1);
    expect(result.errors.map((error) => error.id)).toEqual(["labels.jsonl:2", "gone", "far", "unlabelled"]);
    expect(result.errors[1]!.error).toMatch(/no such file or directory/);
    expect(result.errors[2]!.error).toMatch(/names no step/);
    expect(result.errors[3]!.error).toMatch(/no onset label/);
  });
});

describe("nearestCases", () => {
  let gpt2: Analysis;
  beforeAll(async () => {
    gpt2 = await analyze(c4Run("gpt2-codegolf"));
  });

  it("finds the same task's confirmed case, failed by another agent harness, first", async () => {
    for (const [task, analysis] of [["gpt2-codegolf", gpt2], ["password-recovery", await analyze(c4Run("password-recovery"))]] as const) {
      const near = await nearestCases(memory, analysis.trace, 3, { confirmedOnly: true });
      expect(near).toHaveLength(3);
      expect(path.basename(near[0]!.case.run).split("__")[0]).toBe(task);
      expect(near[0]!.similarity).toBeGreaterThan(near[1]!.similarity);
      near.forEach((item) => expect(item.case.confirmed).toBe(true));
    }
  });

  it("keeps unconfirmed cases out of confirmedOnly, and a run out of its own neighbours when asked", async () => {
    await storeCase(memory, caseFromAnalysis(gpt2.trace, gpt2.diagnosis, { confirmed: false }));
    const all = await nearestCases(memory, gpt2.trace, 3);
    expect(all[0]!.id).toBe(gpt2.trace.run.path);
    expect(all[0]!.case.confirmed).toBe(false);
    expect((await nearestCases(memory, gpt2.trace, 3, { confirmedOnly: true })).map((item) => item.id)).not.toContain(gpt2.trace.run.path);
    expect((await nearestCases(memory, gpt2.trace, 3, { excludeRuns: [gpt2.trace.run.path] })).map((item) => item.id)).not.toContain(gpt2.trace.run.path);
  });

  it("never lets an unconfirmed re-analysis overwrite a confirmed case", async () => {
    const run = path.join(HARBOR, labelRecords[0].id);
    const analysis = await analyze(run);
    expect(await storeCase(memory, caseFromAnalysis(analysis.trace, analysis.diagnosis, { confirmed: false }))).toBe(false);
    expect(memory.get(FAILURES, run)!.metadata).toMatchObject({ confirmed: true, source: "import" });
  });
});
