import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { memoryStats } from "../memory/commands.js";
import { namespaceDir, readPublished } from "../memory/snapshot.js";
import { FAILURES } from "../memory/vectorStore.js";
import { HARBOR, REPO } from "./corpus.js";

const root = mkdtempSync(path.join(os.tmpdir(), "codetracer-memory-batch-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A manifest of real Harbor trials (batch accepts one), so the batch is small but real. */
function manifestOf(count: number): string {
  const runs = readdirSync(HARBOR).filter((name) => existsSync(path.join(HARBOR, name, "agent", "trajectory.json"))).sort().slice(0, count);
  const file = path.join(root, "runs.jsonl");
  writeFileSync(file, runs.map((name) => JSON.stringify({ id: name, path: path.relative(root, path.join(HARBOR, name)) })).join("\n"));
  return file;
}

const indexLines = (out: string) => (existsSync(path.join(out, "index.jsonl")) ? readFileSync(path.join(out, "index.jsonl"), "utf8").split("\n").filter(Boolean) : []);

describe("a batch killed with SIGKILL while it writes memory", () => {
  it("leaves an intact store; re-running skips finished runs and memory agrees with SQLite and the outputs", async () => {
    const manifest = manifestOf(16);
    const out = path.join(root, "out");
    const home = path.join(root, "home");
    const args = ["batch", manifest, "--out", out, "--home", home, "--llm", "off", "--concurrency", "2"];
    // The CLI in one child process (what bin/codetracer runs, from the sources), killed once 3 runs are done.
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", "import { main } from './cli/main.ts'; process.exitCode = await main(process.argv.slice(1));", "--", ...args], { cwd: REPO, stdio: "ignore" });
    const poll = setInterval(() => {
      if (indexLines(out).length >= 3) child.kill("SIGKILL");
    }, 20);
    const signal = await new Promise((resolve) => child.on("close", (_, signal) => resolve(signal)));
    clearInterval(poll);
    expect(signal).toBe("SIGKILL");
    const finishedBeforeKill = indexLines(out).length;

    const db = new Database(path.join(home, "codetracer.db"));
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
    expect(["ok", "missing"]).toContain(readPublished(namespaceDir(home, FAILURES)).status);

    const stderr: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    expect(await main(args)).toBe(0);
    vi.restoreAllMocks();
    expect(stderr.join("")).toContain(`skipping ${finishedBeforeKill} run(s) finished earlier`);

    const records = indexLines(out).map((line) => JSON.parse(line) as { out: string; status: string });
    const done = records.filter((record) => record.status === "ok");
    expect(new Set(done.map((record) => record.out)).size).toBe(16);
    const failedRuns = done.filter((record) => JSON.parse(readFileSync(path.join(out, record.out, "diagnosis.json"), "utf8")).failed === true).length;
    const stats = await memoryStats({ home });
    expect(stats.consistent).toBe(true);
    expect(stats.namespaces.find((ns) => ns.namespace === FAILURES)).toMatchObject({ documents: failedRuns, indexed: failedRuns });
    expect(stats.runs).toBe(16);
  });
});
