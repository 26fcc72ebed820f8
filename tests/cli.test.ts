import { execFile } from "node:child_process";
import { cp, mkdtemp, mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { IndexRecord } from "../outputs/batch.js";
import { Diagnosis, Labels } from "../schema/diagnosis.js";
import { ReplayPlan } from "../schema/replay.js";
import { Trace } from "../schema/trace.js";
import { HARBOR, LABELS, REPO } from "./corpus.js";

const DEMO = path.join(REPO, "examples", "harbor-demo__fib01");
let stdout: string[];
let stderr: string[];
let home: string;

beforeEach(async () => {
  stdout = [];
  stderr = [];
  vi.spyOn(console, "log").mockImplementation((...args) => void stdout.push(args.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...args) => void stderr.push(args.join(" ")));
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  home = await mkdtemp(path.join(os.tmpdir(), "ct-cli-home-"));
});
afterEach(() => vi.restoreAllMocks());

const tempDir = (name: string) => mkdtemp(path.join(os.tmpdir(), `ct-${name}-`));
const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8"));

describe("codetracer analyze", () => {
  it("writes the five output files, each valid by its schema", async () => {
    const out = await tempDir("analyze");
    expect(await main(["analyze", DEMO, "--out", out, "--home", home])).toBe(0);
    expect((await readdir(out)).sort()).toEqual(expect.arrayContaining(["diagnosis.json", "labels.json", "replay.json", "report.html", "trace.json"]));
    const trace = Trace.parse(await readJson(path.join(out, "trace.json")));
    expect(trace.steps).toHaveLength(9);
    Diagnosis.parse(await readJson(path.join(out, "diagnosis.json")));
    Labels.parse(await readJson(path.join(out, "labels.json")));
    ReplayPlan.parse(await readJson(path.join(out, "replay.json")));
    const html = await readFile(path.join(out, "report.html"), "utf8");
    expect(html).toContain("<details");
    expect(html).toContain("agent/trajectory.json#/steps/3");
    expect(stdout.join("\n")).toMatch(/onset\s+step \d+/);
  });

  it("prints machine-readable JSON with --json", async () => {
    const out = await tempDir("analyze-json");
    expect(await main(["analyze", DEMO, "--out", out, "--home", home, "--json"])).toBe(0);
    const summary = JSON.parse(stdout.join("\n"));
    expect(summary).toMatchObject({ steps: 9, outcome: "failed", failed: true });
    for (const file of ["trace.json", "diagnosis.json", "labels.json", "replay.json", "report.html"]) {
      expect(summary.files).toContain(path.join(out, file));
    }
  });

  it("exits 1 with a one-line reason for a truncated trajectory, an empty directory and a binary file", async () => {
    const dir = await tempDir("bad");
    const truncated = path.join(dir, "truncated");
    await cp(DEMO, truncated, { recursive: true });
    const trajectory = path.join(truncated, "agent", "trajectory.json");
    const text = await readFile(trajectory, "utf8");
    await writeFile(trajectory, text.slice(0, Math.floor(text.length / 2)));
    await mkdir(path.join(dir, "empty"));
    await writeFile(path.join(dir, "blob.bin"), Buffer.from([0, 159, 146, 150, 0, 1]));
    for (const [input, reason] of [[truncated, /trajectory\.json is not valid JSON/], [path.join(dir, "empty"), /empty/], [path.join(dir, "blob.bin"), /binary/]] as const) {
      stderr = [];
      expect(await main(["analyze", input, "--out", path.join(dir, "out"), "--home", home])).toBe(1);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toMatch(reason);
      expect(stderr[0]).not.toContain("\n");
    }
  });

  it("exits 1 naming the known formats when no extractor reads the run", async () => {
    const dir = await tempDir("unknown");
    await writeFile(path.join(dir, "notes.txt"), "nothing an agent wrote\n");
    expect(await main(["analyze", dir, "--out", path.join(dir, "out"), "--home", home, "--llm", "off"])).toBe(1);
    expect(stderr.join(" ")).toMatch(/Known formats: .*harbor/);
  });

  it("exits 2 on bad usage", async () => {
    expect(await main(["analyze", DEMO])).toBe(2); // --out missing
    expect(await main(["analyze", DEMO, "--out", "/tmp/x", "--llm", "sometimes"])).toBe(2);
    expect(await main(["no-such-command"])).toBe(2);
  });
});

describe("codetracer batch", () => {
  it("analyses every Harbor trial: one index line per trial, ok wherever there is a trajectory", async () => {
    const out = await tempDir("batch-harbor");
    expect(await main(["batch", HARBOR, "--out", out, "--home", home, "--concurrency", "2"])).toBe(0);
    const lines = (await readFile(path.join(out, "index.jsonl"), "utf8")).trim().split("\n").map((line) => IndexRecord.parse(JSON.parse(line)));
    const trials = (await readdir(HARBOR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(lines.map((line) => line.run).sort()).toEqual(trials.sort());
    for (const line of lines) {
      const hasTrajectory = await stat(path.join(HARBOR, line.run, "agent", "trajectory.json")).then(() => true, () => false);
      if (hasTrajectory) {
        expect(line.status, line.run).toBe("ok");
        const trajectory = await readJson(path.join(HARBOR, line.run, "agent", "trajectory.json"));
        expect(line.steps).toBe(trajectory.steps.length);
      }
    }
  });

  it("keeps going past broken runs, and a re-run skips what is finished", async () => {
    const root = await tempDir("batch-mixed");
    await cp(DEMO, path.join(root, "good-trial"), { recursive: true });
    await cp(DEMO, path.join(root, "broken-trial"), { recursive: true });
    await writeFile(path.join(root, "broken-trial", "agent", "trajectory.json"), '{"schema_version": "ATIF-v1.2", "steps": [{"step_id": 1,');
    const out = await tempDir("batch-mixed-out");
    expect(await main(["batch", root, "--out", out, "--home", home])).toBe(0);
    const first = (await readFile(path.join(out, "index.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(first.find((line) => line.run === "good-trial")).toMatchObject({ status: "ok", steps: 9 });
    expect(first.find((line) => line.run === "broken-trial")).toMatchObject({ status: "error", error: expect.stringMatching(/not valid JSON/) });
    const goodTrace = path.join(out, "good-trial", "trace.json");
    const before = (await stat(goodTrace)).mtimeMs;
    expect(await main(["batch", root, "--out", out, "--home", home])).toBe(0);
    expect((await stat(goodTrace)).mtimeMs).toBe(before);
    const second = (await readFile(path.join(out, "index.jsonl"), "utf8")).trim().split("\n");
    expect(second).toHaveLength(2);
  });
});

describe("codetracer eval", () => {
  it("scores the Harbor dev set beside the trivial baselines and writes eval.json", async () => {
    const out = await tempDir("eval");
    expect(await main(["eval", path.join(LABELS, "kimi-silver-dev.jsonl"), "--out", out, "--home", home])).toBe(0);
    const table = stdout.join("\n");
    for (const row of ["codetracer", "first agent step", "first error step", "last step"]) expect(table).toContain(row);
    const result = await readJson(path.join(out, "eval.json"));
    expect(result.runs).toHaveLength(20);
    expect(result.runs.every((run: { status: string; unresolved: number }) => run.status === "ok" && run.unresolved === 0)).toBe(true);
    expect(result.system.onset.runs).toBe(20);
  });
});

describe("bin/codetracer", () => {
  it("runs the compiled CLI and maps a bad run to exit code 1", async () => {
    const run = promisify(execFile);
    const bin = path.join(REPO, "bin", "codetracer");
    const ok = await run(bin, ["analyze", DEMO, "--out", await tempDir("bin"), "--home", home, "--json"]);
    expect(JSON.parse(ok.stdout).steps).toBe(9);
    const failed = await run(bin, ["analyze", path.join(REPO, "no-such-run"), "--out", await tempDir("bin2"), "--home", home]).catch((err) => err);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/no such file or directory/);
  });
});
