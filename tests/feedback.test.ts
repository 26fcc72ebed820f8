import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { FailureCase } from "../memory/failureCases.js";
import { FeedbackLog } from "../memory/feedbackLog.js";
import { FAILURES, VectorMemory } from "../memory/vectorStore.js";
import { Diagnosis } from "../schema/diagnosis.js";
import { Trace } from "../schema/trace.js";
import { HARBOR, LABELS } from "./corpus.js";

/** A labelled failed run: the person's answer comes from the label set, not from our diagnosis. */
const record = readFileSync(path.join(LABELS, "kimi-silver-dev.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line)).find((item) => item.id === "caffe-cifar-10__incQ5z3");
const RUN = path.join(HARBOR, record.id);
const LABELLED_ONSET = Number(record.labels.onset.pointer.split("/").pop()) + 1;

let root: string;
let home: string;
let out: string;
let stdout: string[];
let stderr: string[];

/** Run the CLI as a user would; stdout lines are collected. */
async function cli(...args: string[]): Promise<number> {
  return main([...args, "--home", home]);
}
const lastJson = () => JSON.parse(stdout.join("\n").slice(stdout.join("\n").indexOf("{")));
const storedCase = async () => {
  const memory = await VectorMemory.open(home);
  try {
    const stored = memory.get(FAILURES, RUN);
    return stored && FailureCase.parse(stored.metadata);
  } finally {
    memory.close();
  }
};

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), "codetracer-feedback-"));
  home = path.join(root, "home");
  out = path.join(root, "out");
  const quiet = vi.spyOn(console, "log").mockImplementation(() => undefined);
  expect(await main(["analyze", RUN, "--out", out, "--home", home, "--llm", "off"])).toBe(0);
  quiet.mockRestore();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  stdout = [];
  stderr = [];
  vi.spyOn(console, "log").mockImplementation((...args) => void stdout.push(args.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...args) => void stderr.push(args.join(" ")));
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return () => vi.restoreAllMocks();
});

describe("analyze remembers a failed run", () => {
  it("as an unconfirmed failure case holding the diagnosis", async () => {
    const diagnosis = Diagnosis.parse(JSON.parse(readFileSync(path.join(out, "diagnosis.json"), "utf8")));
    const failure = (await storedCase())!;
    expect(failure).toMatchObject({ confirmed: false, source: "analysis", category: diagnosis.failure_category });
    expect(failure.onset?.step_id).toBe(diagnosis.onset?.step_id);
  });
});

describe("codetracer feedback", () => {
  it("refuses step ids the run does not have, unknown categories and contradictions (exit 2)", async () => {
    const steps = Trace.parse(JSON.parse(readFileSync(path.join(out, "trace.json"), "utf8"))).steps.length;
    expect(await cli("feedback", out, "--onset", String(steps + 1))).toBe(2);
    expect(stderr.join("\n")).toMatch(new RegExp(`step ${steps + 1} is not in this run \\(steps 1\\.\\.${steps}\\)`));
    expect(await cli("feedback", out, "--onset", "x")).toBe(2);
    expect(await cli("feedback", out, "--onset", String(LABELLED_ONSET), "--category", "bad_luck")).toBe(2);
    expect(await cli("feedback", out, "--onset", String(LABELLED_ONSET), "--incorrect", String(LABELLED_ONSET - 1))).toBe(2);
    expect(await cli("feedback", out, "--onset", String(LABELLED_ONSET), "--unuseful", String(LABELLED_ONSET))).toBe(2);
    expect(await cli("feedback", root, "--onset", "3")).toBe(2);
    expect(stderr.join("\n")).toMatch(/no trace\.json here/);
    expect((await storedCase())!.confirmed).toBe(false);
  });

  it("turns the run into a confirmed case with the person's onset, steps and category", async () => {
    const incorrect = record.labels.incorrect.map((ref: { pointer: string }) => Number(ref.pointer.split("/").pop()) + 1);
    expect(await cli("feedback", out, "--onset", String(LABELLED_ONSET), "--incorrect", incorrect.join(","), "--category", record.failure_category, "--note", "garbled calls", "--json")).toBe(0);
    const result = lastJson();
    expect(result).toMatchObject({ run: RUN, onset: LABELLED_ONSET, incorrect, category: record.failure_category, case_id: RUN, confirmed_cases: 1 });
    const failure = (await storedCase())!;
    expect(failure).toMatchObject({ confirmed: true, source: "feedback", category: record.failure_category, note: "garbled calls" });
    expect(failure.labels.onset).toMatchObject({ step_id: LABELLED_ONSET, source: record.labels.onset });
    expect(failure.labels.incorrect.map((step) => step.step_id)).toEqual(incorrect);
  });

  it("corrects the onset, keeping the diagnosis' later steps when none are given", async () => {
    const diagnosis = Diagnosis.parse(JSON.parse(readFileSync(path.join(out, "diagnosis.json"), "utf8")));
    const corrected = LABELLED_ONSET + 2;
    expect(await cli("feedback", out, "--onset", String(corrected), "--json")).toBe(0);
    const result = lastJson();
    expect(result.agrees).toBe(diagnosis.onset?.step_id === corrected);
    expect(result.incorrect).toEqual([corrected, ...diagnosis.incorrect_step_ids.filter((id) => id > corrected)]);
    expect((await storedCase())!.onset?.step_id).toBe(corrected);
    const log = new FeedbackLog(home);
    expect(log.summary().by_source).toEqual({ feedback: 2 });
    log.close();
  });

  it("outlives re-analysis: analyzing the run again keeps the confirmed case", async () => {
    expect(await main(["analyze", RUN, "--out", out, "--home", home, "--llm", "off"])).toBe(0);
    expect((await storedCase())!.confirmed).toBe(true);
  });
});

describe("codetracer memory", () => {
  it("stats: SQLite and the index agree, per namespace", async () => {
    expect(await cli("memory", "stats", "--json")).toBe(0);
    const stats = lastJson();
    expect(stats.consistent).toBe(true);
    expect(stats.namespaces).toEqual(expect.arrayContaining([expect.objectContaining({ namespace: "failures", documents: 1, indexed: 1, confirmed: 1 })]));
    expect(stats.feedback.total).toBe(2);
    expect(stats.runs).toBe(1);
  });

  it("search, export and rebuild", async () => {
    expect(await cli("memory", "search", "garbled Bash calls while building caffe", "-k", "3", "--json")).toBe(0);
    const hits = JSON.parse(stdout.join("\n"));
    expect(hits.map((hit: { id: string }) => hit.id)).toEqual([RUN]);
    expect(await cli("memory", "search", "x", "-k", "0")).toBe(2);
    expect(await cli("memory", "search", "x", "--namespace", "../etc")).toBe(2);

    const file = path.join(root, "memory.jsonl");
    stdout = [];
    expect(await cli("memory", "export", "--out", file, "--json")).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ namespace: "failures", id: RUN, embedding: "hashed-ngrams-v1-512", metadata: { confirmed: true } });

    rmSync(path.join(home, "vectors"), { recursive: true });
    stdout = [];
    expect(await cli("memory", "rebuild", "--json")).toBe(0);
    expect(JSON.parse(stdout.join("\n"))).toEqual(expect.arrayContaining([expect.objectContaining({ namespace: "failures", documents: 1, indexed: 1 })]));
  });
});
