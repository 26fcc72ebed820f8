import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fingerprintRun } from "../extractors/fingerprint.js";
import { ExtractorRegistry } from "../extractors/registry.js";
import { analyzeRun } from "../graphs/analyze.js";
import { MAX_EVOLVE_ATTEMPTS, type AnalyzeOptions, type DiagnoseStateType } from "../graphs/state.js";
import { discoverRun } from "../nodes/discover.js";
import { evolveExtractor } from "../nodes/evolveExtractor.js";
import { RunError } from "../schema/errors.js";
import { FORMATS, HARBOR, REPO } from "./corpus.js";

/** The evolution loop inside the diagnose graph: synthesize, register, reuse, evolve a new version. */

const UNSEEN = path.join(REPO, "tests/fixtures/unseen");
const OTEL = path.join(FORMATS, "otel");
const otelTrace = (name: string, file: string) => path.join(OTEL, name, "tests/assets", file);

async function home(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "evolve-home-"));
}

const offline = (dir: string, builtin = false): AnalyzeOptions => ({ llm: "off", home: dir, remember: true, builtin });

function registryAt<T>(dir: string, use: (registry: ExtractorRegistry) => T): T {
  const registry = ExtractorRegistry.open(dir);
  try {
    return use(registry);
  } finally {
    registry.close();
  }
}

describe("extractor evolution in the diagnose graph", () => {
  it("an unknown format gets a synthesized extractor, put on record as version 1 (trigger unknown_format)", async () => {
    const dir = await home();
    const { trace } = await analyzeRun(path.join(UNSEEN, "helpdesk-bot-events.jsonl"), offline(dir));
    expect(trace.run.extractor.id).toMatch(/^synth-/);
    expect(trace.run.extractor.version).toBe("1");
    expect(trace.steps.filter((step) => step.tool).map((step) => step.tool!.name)).toEqual(["lookup_account", "unlock_account", "send_otp", "unlock_account"]);
    const versions = registryAt(dir, (registry) => registry.versions(trace.run.extractor.id));
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 1, parent_version: null, trigger: "unknown_format" });
    expect(versions[0]!.metrics?.coverage).toBe(1);
    expect(versions[0]!.fingerprint).toContain("key /payload/call_id");
  });

  it("the second of two similar runs reuses the extractor without synthesizing, and its parse is on record", async () => {
    const dir = await home();
    const first = await analyzeRun(otelTrace("any-agent_google", "GOOGLE_trace.json"), offline(dir));
    const second = await analyzeRun(otelTrace("any-agent_openai", "OPENAI_trace.json"), offline(dir));
    expect(second.trace.run.extractor).toEqual(first.trace.run.extractor);
    const { versions, runs } = registryAt(dir, (registry) => ({ versions: registry.versions(first.trace.run.extractor.id), runs: registry.runs(first.trace.run.extractor.id) }));
    expect(versions).toHaveLength(1);
    expect(runs.map((run) => [path.basename(run.run_path), run.reused])).toEqual([["GOOGLE_trace.json", 0], ["OPENAI_trace.json", 1]]);
    expect(runs[1]!.similarity).toBeGreaterThan(0.9);
    expect(runs[1]!.coverage).toBe(1);
    expect(second.trace.steps.filter((step) => step.tool).map((step) => step.tool!.name)).toEqual(["get_current_time", "write_file"]);
  });

  it("with --no-builtin a Harbor trial is read by a synthesized extractor with the built-in's steps (count and sources)", async () => {
    const trial = path.join(HARBOR, "bn-fit-modify__AWvGVmB");
    const builtin = await analyzeRun(trial, { ...offline(await home(), true), remember: false });
    const synthesized = await analyzeRun(trial, offline(await home(), false));
    expect(builtin.trace.run.extractor.id).toBe("harbor-atif");
    expect(synthesized.trace.run.extractor.id).toMatch(/^synth-/);
    expect(synthesized.trace.steps.map((step) => step.sources)).toEqual(builtin.trace.steps.map((step) => step.sources));
  });

  it("a registered extractor that reads a run poorly evolves: a new version with its parent and trigger low_coverage", async () => {
    const dir = await home();
    // A user's spec for this log that maps no field: every step comes out empty.
    registryAt(dir, (registry) =>
      registry.register({
        spec: { spec_language: 1, id: "helpdesk-events", format: "help-desk events", detect: { files: ["*.jsonl"], keys: ["/event", "/payload"] }, streams: [{ files: "*.jsonl", decode: "jsonl", rules: [{ emit: "step", keep_empty: true, map: {} }], pairing: { mode: "same_record" } }] },
        trigger: "user_edit",
      }),
    );
    const { trace } = await analyzeRun(path.join(UNSEEN, "helpdesk-bot-events.jsonl"), offline(dir));
    expect(trace.run.extractor).toEqual({ id: "helpdesk-events", version: "2" });
    expect(trace.steps.some((step) => step.tool?.name === "send_otp")).toBe(true);
    const { versions, runs } = registryAt(dir, (registry) => ({ versions: registry.versions("helpdesk-events"), runs: registry.runs("helpdesk-events") }));
    expect(versions.map((version) => [version.version, version.parent_version, version.trigger])).toEqual([[1, null, "user_edit"], [2, 1, "low_coverage"]]);
    expect(runs.map((run) => run.version)).toEqual([1, 2]);
    expect(runs[0]!.score).toBeLessThan(runs[1]!.score!);
  });

  it("re-analysing a run reuses the same version and gives the same steps (no silent change)", async () => {
    const dir = await home();
    const file = path.join(UNSEEN, "gemini-function-calling.json");
    const first = await analyzeRun(file, offline(dir));
    const again = await analyzeRun(file, offline(dir));
    expect(again.trace.run.extractor).toEqual(first.trace.run.extractor);
    expect(again.trace.steps).toEqual(first.trace.steps);
    const runs = registryAt(dir, (registry) => registry.runs(first.trace.run.extractor.id));
    expect(runs.map((run) => [run.version, run.reused, run.changed])).toEqual([[1, 0, 0], [1, 1, 0]]);
    expect(runs[0]!.steps_hash).toBe(runs[1]!.steps_hash);
  });

  it("when nothing can be synthesized the run fails with a one-line RunError naming the known formats", async () => {
    const dir = await home();
    const file = path.join(dir, "notes.txt");
    await writeFile(file, "Monday: the agent ran for a while.\nTuesday: it stopped.\n");
    const error = await analyzeRun(file, offline(dir)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RunError);
    expect((error as Error).message).toMatch(/unknown run format: no known extractor matches it/);
    expect((error as Error).message).toMatch(/Known formats: .*\[harbor-atif\]/);
    expect((error as Error).message).not.toContain("\n");
  });

  it("evolveExtractor counts its attempts and stops early when it cannot do better than the spec in use", async () => {
    const dir = await home();
    const run = await discoverRun(path.join(UNSEEN, "camel-role-playing.json"));
    const state = { run, options: offline(dir), evolveAttempts: 0, runFingerprint: await fingerprintRun(run) } as unknown as DiagnoseStateType;
    const first = await evolveExtractor(state);
    expect(first.evolveAttempts).toBe(1);
    expect(first.activeSpec?.version).toBe(1);
    // The chat has no tool calls, so validation calls it poor; evolving again finds nothing better.
    const again = await evolveExtractor({ ...state, evolveAttempts: 1, activeSpec: first.activeSpec, validation: { ok: false, problems: ["no step carries an agent action"], coverage: 1 } } as DiagnoseStateType);
    expect(again).toEqual({ evolveAttempts: MAX_EVOLVE_ATTEMPTS });
  });
});
