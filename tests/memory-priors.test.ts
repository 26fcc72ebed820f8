import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRef } from "../evals/refs.js";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { FailureCase, queryText } from "../memory/failureCases.js";
import { importLabelledRuns } from "../memory/import.js";
import { recallConfirmedCases, symptomText } from "../memory/recall.js";
import { FAILURES, VectorMemory } from "../memory/vectorStore.js";
import { renderReport } from "../outputs/report.js";
import type { Diagnosis } from "../schema/diagnosis.js";
import { LABELS } from "./corpus.js";

/**
 * Memory as priors, on real runs and real labels: nothing changes when memory has nothing to say;
 * a run of the same task by another agent is recalled and points at the analogous step; the same
 * failure seen again is diagnosed as the person confirmed it.
 */
type LabelRecord = { id: string; path: string; labels: { onset: Parameters<typeof resolveRef>[0] }; failure_category: string };
const labelsOf = (file: string): LabelRecord[] => readFileSync(path.join(LABELS, file), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const KIMI = labelsOf("kimi-silver-dev.jsonl");
const CLAUDE = labelsOf("claude-code-silver-dev.jsonl");
const record = (records: LabelRecord[], prefix: string) => records.find((item) => item.id.startsWith(prefix))!;
const runPath = (item: LabelRecord) => path.resolve(LABELS, item.path);

let scratch: string;
const analyze = (run: string, home: string) => analyzeRun(run, { llm: "off", home, remember: false, builtin: true });

/** A home that remembers these labelled runs as confirmed cases, through `memory import`. */
async function homeRemembering(name: string, items: LabelRecord[], at: (item: LabelRecord) => string = runPath): Promise<string> {
  const home = path.join(scratch, name);
  mkdirSync(home, { recursive: true });
  const manifest = path.join(home, "labels.jsonl");
  writeFileSync(manifest, items.map((item) => JSON.stringify({ ...item, path: at(item) })).join("\n") + "\n");
  const imported = await importLabelledRuns(manifest, { home });
  expect(imported.errors).toEqual([]);
  return home;
}

/** A diagnosis without its timing, which differs on every run. */
const timeless = (diagnosis: Diagnosis) => ({ ...diagnosis, cost: { ...diagnosis.cost, seconds: 0 } });

beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "codetracer-priors-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("an empty or unhelpful memory changes nothing", () => {
  const claudeGpt2 = runPath(record(CLAUDE, "c4__gpt2-codegolf"));
  let cold: Analysis;
  beforeAll(async () => {
    cold = await analyze(claudeGpt2, path.join(scratch, "never-created"));
  });

  it("does not create anything in a home that does not exist, and lists no cases", () => {
    expect(existsSync(path.join(scratch, "never-created"))).toBe(false);
    expect(cold.diagnosis.cases_used).toBeUndefined();
    expect(cold.diagnosis.warnings).toBeUndefined();
  });

  it("gives the same diagnosis with a memory of unconfirmed cases only (the tool's own guesses)", async () => {
    const home = path.join(scratch, "unconfirmed");
    await analyzeRun(runPath(record(KIMI, "gpt2-codegolf")), { llm: "off", home, remember: true, builtin: true });
    const memory = await VectorMemory.open(home);
    expect([memory.count(FAILURES), memory.confirmedCount(FAILURES)]).toEqual([1, 0]);
    memory.close();
    expect(timeless((await analyze(claudeGpt2, home)).diagnosis)).toEqual(timeless(cold.diagnosis));
  });

  it("recalls an unrelated confirmed failure but does not use it", async () => {
    const home = await homeRemembering("unrelated", [record(KIMI, "caffe-cifar-10")]);
    const analysis = await analyze(claudeGpt2, home);
    const recalled = await recallConfirmedCases(home, analysis.trace, 10);
    expect(recalled.cases).toHaveLength(1);
    expect(timeless(analysis.diagnosis)).toEqual(timeless(cold.diagnosis));
  });

  it("treats a memory it cannot read as a warning, and diagnoses without it", async () => {
    const home = path.join(scratch, "corrupt");
    mkdirSync(home);
    writeFileSync(path.join(home, "codetracer.db"), "this is not a SQLite database\n".repeat(100));
    const analysis = await analyze(claudeGpt2, home);
    expect(analysis.diagnosis.warnings?.[0]).toMatch(/could not be read .*diagnosed without priors/);
    expect(analysis.diagnosis.onset).toEqual(cold.diagnosis.onset);
    expect(analysis.diagnosis.failure_category).toBe(cold.diagnosis.failure_category);
  });
});

describe("a confirmed failure of the same task", () => {
  it("by another agent is recalled, listed in cases_used and the report, and points at the analogous step", async () => {
    const kimiCase = record(KIMI, "gpt2-codegolf");
    const claude = record(CLAUDE, "c4__gpt2-codegolf");
    const home = await homeRemembering("same-task", [kimiCase, record(KIMI, "caffe-cifar-10")]);
    const analysis = await analyze(runPath(claude), home);

    expect(analysis.diagnosis.cases_used?.map((entry) => entry.id)).toEqual([runPath(kimiCase)]);
    expect(analysis.diagnosis.cases_used![0]!.similarity).toBeGreaterThan(0.5);
    // The kimi run's confirmed onset wrote /app/gpt2.c; the step of this run doing the same is the labelled onset.
    const goldOnset = resolveRef(claude.labels.onset, analysis.trace.steps)!;
    const remembered = analysis.diagnosis.evidence.filter((item) => item.signal === "memory_prior");
    expect(remembered.map((item) => item.step_id)).toContain(goldOnset);
    expect(remembered[0]!.why).toContain("gpt2-codegolf__");
    expect(renderReport(analysis)).toContain(`<code>${runPath(kimiCase)}</code>`);
  });

  it("seen again (the same run under another path) is diagnosed as the person confirmed it", async () => {
    const labelled = record(CLAUDE, "c4__git-multibranch");
    const rerun = path.join(scratch, "rerun", path.basename(runPath(labelled)));
    cpSync(runPath(labelled), rerun, { recursive: true });
    const cold = await analyze(rerun, path.join(scratch, "never-created"));
    const home = await homeRemembering("rerun-home", [labelled]);
    const warm = await analyze(rerun, home);

    const goldOnset = resolveRef(labelled.labels.onset, warm.trace.steps);
    expect(cold.diagnosis.onset?.step_id).not.toBe(goldOnset);
    expect(cold.diagnosis.failure_category).not.toBe(labelled.failure_category);
    expect(warm.diagnosis.onset?.step_id).toBe(goldOnset);
    expect(warm.diagnosis.failure_category).toBe(labelled.failure_category);
    expect(warm.diagnosis.cases_used?.map((entry) => entry.id)).toEqual([runPath(labelled)]);
  });
});

describe("closeness", () => {
  it("compares a run with a case as the case's own run would have been searched", async () => {
    const labelled = record(KIMI, "feal-differential");
    const home = await homeRemembering("closeness", [labelled]);
    const memory = await VectorMemory.open(home);
    const stored = FailureCase.parse(memory.get(FAILURES, runPath(labelled))!.metadata);
    memory.close();
    const { trace } = await analyze(runPath(labelled), path.join(scratch, "never-created"));
    expect(symptomText(stored)).toBe(queryText(trace));
  });
});
