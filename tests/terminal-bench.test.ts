import { readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import stripAnsi from "strip-ansi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeCodeCast, harborClaudeCode } from "../extractors/claudeCode.js";
import { findRuns } from "../extractors/findRuns.js";
import { builtinExtractors } from "../extractors/index.js";
import { terminalBenchClaudeCode } from "../extractors/terminalBench.js";
import { discoverRun } from "../nodes/discover.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { FORMATS, TERMINAL_BENCH } from "./corpus.js";

const CAST = "sessions/agent.cast";
/** Every trial directory of the corpus: `<task>/<trial>/` holding a results.json. */
const TRIALS = readdirSync(TERMINAL_BENCH, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((task) => readdirSync(path.join(TERMINAL_BENCH, task.name)).map((trial) => `${task.name}/${trial}`))
  .sort();

/**
 * The tool_use ids of a cast, found without the extractor: all "o" output joined, escapes stripped,
 * every line that parses as a JSON object searched for assistant tool_use blocks; unique, in order.
 */
async function toolUseIdsOfCast(file: string): Promise<string[]> {
  const records = (await readFile(file, "utf8")).split("\n").slice(1).filter((line) => line.trim() !== "");
  const output = records.map((line) => JSON.parse(line) as [number, string, string]).filter((record) => record[1] === "o").map((record) => record[2]).join("");
  const ids: string[] = [];
  for (const line of stripAnsi(output).split(/\r?\n/)) {
    if (!line.trim().startsWith("{")) continue;
    let event: { type?: string; message?: { content?: { type?: string; id?: string }[] } };
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (event.type !== "assistant" || !Array.isArray(event.message?.content)) continue;
    for (const block of event.message.content) if (block.type === "tool_use" && block.id && !ids.includes(block.id)) ids.push(block.id);
  }
  return ids;
}

describe("terminal-bench trials (Claude Code inside sessions/agent.cast)", () => {
  it("findRuns finds exactly the trial directories, not the group results.json/run_metadata.json/tb.lock", async () => {
    const found = await findRuns(TERMINAL_BENCH);
    expect(found.map((run) => run.relative).sort()).toEqual(TRIALS);
    expect(TRIALS).toHaveLength(80);
  });

  it("has one tool step per unique tool_use id of the cast, in order, with tool.id set — on every trial", async () => {
    let checked = 0;
    for (const trial of TRIALS) {
      const run = await discoverRun(path.join(TERMINAL_BENCH, trial));
      if (!run.files.includes(CAST)) continue;
      const expected = await toolUseIdsOfCast(path.join(run.root, CAST));
      const extracted = await terminalBenchClaudeCode.extract(run).catch((err: Error) => err);
      if (extracted instanceof Error) {
        // Only a recording where the agent never printed an event may be refused.
        expect(expected, `${trial}: ${extracted.message}`).toEqual([]);
        continue;
      }
      expect(extracted.steps.filter((step) => step.tool).map((step) => step.tool!.id), trial).toEqual(expected);
      expect(extracted.warnings, trial).toBeUndefined();
      checked += 1;
    }
    expect(checked).toBe(78);
  });

  it("takes the outcome from results.json is_resolved wherever it is not null", async () => {
    let compared = 0;
    for (const trial of TRIALS) {
      const run = await discoverRun(path.join(TERMINAL_BENCH, trial));
      const results = JSON.parse(await readFile(path.join(run.root, "results.json"), "utf8"));
      const extracted = await terminalBenchClaudeCode.extract(run).catch(() => undefined);
      if (!extracted || results.is_resolved === null) continue;
      expect(extracted.outcome?.status, trial).toBe(results.is_resolved ? "passed" : "failed");
      compared += 1;
    }
    expect(compared).toBeGreaterThanOrEqual(76);
  });

  it("gives the failing parser_results and pytest lines as evidence, and the task from results.json", async () => {
    const run = await discoverRun(path.join(TERMINAL_BENCH, "blind-maze-explorer-5x5/blind-maze-explorer-5x5.1-of-1.2025-11-08__13-10-33"));
    const { outcome, task } = await terminalBenchClaudeCode.extract(run);
    expect(task).toMatch(/^You are placed in a blind maze exploration challenge/);
    expect(outcome?.status).toBe("failed");
    expect(outcome?.evidence).toContainEqual({ name: "test_maze_map_contents", status: "failed", source: { path: "results.json", pointer: "/parser_results/test_maze_map_contents" } });
    expect(outcome?.evidence).toContainEqual({
      name: "../tests/test_outputs.py::test_maze_map_file_exists",
      status: "failed",
      detail: "AssertionError: Could not find maze_map.txt file anywhere in the directory structure",
      source: { path: "panes/post-test.txt", line: 75 },
    });
    expect(outcome?.evidence).toContainEqual({ name: "pytest", status: "2 failed", detail: "2 failed in 0.21s", source: { path: "panes/post-test.txt", line: 77 } });
  });

  it("points each step at the cast record where its event starts", async () => {
    const run = await discoverRun(path.join(TERMINAL_BENCH, "fix-git/fix-git.1-of-1.2025-11-08__13-10-33"));
    const records = (await readFile(path.join(run.root, CAST), "utf8")).split("\n");
    const { steps } = await terminalBenchClaudeCode.extract(run);
    for (const step of steps) {
      const [action, result] = step.sources;
      expect(action?.path).toBe(CAST);
      expect(JSON.parse(records[action!.line! - 1]!)[2]).toMatch(/^\{"type":"assistant"/);
      if (step.observation) expect(JSON.parse(records[result!.line! - 1]!)[2]).toMatch(/^\{"type":"user"/);
    }
    const merge = steps.find((step) => step.tool?.command === "git merge 3565b6a");
    expect(merge?.observation).toMatchObject({ is_error: true });
    expect(merge?.observation?.text).toMatch(/CONFLICT \(content\): Merge conflict in _includes\/about\.md/);
  });

  it("says why a trial without agent actions cannot be analysed", async () => {
    const notRecorded = await discoverRun(path.join(TERMINAL_BENCH, "qemu-startup/qemu-startup.1-of-1.2025-11-08__13-10-33"));
    await expect(terminalBenchClaudeCode.extract(notRecorded)).rejects.toThrow(/without sessions\/agent\.cast/);
    const neverRan = await discoverRun(path.join(TERMINAL_BENCH, "extract-safely/extract-safely.1-of-1.2025-11-08__13-10-33"));
    await expect(terminalBenchClaudeCode.extract(neverRan)).rejects.toThrow(/no Claude Code stream-json events.*claude: command not found/);
  });
});

describe("stream-json events that the terminal wrapped or cut", () => {
  let dir: string;
  let records: string[];
  let target: number;
  const source = path.join(TERMINAL_BENCH, "fix-git/fix-git.1-of-1.2025-11-08__13-10-33", CAST);
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "codetracer-cast-"));
    records = (await readFile(source, "utf8")).split("\n");
    target = records.findIndex((line) => line.includes('{\\"type\\":\\"assistant\\"') && line.includes('\\"type\\":\\"tool_use\\"'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  /** A copy of the cast where the record holding the first tool_use event has its output changed. */
  async function castWith(change: (data: string) => string): Promise<string> {
    const record = JSON.parse(records[target]!) as [number, string, string];
    const copy = [...records];
    copy[target] = JSON.stringify([record[0], record[1], change(record[2])]);
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.cast`);
    await writeFile(file, copy.join("\n"));
    return file;
  }
  const atToolUse = (data: string) => data.indexOf('"type":"tool_use"');

  it("joins a JSON line that the terminal broke with \\r\\n, with no warning", async () => {
    expect(atToolUse(JSON.parse(records[target]!)[2])).toBeGreaterThan(0);
    const original = await claudeCodeCast.extract(await discoverRun(source));
    const wrapped = await castWith((data) => `${data.slice(0, atToolUse(data))}\r\n${data.slice(atToolUse(data))}`);
    const run = await discoverRun(wrapped);
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("claude-code-cast");
    const { steps, warnings } = await claudeCodeCast.extract(run);
    expect(warnings).toBeUndefined();
    expect(steps.map((step) => step.tool?.id)).toEqual(original.steps.map((step) => step.tool?.id));
    expect(steps.map((step) => step.sources.map((ref) => ref.line))).toEqual(original.steps.map((step) => step.sources.map((ref) => ref.line)));
  });

  it("counts an event cut short in warnings (with the record where it starts) and keeps the rest", async () => {
    const original = await claudeCodeCast.extract(await discoverRun(source));
    const cut = await castWith((data) => `${data.slice(0, atToolUse(data))}\r\n`);
    const { steps, warnings } = await claudeCodeCast.extract(await discoverRun(cut));
    // The cut event is lost, and so its result has no call to pair with: two warnings.
    expect(warnings?.count).toBe(2);
    expect(warnings?.first[0]?.source).toEqual({ path: path.basename(cut), line: target + 1 });
    expect(steps.filter((step) => step.tool)).toHaveLength(original.steps.filter((step) => step.tool).length - 1);
  });
});

describe("formats/terminal-bench samples", () => {
  const sample = (relative: string) => path.join(FORMATS, "terminal-bench", relative);

  it("terminal-bench 1 run folder (fix-pandas-version): 20 steps, 19 tool calls, passed", async () => {
    const run = await discoverRun(sample("tb1_claude-code_fix-pandas-version/claude_code_c4/fix-pandas-version/fix-pandas-version.1-of-1.2025-11-08__13-10-33"));
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("terminal-bench-claude-code");
    const { steps, outcome, task } = await terminalBenchClaudeCode.extract(run);
    expect(steps).toHaveLength(20);
    expect(steps.filter((step) => step.tool)).toHaveLength(19);
    expect(steps[2]).toMatchObject({
      tool: { name: "Bash", id: "toolu_vrtx_01YNePDvZ2jzMSeComgEirsf", command: `python -c "import pandas as pd; print(f'Pandas version: {pd.__version__}')"` },
      observation: { text: "Pandas version: 1.3.0", is_error: false },
      sources: [{ path: CAST, line: 258 }, { path: CAST, line: 274 }, { path: CAST, line: 257 }],
    });
    expect(steps[2]?.text).toMatch(/^Let me start by investigating the current environment/);
    expect(steps[12]?.tool?.command).toBe("pip install --upgrade pandas>=2.0.0");
    expect(steps[19]).toMatchObject({ kind: "message", actor: "agent", sources: [{ path: CAST, line: 507 }] });
    expect(steps[19]?.text).toMatch(/^## Summary/);
    expect(task).toMatch(/^You are working on a data analysis project/);
    expect(outcome?.status).toBe("passed");
    expect(outcome?.evidence.map((evidence) => [evidence.name, evidence.status])).toEqual([
      ["is_resolved", "true"],
      ["pytest", "3 passed"],
      ["claude-code result", "success"],
    ]);
  });

  it("Harbor trial configure-git-webserver: ATIF primary (43 steps); claude-code.txt alone gives its 23 calls", async () => {
    const run = await discoverRun(sample("harbor_claude-code_kimi-k2.5_configure-git-webserver/kimi_k2.5/configure-git-webserver__RDfH8Xr"));
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("harbor-atif");
    const atif = JSON.parse(await readFile(path.join(run.root, "agent/trajectory.json"), "utf8"));
    expect(atif.steps).toHaveLength(43);
    const { steps, outcome } = await harborClaudeCode.extract(run);
    expect(steps).toHaveLength(24);
    expect(steps.filter((step) => step.tool)).toHaveLength(23);
    // Line 2 proposed Bash:0 and nothing ran it; TodoWrite:0 ran (line 6) before Bash:1 was re-emitted (line 9).
    expect(steps.slice(0, 3).map((step) => [step.tool?.id, step.sources[0]?.line])).toEqual([
      ["functions.Bash:0", 2],
      ["functions.TodoWrite:0", 6],
      ["functions.Bash:1", 9],
    ]);
    expect(steps[0]?.observation).toBeUndefined();
    expect(steps[1]?.text).toMatch(/I'll help you set up a git server/);
    expect(steps.at(-1)).toMatchObject({ kind: "message", sources: [{ line: 71 }, { line: 72 }] });
    expect(outcome?.status).toBe("passed");
  });

  it("Harbor trial count-dataset-tokens: ATIF primary (19 steps); claude-code.txt alone gives 8 calls, failed", async () => {
    const run = await discoverRun(sample("harbor_claude-code_kimi-k2.5_count-dataset-tokens/kimi_k2.5/count-dataset-tokens__RWDmuaA"));
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("harbor-atif");
    const { steps, outcome } = await harborClaudeCode.extract(run);
    expect(steps).toHaveLength(9);
    expect(steps[0]).toMatchObject({
      tool: { name: "WebFetch", id: "functions.WebFetch:0", args: { prompt: ": ", url: "https://huggingface.co/datasets/ryanmarten/OpenThoughts-1k-sample/readme" } },
      observation: { is_error: true },
    });
    expect(steps[2]?.tool).toMatchObject({ name: "Write", id: "functions.Write:2", args: { file_path: "/app/count_tokens.py", content: ":" } });
    expect(outcome?.status).toBe("failed");
    expect(outcome?.evidence[0]?.name).toBe("test_outputs.py::test_command_output_content_example");
  });
});
