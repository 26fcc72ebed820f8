import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../evals/manifest.js";
import { resolveRef, resolveRefs } from "../evals/refs.js";
import { analyzeRun } from "../graphs/analyze.js";
import { LABELS, REPO } from "./corpus.js";

/**
 * The held-out label sets (evals/labels/README.md) are only worth their numbers if they are held out
 * (no run of the dev sets) and every label names a step CodeTracer extracts from the run.
 */
const HELD_OUT = ["kimi-heldout.jsonl", "claude-code-heldout.jsonl"].map((name) => path.join(REPO, "evals", "labels", name));
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
    for (const record of await readManifest(manifest)) {
      const { trace } = await analyzeRun(record.absolutePath, { llm: "off", home: path.join(os.tmpdir(), "codetracer-never-created"), remember: false, builtin: true, recall: false });
      const onset = resolveRef(record.labels.onset!, trace.steps);
      const incorrect = resolveRefs(record.labels.incorrect, trace.steps);
      const unuseful = resolveRefs(record.labels.unuseful, trace.steps);
      expect({ run: record.id, onset: onset !== undefined, unresolved: incorrect.unresolved + unuseful.unresolved }).toEqual({ run: record.id, onset: true, unresolved: 0 });
      expect(incorrect.ids).toContain(onset);
      expect(incorrect.ids.filter((id) => unuseful.ids.includes(id))).toEqual([]);
    }
  }, 120_000);
});
