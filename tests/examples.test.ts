import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtinExtractors } from "../extractors/index.js";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { discoverRun } from "../nodes/discover.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { REPO } from "./corpus.js";

/**
 * The demo runs in examples/ (written by us, one per supported format): each is read by the extractor
 * it was written for, with the steps and outcome we wrote, and gets a diagnosis whose onset is an
 * agent step. The exact onset is not asserted (the localizer is being tuned); `intendedOnset` records
 * the step we wrote the failure at, for comparing by hand.
 */

const EXAMPLES = path.join(REPO, "examples");
const SYNTHESIZED = "synthesized";

interface Example {
  /** What to analyze, relative to the example's entry in examples/ ("" = the entry itself). */
  run: string;
  /** Built-in extractor id, or SYNTHESIZED for a format no built-in knows. */
  extractor: string;
  steps: number;
  outcome: "passed" | "failed" | "unknown";
  intendedOnset: number;
}

const TABLE: Record<string, Example> = {
  "harbor-demo__fib01": { run: "", extractor: "harbor-atif", steps: 9, outcome: "failed", intendedOnset: 4 },
  "csvstats-rowcount__Hq4zT8e": { run: "", extractor: "harbor-claude-code", steps: 6, outcome: "failed", intendedOnset: 4 },
  "tb-webapp-port": { run: "", extractor: "terminal-bench-claude-code", steps: 6, outcome: "failed", intendedOnset: 4 },
  "claude-code-stream": { run: "invoice-tool.jsonl", extractor: "claude-code-stream-json", steps: 9, outcome: "failed", intendedOnset: 4 },
  "terminus2-run": { run: "", extractor: "terminus2", steps: 6, outcome: "failed", intendedOnset: 3 },
  "mini-swe-agent__textkit-212": { run: "", extractor: "mini-swe-agent", steps: 6, outcome: "failed", intendedOnset: 4 },
  "timeparse__timeparse-31": { run: "", extractor: "swe-agent", steps: 9, outcome: "failed", intendedOnset: 6 },
  "openhands-event-array": { run: "report-pdf.json", extractor: "openhands-event-array", steps: 7, outcome: "unknown", intendedOnset: 6 },
  "openhands-session": { run: "", extractor: "openhands-session", steps: 10, outcome: "unknown", intendedOnset: 8 },
  "atif-trajectory": { run: "email-validator.json", extractor: "atif-file", steps: 6, outcome: "unknown", intendedOnset: 4 },
  "normalized-c-stats-build": { run: "", extractor: "codetracer-normalized", steps: 7, outcome: "unknown", intendedOnset: 4 },
  "unseen-helix-support": {
    run: "ticket-HLX-4471.json",
    extractor: SYNTHESIZED,
    steps: 7,
    outcome: "unknown",
    intendedOnset: 5,
  },
};

/** Each example must stay small enough to read in a review. */
const MAX_EXAMPLE_BYTES = 50 * 1024;

const homes: string[] = [];
const analyses = new Map<string, Promise<Analysis>>();

function runPath(name: string): string {
  return path.join(EXAMPLES, name, TABLE[name]!.run);
}

/** One analysis per example, shared by its tests; each gets a fresh home so nothing is recalled or reused. */
function analysisOf(name: string): Promise<Analysis> {
  if (!analyses.has(name)) {
    const home = mkdtempSync(path.join(os.tmpdir(), "codetracer-examples-"));
    homes.push(home);
    analyses.set(name, analyzeRun(runPath(name), { llm: "off", home, remember: false, builtin: true }));
  }
  return analyses.get(name)!;
}

function bytesOf(entry: string): number {
  const info = statSync(entry);
  if (!info.isDirectory()) return info.size;
  return readdirSync(entry).reduce((total, child) => total + bytesOf(path.join(entry, child)), 0);
}

afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe("examples/", () => {
  it("has a row in the table for every example and an example for every row", () => {
    const entries = readdirSync(EXAMPLES).filter((name) => name !== "README.md").sort();
    expect(entries).toEqual(Object.keys(TABLE).sort());
  });

  it.each(Object.keys(TABLE))("%s is under 50 KB", (name) => {
    expect(bytesOf(path.join(EXAMPLES, name))).toBeLessThan(MAX_EXAMPLE_BYTES);
  });
});

describe.each(Object.entries(TABLE))("example %s", (name, example) => {
  const builtinIds = builtinExtractors.map((extractor) => extractor.id);

  if (example.extractor === SYNTHESIZED) {
    it("is recognised by no built-in extractor", async () => {
      expect(await bestExtractor(await discoverRun(runPath(name)), builtinExtractors)).toBeUndefined();
    });
  }

  it(`is read by ${example.extractor} into ${example.steps} steps, outcome ${example.outcome}`, async () => {
    const { trace } = await analysisOf(name);
    if (example.extractor === SYNTHESIZED) expect(builtinIds).not.toContain(trace.run.extractor.id);
    else expect(trace.run.extractor.id).toBe(example.extractor);
    expect(trace.steps).toHaveLength(example.steps);
    // A synthesized extractor without an outcome rule records no outcome: that is an unknown one.
    expect(trace.run.outcome?.status ?? "unknown").toBe(example.outcome);
  });

  it(`gets an onset at an agent step within one step of where it was written (step ${example.intendedOnset})`, async () => {
    const { trace, diagnosis } = await analysisOf(name);
    const onset = trace.steps.find((step) => step.id === diagnosis.onset?.step_id);
    expect(onset?.actor, `onset ${diagnosis.onset?.step_id ?? "none"}`).toBe("agent");
    expect(Math.abs(onset!.id - example.intendedOnset)).toBeLessThanOrEqual(1);
  });
});
