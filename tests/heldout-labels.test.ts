import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../evals/manifest.js";
import { resolveRef, resolveRefs } from "../evals/refs.js";
import { analyzeRun } from "../graphs/analyze.js";
import { renderForAnnotation } from "../evals/labels/render.js";
import { LABELS, REPO } from "./corpus.js";

/**
 * The held-out label sets (evals/labels/README.md) are only worth their numbers if they are held out
 * (no run of the dev sets) and every label names a step CodeTracer extracts from the run.
 */
const labelFile = (name: string) => path.join(REPO, "evals", "labels", name);
/** The held-out sets, and their first labelling (v1: annotators saw no agent messages; kept as a second annotator). */
const HELD_OUT = ["kimi-heldout.jsonl", "claude-code-heldout.jsonl", "kimi-heldout-v1.jsonl", "claude-code-heldout-v1.jsonl"].map(labelFile);
/** Blind second labellings of the dev sets, for `eval --annotator`. */
const DEV_SECOND = { "kimi-dev-second.jsonl": "kimi-silver-dev.jsonl", "claude-code-dev-second.jsonl": "claude-code-silver-dev.jsonl" };
const devRuns = new Set(
  ["kimi-silver-dev.jsonl", "claude-code-silver-dev.jsonl"].flatMap((name) =>
    readFileSync(path.join(LABELS, name), "utf8").split("\n").filter(Boolean).map((line) => path.resolve(LABELS, JSON.parse(line).path)),
  ),
);

describe.each(HELD_OUT)("held-out labels %s", (manifest) => {
  it("label runs of the corpus that the dev sets do not, each once", async () => {
    const records = await readManifest(manifest);
    expect(records.length).toBeGreaterThanOrEqual(25);
    expect(records.filter((record) => devRuns.has(record.absolutePath))).toEqual([]);
    expect(new Set(records.map((record) => record.absolutePath)).size).toBe(records.length);
  });

  it("name only steps the run's extraction holds, with the onset among the incorrect steps", async () => {
    await expectValidSteps(manifest);
  }, 120_000);
});

describe.each(Object.entries(DEV_SECOND))("second labelling %s", (name, dev) => {
  it(`labels every run of ${dev}, and only those`, async () => {
    const runs = (await readManifest(labelFile(name))).map((record) => record.absolutePath).sort();
    expect(runs).toEqual((await readManifest(path.join(LABELS, dev))).map((record) => record.absolutePath).sort());
  });

  it("names only steps the run's extraction holds, with the onset among the incorrect steps", async () => {
    await expectValidSteps(labelFile(name));
  }, 120_000);
});

/** Every label of a manifest names a step CodeTracer extracts; the onset is incorrect, nothing is both incorrect and unuseful. */
async function expectValidSteps(manifest: string): Promise<void> {
  for (const record of await readManifest(manifest)) {
    const { trace } = await analyzeRun(record.absolutePath, { llm: "off", home: path.join(os.tmpdir(), "codetracer-never-created"), remember: false, builtin: true, recall: false });
    const onset = resolveRef(record.labels.onset!, trace.steps);
    const incorrect = resolveRefs(record.labels.incorrect, trace.steps);
    const unuseful = resolveRefs(record.labels.unuseful, trace.steps);
    expect({ run: record.id, onset: onset !== undefined, unresolved: incorrect.unresolved + unuseful.unresolved }).toEqual({ run: record.id, onset: true, unresolved: 0 });
    expect(incorrect.ids).toContain(onset);
    expect(incorrect.ids.filter((id) => unuseful.ids.includes(id))).toEqual([]);
  }
}

describe("the rendering annotators label from (evals/labels/render.ts)", () => {
  it("shows every step with its message, reasoning, call and observation, then the verifier's results", async () => {
    const [record] = (await readManifest(labelFile("claude-code-dev-second.jsonl"))).filter((candidate) => candidate.id === "c4__oom");
    const { trace } = await analyzeRun(record!.absolutePath, { llm: "off", home: path.join(os.tmpdir(), "codetracer-never-created"), remember: false, builtin: true, recall: false });
    const text = renderForAnnotation(record!.id, trace);
    expect(text.match(/^=== step \d+ \(agent\)$/gm)).toHaveLength(trace.steps.length);
    expect(text.match(/^MESSAGE: /gm)).toHaveLength(trace.steps.filter((step) => step.text).length);
    expect(text).toContain('TOOL CALL Bash: {"command": "ls -la", "description": "List files in current directory"}');
    expect(text).toMatch(/=== VERIFIER TEST RESULTS: status failed\n- is_resolved: false\n- test_offline_model_load: failed/);
  });
});
