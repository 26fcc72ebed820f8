import { readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeCodeStreamJson, harborClaudeCode } from "../extractors/claudeCode.js";
import { MAX_TEXT_CHARS } from "../extractors/claudeCodeEvents.js";
import { builtinExtractors } from "../extractors/index.js";
import { harborOutcome } from "../extractors/verifiers.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { discoverRun } from "../nodes/discover.js";
import type { Step } from "../schema/step.js";
import { HARBOR } from "./corpus.js";

const trial = (name: string) => path.join(HARBOR, name);
const LOG = "agent/claude-code.txt";
const lines = (step: Step | undefined) => step?.sources.map((source) => source.line);
const byToolId = (steps: Step[], id: string) => steps.filter((step) => step.tool?.id === id);

describe("Harbor trial without trajectory.json: read from agent/claude-code.txt", () => {
  it("is chosen only when ATIF is missing (ATIF stays primary)", async () => {
    expect((await bestExtractor(await discoverRun(trial("train-fasttext__yedcSJz")), builtinExtractors))?.id).toBe("harbor-claude-code");
    expect((await bestExtractor(await discoverRun(trial("bn-fit-modify__AWvGVmB")), builtinExtractors))?.id).toBe("harbor-atif");
  });

  it("makes one step per tool call: kimi's second emission of a tool_use is the same call, and the one that ran", async () => {
    const { steps } = await harborClaudeCode.extract(await discoverRun(trial("train-fasttext__yedcSJz")));
    expect(steps.filter((step) => step.tool)).toHaveLength(46);
    // Line 19 (zero usage) proposed `pip install …`, line 20 re-emitted functions.Bash:6 with what ran.
    const [bash6, ...others] = byToolId(steps, "functions.Bash:6");
    expect(others).toHaveLength(0);
    expect(bash6?.tool?.command).toMatch(/^python3 -c "import pandas as pd; df = pd.read_parquet\('\/app\/data\/test-00000/);
    expect(bash6?.observation?.text).toMatch(/^\(10000, 2\)/);
    expect(bash6?.sources).toEqual([{ path: LOG, line: 20 }, { path: LOG, line: 21 }, { path: LOG, line: 19 }]);
  });

  it("gives a call the thinking that precedes it in its message, keeps is_error and the exit code", async () => {
    const { steps } = await harborClaudeCode.extract(await discoverRun(trial("train-fasttext__yedcSJz")));
    const bash2 = byToolId(steps, "functions.Bash:2")[0];
    expect(bash2?.thought).toMatch(/^Let me explore the data a bit more/);
    expect(bash2?.tool).toEqual({ name: "Bash", id: "functions.Bash:2", args: { command: ": ", description: ":0," }, command: ": " });
    expect(lines(bash2)).toEqual([9, 10, 7, 8]);
    const bash10 = byToolId(steps, "functions.Bash:10")[0];
    expect(bash10?.observation).toMatchObject({ is_error: true, exit_code: 127 });
    expect(bash10?.observation?.text).toMatch(/^Exit code 127\n\/bin\/bash: line 1: :0,: command not found/);
  });

  it("takes the outcome from the Harbor verifier", async () => {
    const run = await discoverRun(trial("train-fasttext__yedcSJz"));
    const { outcome } = await harborClaudeCode.extract(run);
    expect(outcome).toEqual(await harborOutcome(run));
    expect(outcome?.status).toBe("failed");
  });

  it("puts the calls of one assistant message in one parallel group, text and thinking on the first", async () => {
    const { steps } = await harborClaudeCode.extract(await discoverRun(trial("compile-compcert__s8VSGqn")));
    const [first, second, third, fourth] = steps;
    expect([first, second, third].map((step) => step?.tool?.id)).toEqual(["functions.Bash:0", "functions.Bash:1", "functions.Bash:2"]);
    expect(new Set([first, second, third].map((step) => step?.parallel_group))).toEqual(new Set(["chatcmpl-R5lihOfCVTNcpZwtxcW7VGps"]));
    expect(fourth?.parallel_group).not.toBe(first?.parallel_group);
    expect(first?.text).toMatch(/I'll build CompCert 3\.13\.1 from source/);
    expect(first?.thought).toMatch(/^The user wants me to build the CompCert/);
    expect(second?.text).toBeUndefined();
    // The re-emission (line 6) ran, not the zero-usage proposal of line 2.
    expect(first?.tool?.command).toBe(":");
    expect(lines(first)).toEqual([6, 9, 2, 4, 5]);
  });

  it("pairs results by position when kimi reuses an id (a subagent restarts at functions.WebSearch:0)", async () => {
    const { steps } = await harborClaudeCode.extract(await discoverRun(trial("mteb-leaderboard__HXSehEN")));
    const searches = byToolId(steps, "functions.WebSearch:0");
    expect(searches.map(lines)).toEqual([
      [3, 4, 2],
      [90, 91, 88],
    ]);
    expect(searches[0]?.observation?.text).toMatch(/^Web search results for query: "Scandinavian MTEB leaderboard/);
    expect(searches[1]?.observation?.text).toMatch(/^Web search results for query: ": "/);
    // The subagent's prompt (line 86) repeats the Agent call's input: it is a source of that call, not a step.
    const agent = byToolId(steps, "functions.Agent:25")[0];
    expect(lines(agent)).toContain(86);
    expect(steps.some((step) => step.actor === "user")).toBe(false);
  });

  it("attaches a PDF returned by Read (an isSynthetic user event) to that call, never its base64", async () => {
    const { steps, task } = await harborClaudeCode.extract(await discoverRun(trial("financial-document-processor__FkdfmDK")));
    const read3 = byToolId(steps, "functions.Read:3")[0];
    expect(read3?.observation?.text).toBe("PDF file read: /app/documents/Msyz63aQ6Txz.pdf (8.2KB)\n[document application/pdf]");
    expect(lines(read3)).toEqual([8, 13, 14]);
    expect(task).toBeUndefined();
  });

  it("agrees with ATIF on every tool call of every trial that has both (same id, same arguments)", async () => {
    const canonical = (value: unknown) => JSON.stringify(value, (_key, inner) => (inner && typeof inner === "object" && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort()) : inner));
    const trials = readdirSync(HARBOR).filter((name) => name.includes("__"));
    let compared = 0;
    for (const name of trials) {
      const run = await discoverRun(trial(name));
      if (!run.files.includes("agent/trajectory.json")) continue;
      const atif = JSON.parse(await readFile(path.join(run.root, "agent/trajectory.json"), "utf8"));
      const { steps, warnings } = await harborClaudeCode.extract(run);
      expect(warnings, name).toBeUndefined();
      const mine = new Set(steps.filter((step) => step.tool).map((step) => `${step.tool!.id} ${canonical(step.tool!.args)}`));
      for (const call of atif.steps.flatMap((step: { tool_calls?: unknown[] }) => step.tool_calls ?? [])) {
        if (canonical(call.arguments).length > MAX_TEXT_CHARS) continue; // clipped on our side by design
        expect(mine.has(`${call.tool_call_id} ${canonical(call.arguments)}`), `${name} ${call.tool_call_id}`).toBe(true);
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(1500);
  });
});

describe("A stream-json file analysed on its own", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "codetracer-cc-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is recognised from its first line and gives the same steps as the Harbor trial", async () => {
    const file = path.join(trial("train-fasttext__yedcSJz"), LOG);
    const run = await discoverRun(file);
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("claude-code-stream-json");
    const alone = await claudeCodeStreamJson.extract(run);
    const inTrial = await harborClaudeCode.extract(await discoverRun(trial("train-fasttext__yedcSJz")));
    const relativeTo = (steps: Step[]) => steps.map((step) => ({ ...step, sources: step.sources.map((source) => source.line) }));
    expect(relativeTo(alone.steps)).toEqual(relativeTo(inTrial.steps));
    expect(alone.steps[0]?.sources[0]).toEqual({ path: "claude-code.txt", line: 2 });
    expect(alone.outcome?.status).toBe("unknown"); // no verifier, and this session has no result event
  });

  it("counts undecodable lines in warnings with their lines, keeps going, and reads an error result as failed", async () => {
    const real = (await readFile(path.join(trial("compile-compcert__s8VSGqn"), LOG), "utf8")).split("\n").slice(0, 11);
    const broken = [
      ...real.slice(0, 3),
      "npm WARN something printed into the log",
      real[3]!.slice(0, 120),
      "[1, 2, 3]",
      ...real.slice(4),
      JSON.stringify({ type: "result", subtype: "error_max_turns", is_error: true, result: "Reached max turns" }),
    ];
    const file = path.join(dir, "broken.jsonl");
    await writeFile(file, `${broken.join("\n")}\n`);
    const { steps, warnings, outcome } = await claudeCodeStreamJson.extract(await discoverRun(file));
    expect(warnings?.count).toBe(3);
    expect(warnings?.first.map((warning) => warning.source.line)).toEqual([4, 5, 6]);
    expect(steps.filter((step) => step.tool).map((step) => step.tool?.id)).toEqual(["functions.Bash:0", "functions.Bash:1", "functions.Bash:2"]);
    expect(outcome?.status).toBe("failed");
    expect(outcome?.evidence).toEqual([{ name: "claude-code result", status: "error (error_max_turns)", detail: "Reached max turns", source: { path: "broken.jsonl", line: 14 } }]);
  });
});
