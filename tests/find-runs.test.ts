import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { FORMATS, HARBOR, REPO } from "./corpus.js";

describe("finding the runs of a batch", () => {
  it("takes every trial folder of a Harbor job, not the job's own result.json/config.json", async () => {
    const runs = (await findRuns(HARBOR)).map((run) => run.relative);
    const trials = (await readdir(HARBOR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(runs.sort()).toEqual(trials.sort());
  });

  it("takes each JSON log of an unseen agent system as a run of its own, for extractor synthesis", async () => {
    const folder = path.join(REPO, "tests", "fixtures", "unseen");
    const logs = (await readdir(folder)).filter((name) => /\.jsonl?$/.test(name) && name !== "manifest.json");
    const runs = (await findRuns(folder)).map((run) => run.relative);
    expect(runs).toEqual(expect.arrayContaining(logs));
  });

  it("finds the OpenTelemetry traces deep inside their sample folders", async () => {
    const runs = (await findRuns(path.join(FORMATS, "otel"))).map((run) => run.relative);
    expect(runs).toHaveLength(5);
    expect(runs.every((run) => run.endsWith("_trace.json"))).toBe(true);
  });
});
