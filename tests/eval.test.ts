import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderEvalReport } from "../evals/report.js";
import { boundariesOf, boundaryPRF, confusion } from "../evals/metrics.js";
import { readManifest } from "../evals/manifest.js";
import { runEval } from "../evals/run.js";
import { formatEvalTable } from "../evals/table.js";
import { LABELS, NORMALIZED } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true, concurrency: 2 };
const manifest = (name: string) => path.join(LABELS, name);

describe("stage boundary metrics", () => {
  it("match each gold boundary at most once, within the tolerance", () => {
    expect(boundariesOf([{ start: 1, end: 3 }, { start: 4, end: 8 }, { start: 9, end: 9 }])).toEqual([4, 9]);
    expect(boundaryPRF([4, 9], [4, 9], 0).f1).toBe(1);
    expect(boundaryPRF([5, 10], [4, 9], 0).f1).toBe(0);
    expect(boundaryPRF([5, 10], [4, 9], 1).f1).toBe(1);
    // Two predictions next to one gold boundary: one hit, one false positive.
    expect(boundaryPRF([4, 5], [4], 1)).toEqual({ precision: 0.5, recall: 1, f1: 2 / 3 });
    expect(boundaryPRF([], [], 1).f1).toBe(1);
  });

  it("count category confusions with gold as rows", () => {
    const { labels, counts } = confusion([
      { gold: "tool_misuse", predicted: "tool_misuse" },
      { gold: "tool_misuse", predicted: "other" },
    ]);
    expect(labels).toEqual(["other", "tool_misuse"]);
    expect(counts.tool_misuse).toEqual({ other: 1, tool_misuse: 1 });
  });
});

describe("eval on the labelled dev sets", () => {
  it("meets the acceptance bar on the Harbor (kimi-k2.5) dev set, well above every baseline", async () => {
    const result = await runEval(manifest("kimi-silver-dev.jsonl"), options);
    expect(result.runs.every((run) => run.status === "ok")).toBe(true);
    expect(result.system.onset.exact).toBeGreaterThanOrEqual(0.6);
    expect(result.system.onset.within["±3"]).toBeGreaterThanOrEqual(0.8);
    expect(result.system.incorrect.macro.f1).toBeGreaterThanOrEqual(0.5);
    const bestBaseline = Math.max(...Object.values(result.baselines).map((scores) => scores.onset.exact));
    expect(result.system.onset.exact - bestBaseline).toBeGreaterThanOrEqual(0.15);
    expect(Object.keys(result.baselines)).toEqual(expect.arrayContaining(["first agent step", "first error step", "last step", "first malformed call", "first checked-path change"]));
    expect(result.replay.valid).toBe(result.runs.length);
    expect(result.stages?.runs).toBe(result.runs.length);
    expect(result.categories?.runs).toBe(result.runs.length);
    // The category baseline: the set's most common gold category, counted from the manifest itself.
    const gold = (await readFile(manifest("kimi-silver-dev.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line).failure_category as string);
    const tally = gold.filter((category) => category === result.categories!.mostCommon.category).length;
    expect(gold.every((category) => gold.filter((other) => other === category).length <= tally)).toBe(true);
    expect(result.categories!.mostCommon.accuracy).toBeCloseTo(tally / gold.length, 10);
    expect(result.categories!.accuracy).toBeGreaterThan(result.categories!.mostCommon.accuracy);
  });

  it("meets the acceptance bar on the terminal-bench Claude Code dev set, well above every baseline", async () => {
    const result = await runEval(manifest("claude-code-silver-dev.jsonl"), options);
    expect(result.runs.every((run) => run.status === "ok")).toBe(true);
    expect(result.system.onset.exact).toBeGreaterThanOrEqual(0.45);
    expect(result.system.onset.within["±3"]).toBeGreaterThanOrEqual(0.75);
    const bestBaseline = Math.max(...Object.values(result.baselines).map((scores) => scores.onset.exact));
    expect(result.system.onset.exact - bestBaseline).toBeGreaterThanOrEqual(0.15);
    expect(result.replay.valid).toBe(result.runs.length);
  });

  it("scores a second annotator's labels of the same runs beside the system: the gold itself agrees fully, a moved onset counts as a miss", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ct-annotator-"));
    const records = (await readFile(manifest("kimi-silver-dev.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const absolute = records.map((record) => ({ ...record, path: path.resolve(LABELS, record.path) }));
    const same = path.join(dir, "same.jsonl");
    await writeFile(same, absolute.map((record) => JSON.stringify(record)).join("\n"));
    const itself = await runEval(manifest("kimi-silver-dev.jsonl"), { ...options, secondAnnotator: new Map((await readManifest(same)).map((record) => [record.id, record])) });
    expect(itself.baselines["second annotator"]!.onset.exact).toBe(1);
    expect(itself.baselines["second annotator"]!.incorrect.macro.f1).toBe(1);
    expect(itself.categories!.secondAnnotator).toEqual({ runs: 20, accuracy: 1 });
    expect(Object.values(itself.byFormat).every((group) => group.bestBaseline.name !== "second annotator")).toBe(true);

    // The second annotator puts the first run's onset on the run's first step and names another category.
    const moved = path.join(dir, "moved.jsonl");
    const first = { ...absolute[0], labels: { ...absolute[0].labels, onset: 1 }, failure_category: "other" };
    await writeFile(moved, [first, ...absolute.slice(1)].map((record) => JSON.stringify(record)).join("\n"));
    const other = await runEval(manifest("kimi-silver-dev.jsonl"), { ...options, secondAnnotator: new Map((await readManifest(moved)).map((record) => [record.id, record])) });
    expect(other.baselines["second annotator"]!.onset.exact).toBeCloseTo(19 / 20, 10);
    expect(other.categories!.secondAnnotator!.accuracy).toBeCloseTo(19 / 20, 10);
    expect(formatEvalTable(other)).toMatch(/^second annotator\s+95\.0/m);
  });

  it("breaks results down by format and gold category and renders the report with the confusion matrix", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ct-eval-"));
    const lines = (await readFile(manifest("kimi-silver-dev.jsonl"), "utf8")).split("\n").filter(Boolean).slice(0, 4);
    // Paths stay relative to the manifest, so the copy points back at the corpus from its new folder.
    const moved = lines.map((line) => {
      const record = JSON.parse(line);
      return JSON.stringify({ ...record, path: path.relative(dir, path.resolve(LABELS, record.path)) });
    });
    await writeFile(path.join(dir, "small.jsonl"), `${moved.join("\n")}\n`);
    const result = await runEval(path.join(dir, "small.jsonl"), options);
    expect(Object.values(result.byFormat).reduce((sum, group) => sum + group.runs, 0)).toBe(4);
    expect(Object.values(result.byCategory).reduce((sum, group) => sum + group.runs, 0)).toBe(4);
    const table = formatEvalTable(result);
    expect(table).toMatch(/first malformed call/);
    expect(table).toMatch(/by gold failure category/);
    const html = renderEvalReport(result);
    expect(html).toMatch(/Failure category confusion/);
    expect(html).toContain("first checked-path change");
    expect(html).not.toMatch(/<script/i);
  });
});

describe("eval on a folder of runs with reference stages", () => {
  it("scores stages only, projecting annotations numbered in commands onto the extracted episodes", async () => {
    const result = await runEval(path.join(NORMALIZED, "terminus2", "OpenAI__GPT-5"), { ...options, concurrency: 2 });
    expect(result.system.onset.runs).toBe(0);
    // Runs whose annotation numbers steps their files do not hold are counted apart.
    expect(result.stages!.runs + result.stages!.all.unfit).toBe(result.runs.length);
    expect(result.stages!.projected.commands).toBeGreaterThan(result.runs.length / 2);
    // Projection makes the annotations comparable: scoring against the raw numbers is much worse.
    expect(result.stages!.within1.f1).toBeGreaterThan(result.stages!.raw.within1.f1);
    expect(formatEvalTable(result)).toMatch(/stage boundary F1 over \d+ runs/);
  });
});
