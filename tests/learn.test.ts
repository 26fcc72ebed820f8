import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { learnEval, rankById, type LearnResult } from "../evals/learn.js";
import { formatLearnTable, learningChart } from "../evals/learnReport.js";
import { LABELS } from "./corpus.js";

/**
 * `eval --learn k` on a pooled manifest of real labelled runs from both dev sets (the cross-set use
 * case: the same task run by two agents). A subset keeps the test short; the full numbers are in
 * evals/README.md.
 */
const PICK = ["gpt2-codegolf", "password-recovery", "caffe-cifar-10", "fix-git", "c4__oom", "c4__solana-data", "chess-best-move", "c4__vim-terminal-task"];

let scratch: string;
let manifest: string;
let records: { id: string; path: string }[];
let result: LearnResult;

/** A manifest pooling records of both label sets, with absolute run paths so it can live anywhere. */
function writePooledManifest(file: string, order: (items: object[]) => object[] = (items) => items): void {
  const lines = order(records).map((item) => JSON.stringify(item));
  writeFileSync(file, `${lines.join("\n")}\n`);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "codetracer-learn-test-"));
  records = ["kimi-silver-dev.jsonl", "claude-code-silver-dev.jsonl"]
    .flatMap((file) => readFileSync(path.join(LABELS, file), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line)))
    .filter((item) => PICK.some((name) => item.id.includes(name)))
    .map((item) => ({ ...item, path: path.resolve(LABELS, item.path) }));
  manifest = path.join(scratch, "pooled.jsonl");
  writePooledManifest(manifest);
  result = await learnEval([manifest], { folds: 4 });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("eval --learn", () => {
  it("scores every run cold and warm, with a curve from an empty memory to all other folds", () => {
    expect(records).toHaveLength(10);
    expect(result).toMatchObject({ folds: 4, runs: 10, importErrors: [] });
    expect(result.curve.map((point) => point.share)).toEqual([0, 0.25, 0.5, 1]);
    expect(result.curve[0]!.remembered).toBe(0);
    const remembered = result.curve.map((point) => point.remembered);
    expect([...remembered].sort((a, b) => a - b)).toEqual(remembered);
    // All other folds: each fold of 10 runs over 4 folds remembers the 7 or 8 runs outside it.
    expect(result.curve.at(-1)!.remembered).toBe(7.5);
    expect(result.cold).toEqual(result.curve[0]!.scores);
    expect(result.warm).toEqual(result.curve.at(-1)!.scores);
    for (const point of result.curve) expect(point.scores.runs).toBe(10);
  });

  it("cuts folds by the hash of the run id, whatever the manifest's order", async () => {
    const foldSizes = [0, 1, 2, 3].map((fold) => result.perRun.filter((run) => run.fold === fold).length).sort();
    expect(foldSizes).toEqual([2, 2, 3, 3]);
    expect(rankById([...records].reverse()).map((item) => item.id)).toEqual(rankById(records).map((item) => item.id));

    const reversed = path.join(scratch, "reversed.jsonl");
    writePooledManifest(reversed, (items) => [...items].reverse());
    const again = await learnEval([reversed], { folds: 4 });
    const byId = (run: LearnResult["perRun"][number]) => run.id;
    expect([...again.perRun].sort((a, b) => byId(a).localeCompare(byId(b)))).toEqual([...result.perRun].sort((a, b) => byId(a).localeCompare(byId(b))));
    expect(again.curve).toEqual(result.curve);
  });

  it("recalls the other agent's run of the same task when it sits in another fold, and never a run of the fold being scored", () => {
    const pairs = ["gpt2-codegolf", "password-recovery"].map((task) => result.perRun.filter((run) => run.id.includes(task)));
    expect(pairs.some(([a, b]) => a!.fold !== b!.fold)).toBe(true);
    for (const pair of pairs) {
      expect(pair).toHaveLength(2);
      const split = pair[0]!.fold !== pair[1]!.fold;
      for (const run of pair) expect(run.warm.cases > 0).toBe(split);
    }
    // Tasks seen only once in the pool have no related failure to recall.
    expect(result.perRun.filter((run) => run.id.includes("caffe-cifar-10")).map((run) => run.warm.cases)).toEqual([0]);
  });

  it("prints the table and draws the curve", () => {
    const table = formatLearnTable(result);
    expect(table).toMatch(/^learning from memory: 4 folds over 10 labelled runs/);
    expect(table).toContain("cold (empty memory)");
    expect(table).toContain("warm, 100% of other folds");
    expect(table).toMatch(/warm − cold\s+[+-]\d/);
    const chart = learningChart(result.curve);
    expect(chart.match(/<polyline/g)).toHaveLength(6);
    expect(chart).toContain("confirmed cases remembered");
  });

  it("runs from the CLI on pooled manifests in temporary homes, leaving --home untouched, and adds the curve to the report", async () => {
    const home = path.join(scratch, "user-home");
    const report = path.join(scratch, "learn.html");
    const out: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args) => void out.push(args.join(" ")));
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      // The two agents' label sets as two manifests, pooled on the command line.
      const [kimi, claude] = [path.join(scratch, "kimi.jsonl"), path.join(scratch, "claude.jsonl")];
      writeFileSync(kimi, records.filter((item) => !item.id.startsWith("c4__")).map((item) => JSON.stringify(item)).join("\n"));
      writeFileSync(claude, records.filter((item) => item.id.startsWith("c4__")).map((item) => JSON.stringify(item)).join("\n"));
      expect(await main(["eval", kimi, "--pool", claude, "--learn", "2", "--home", home, "--report", report])).toBe(0);
      expect(await main(["eval", manifest, "--learn", "1"])).toBe(2);
    } finally {
      vi.restoreAllMocks();
    }
    expect(existsSync(home)).toBe(false);
    expect(out[0]).toMatch(/^learning from memory: 2 folds over 10 labelled runs/);
    const html = readFileSync(report, "utf8");
    expect(html).toContain('<h2 id="learning">Learning from memory (2-fold)</h2>');
    expect(html).toContain("<svg");
    expect(html.indexOf("Learning from memory")).toBeLessThan(html.indexOf("</body>"));
  });
});
