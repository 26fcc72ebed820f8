import { mkdtemp, readFile, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { decodeOpenHandsEvent } from "../extractors/openhands.js";
import { openHandsEventArray, openHandsOutputJsonl, openHandsSession } from "../extractors/openhandsRuns.js";
import type { Extractor } from "../extractors/types.js";
import { discoverRun } from "../nodes/discover.js";
import { RunError } from "../schema/errors.js";
import type { Step } from "../schema/step.js";
import { FORMATS } from "./corpus.js";

const OPENHANDS = path.join(FORMATS, "openhands");
const GUI = path.join(OPENHANDS, "runtime_traj_basic_gui_mode/tests/runtime/trajs/basic_gui_mode.json");
const RENAME = path.join(OPENHANDS, "runtime_traj_wrong_initial_state/tests/runtime/trajs/wrong_initial_state.json");
const SESSION = path.join(OPENHANDS, "session_events_coin_flip/sessions/63b4315947a049e2b7a51249b3d4fcc3");
const MULTI_SWE = path.join(OPENHANDS, "multi_swe_bench_output_llama4/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl");
const RESOLVER = path.join(OPENHANDS, "resolver_output_legacy/tests/unit/resolver/mock_output/output.jsonl");

type RawEvent = Record<string, unknown>;

async function extract(extractor: Extractor, input: string) {
  const run = await discoverRun(input);
  expect(await extractor.detect(run)).toBeGreaterThanOrEqual(0.5);
  return extractor.extract(run);
}

async function historyOnLine(file: string, line: number): Promise<RawEvent[]> {
  return (JSON.parse((await readFile(file, "utf8")).split("\n")[line - 1]!) as { history: RawEvent[] }).history;
}

/**
 * No action dropped: every action event is the first source of exactly one step, in order, and every
 * observation other than bare agent-state notices is a source of some step.
 */
function expectEveryEventKept(steps: Step[], events: RawEvent[], pointerOf: (index: number) => string): void {
  const first = steps.map((step) => step.sources[0]!.pointer);
  const actions = events.flatMap((event, index) => ("action" in event ? [pointerOf(index)] : []));
  expect(first.filter((pointer) => actions.includes(pointer!))).toEqual(actions);
  const all = new Set(steps.flatMap((step) => step.sources.map((source) => source.pointer)));
  events.forEach((event, index) => {
    if ("observation" in event && !["agent_state_changed", "null"].includes(String(event.observation))) expect(all.has(pointerOf(index))).toBe(true);
  });
}

describe("OpenHands event streams", () => {
  it("finds one run per session folder, per event array and per line of an output.jsonl", async () => {
    const runs = (await findRuns(OPENHANDS)).map((run) => run.relative);
    expect(runs).toEqual([
      "multi_swe_bench_output_llama4/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl#L1",
      "multi_swe_bench_output_llama4/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl#L2",
      "multi_swe_bench_output_llama4/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl#L3",
      "resolver_output_legacy/tests/unit/resolver/mock_output/output.jsonl#L1",
      "resolver_output_legacy/tests/unit/resolver/mock_output/output.jsonl#L2",
      "runtime_traj_basic_gui_mode/tests/runtime/trajs/basic_gui_mode.json",
      "runtime_traj_wrong_initial_state/tests/runtime/trajs/wrong_initial_state.json",
      "session_events_coin_flip/sessions/63b4315947a049e2b7a51249b3d4fcc3",
    ]);
  });

  it("event array (GUI session): 7 steps; run/edit paired by cause, the edit itself in args", async () => {
    const { steps, task, outcome } = await extract(openHandsEventArray, GUI);
    const events = JSON.parse(await readFile(GUI, "utf8")) as RawEvent[];
    expect(steps).toHaveLength(7);
    expectEveryEventKept(steps, events, (index) => `/${index}`);
    expect(steps[0]).toMatchObject({ actor: "environment", tool: { name: "change_agent_state", args: { agent_state: "init" } } });
    expect(steps[2]).toMatchObject({ tool: { name: "execute_bash", id: "toolu_01W9Z8jBctr8X2frZV9p1RYs", command: "mkdir -p /workspace/todo-app" }, sources: [{ path: "basic_gui_mode.json", pointer: "/7" }, { path: "basic_gui_mode.json", pointer: "/8" }] });
    expect(steps[2]!.observation?.exit_code).toBe(0);
    const edit = steps[3]!.tool!;
    expect(edit.name).toBe("str_replace_editor");
    expect(edit.args).toMatchObject({ command: "create", path: "/workspace/todo-app/index.html" });
    expect((edit.args as { file_text: string }).file_text).toMatch(/^<!DOCTYPE html>/);
    expect(steps[6]).toMatchObject({ kind: "message", actor: "agent" });
    expect(task).toMatch(/^I want to create a VueJS app/);
    expect(outcome?.status).toBe("unknown");
  });

  it("event array (rename task): read, run, read, finish", async () => {
    const { steps, outcome } = await extract(openHandsEventArray, RENAME);
    const events = JSON.parse(await readFile(RENAME, "utf8")) as RawEvent[];
    expect(steps).toHaveLength(5);
    expectEveryEventKept(steps, events, (index) => `/${index}`);
    expect(steps.map((step) => step.tool?.name)).toEqual([undefined, "str_replace_editor", "execute_bash", "str_replace_editor", "finish"]);
    expect(steps[2]!.tool?.command).toMatch(/mv .*game_2048\.py .*2048\.py|mv game_2048.py 2048.py/);
    expect(outcome?.evidence.map((evidence) => evidence.name)).toEqual(["finish"]);
  });

  it("session folder events/<id>.json: 7 steps in id order, run_ipython code kept, finish as evidence", async () => {
    const { steps, task, outcome } = await extract(openHandsSession, SESSION);
    expect(steps).toHaveLength(7);
    expect(steps.map((step) => step.sources[0]!.path)).toEqual(["events/1.json", "events/2.json", "events/4.json", "events/5.json", "events/8.json", "events/10.json", "events/12.json"]);
    expect(steps[0]).toMatchObject({ kind: "message", actor: "system" });
    expect(steps[4]!.tool).toMatchObject({ name: "execute_ipython_cell", id: "toolu_01Leo6Tody9dsW8p5eXLa7Q8" });
    expect((steps[4]!.tool!.args as { code: string }).code).toContain('result = "Heads" if random.random() < 0.5 else "Tails"');
    expect(steps[4]!.sources).toEqual([{ path: "events/8.json", pointer: "" }, { path: "events/9.json", pointer: "" }]);
    expect(task).toBe("Flip a coin!");
    expect(outcome).toEqual({ status: "unknown", evidence: [{ name: "finish", status: "task_completed: true", source: { path: "events/12.json", pointer: "" }, detail: "The coin flip result is: Heads" }] });
  });

  const multiSwe: [line: number, steps: number][] = [[1, 26], [2, 37], [3, 53]];
  for (const [line, count] of multiSwe) {
    it(`Multi-SWE-bench output.jsonl line ${line}: ${count} steps, sources {path, line, pointer}`, async () => {
      const { steps, task } = await extract(openHandsOutputJsonl, `${MULTI_SWE}#L${line}`);
      const events = await historyOnLine(MULTI_SWE, line);
      expect(steps).toHaveLength(count);
      expectEveryEventKept(steps, events, (index) => `/history/${index}`);
      expect(steps.every((step) => step.sources.every((source) => source.path === "output.jsonl" && source.line === line))).toBe(true);
      expect(task).toMatch(/^<uploaded_files>\n\/workspace\/ponylang__ponyc__0\.1/);
    });
  }

  it("keeps think, str_replace edits and an agent error that answers no action", async () => {
    const first = await extract(openHandsOutputJsonl, `${MULTI_SWE}#L1`);
    const think = first.steps.find((step) => step.tool?.name === "think")!;
    expect(think.thought).toMatch(/^It seems that the `ponyc` compiler is not available/);
    expect((think.tool!.args as { thought: string }).thought).toMatch(/^Re-read the problem description/);
    const edit = first.steps.find((step) => (step.tool?.args as { command?: string } | undefined)?.command === "str_replace")!;
    expect(edit.tool?.args).toMatchObject({ path: "/workspace/ponylang__ponyc__0.1/src/libponyc/ast/parser.c", old_str: expect.stringContaining("DEF(idseqsingle);") });
    expect(edit.observation?.is_error).toBe(true);
    const second = await extract(openHandsOutputJsonl, `${MULTI_SWE}#L2`);
    const error = second.steps.find((step) => step.sources[0]!.pointer === "/history/28")!;
    expect(error).toMatchObject({ actor: "agent", observation: { is_error: true } });
    expect(error.text).toMatch(/^Parameter 'command' is expected to be one of/);
  });

  it("output.jsonl outcome: the harness error is evidence, the agent's finish is not a verdict", async () => {
    const stopped = await extract(openHandsOutputJsonl, `${MULTI_SWE}#L3`);
    expect(stopped.outcome).toEqual({ status: "unknown", evidence: [{ name: "error", status: "error", detail: expect.stringMatching(/maximum iteration/), source: { path: "output.jsonl", line: 3, pointer: "/error" } }] });
    const finished = await extract(openHandsOutputJsonl, `${MULTI_SWE}#L1`);
    expect(finished.outcome?.status).toBe("unknown");
    expect(finished.outcome?.evidence.map((evidence) => evidence.name)).toEqual(["finish"]);
  });

  const resolver: [line: number, steps: number][] = [[1, 5], [2, 23]];
  for (const [line, count] of resolver) {
    it(`legacy resolver output.jsonl line ${line} (events without ids): ${count} steps, observations paired by position`, async () => {
      const { steps, outcome } = await extract(openHandsOutputJsonl, `${RESOLVER}#L${line}`);
      const events = await historyOnLine(RESOLVER, line);
      expect(steps).toHaveLength(count);
      expectEveryEventKept(steps, events, (index) => `/history/${index}`);
      for (const step of steps.filter((candidate) => candidate.tool && candidate.tool.name !== "finish")) expect(step.observation).toBeDefined();
      expect(outcome?.status).toBe("passed");
      expect(outcome?.evidence[0]).toMatchObject({ name: "resolver success", status: "true", source: { path: "output.jsonl", line, pointer: "/success" } });
    });
  }

  it("legacy resolver run: the first command and its exit code", async () => {
    const { steps } = await extract(openHandsOutputJsonl, `${RESOLVER}#L1`);
    expect(steps[0]).toMatchObject({ kind: "message", actor: "user" });
    expect(steps[1]!.tool).toEqual({ name: "execute_bash", args: { command: "touch LICENSE" }, command: "touch LICENSE" });
    expect(steps[1]!.observation).toMatchObject({ exit_code: 0 });
  });

  it("a multi-run output.jsonl named without a line is refused with a one-line RunError that says how", async () => {
    await expect(openHandsOutputJsonl.extract(await discoverRun(MULTI_SWE))).rejects.toThrow(/holds 3 runs, one per line: name one as output\.jsonl#L<line>/);
  });

  it("a corrupt event file is counted in warnings; the rest of the session is read", async () => {
    const copy = path.join(await mkdtemp(path.join(tmpdir(), "ct-oh-")), "session");
    await cp(SESSION, copy, { recursive: true });
    await writeFile(path.join(copy, "events", "9.json"), '{"id": 9, "observation": "run_ipy');
    const { steps, warnings } = await extract(openHandsSession, copy);
    expect(steps).toHaveLength(7);
    expect(steps[4]!.observation).toBeUndefined();
    expect(warnings?.count).toBe(1);
    expect(warnings?.first[0]?.source).toEqual({ path: "events/9.json", pointer: "" });
  });

  it("a truncated event array is a one-line RunError", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "ct-oh-")), "events.json");
    const text = await readFile(GUI, "utf8");
    await writeFile(file, text.slice(0, text.length / 2));
    await expect(openHandsEventArray.extract(await discoverRun(file))).rejects.toBeInstanceOf(RunError);
  });

  it("decodes unknown action kinds as tool calls of their own name, never dropping them", () => {
    const event = decodeOpenHandsEvent('{"id": 3, "source": "agent", "action": "mcp", "args": {"name": "fetch", "arguments": {"url": "x"}, "thought": "get it"}}');
    expect(event).toMatchObject({ type: "action", kind: "mcp", parts: { thought: "get it", tool: { name: "mcp", args: { name: "fetch", arguments: { url: "x" } } } } });
  });
});
