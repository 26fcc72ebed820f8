import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { breakpointBefore } from "../analysis/replay.js";
import { readManifest } from "../evals/manifest.js";
import { analyzeRun } from "../graphs/analyze.js";
import { buildReplayMessages } from "../outputs/replayMessages.js";
import { writeAnalysis } from "../outputs/write.js";
import { conversationProblems, ReplayMessages, ReplayPlan } from "../schema/replay.js";
import { HARBOR, LABELS } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true };
const devRuns = [
  ...(await readManifest(path.join(LABELS, "kimi-silver-dev.jsonl"))),
  ...(await readManifest(path.join(LABELS, "claude-code-silver-dev.jsonl"))),
];

describe("replay plans of the labelled dev runs", () => {
  it("covers both dev sets", () => {
    expect(devRuns.length).toBeGreaterThan(30);
  });

  it("resume from the last good state before the onset, restore the changes up to it, and match the budget", async () => {
    for (const record of devRuns) {
      const { trace, diagnosis, replay } = await analyzeRun(record.absolutePath, options);
      expect(ReplayPlan.safeParse(replay).success, record.id).toBe(true);
      const onset = diagnosis.onset!;
      expect(replay.resumable, record.id).toBe(true);
      expect(replay.onset_step_id).toBe(onset.step_id);
      expect(replay.resume_after_step_id!, record.id).toBeLessThan(onset.step_id);
      // Nothing between the breakpoint and the onset but the agent's own announcement of the move.
      const between = trace.steps.filter((step) => step.id > replay.resume_after_step_id! && step.id < onset.step_id);
      expect(between.every((step) => step.actor === "agent" && !step.tool), record.id).toBe(true);
      for (const id of replay.restore.change_step_ids) {
        const step = trace.steps.find((candidate) => candidate.id === id)!;
        expect(step.kind).toBe("change");
        expect(id).toBeLessThanOrEqual(replay.resume_after_step_id!);
      }
      expect(replay.budget.steps).toBe(trace.steps.filter((step) => step.id >= onset.step_id && step.actor === "agent").length);
      expect(replay.guidance).toContain(`step ${onset.step_id}`);
      expect(replay.guidance).toMatch(/What to do instead:/);
    }
  });

  it("ship an OpenAI chat-format conversation up to the breakpoint, ending with the guidance", async () => {
    for (const record of devRuns) {
      const { trace, replay } = await analyzeRun(record.absolutePath, options);
      const bundle = buildReplayMessages(trace, replay);
      expect(ReplayMessages.safeParse(bundle).success, record.id).toBe(true);
      const { messages } = bundle;
      expect(messages[0]!.role).toBe("system");
      const last = messages[messages.length - 1]!;
      expect(last.role).toBe("user");
      expect(last.role === "user" && last.content.includes(replay.guidance)).toBe(true);
      // Every tool call up to the breakpoint is there, in order, each answered by its own tool message.
      const calls = messages.flatMap((message) => (message.role === "assistant" ? message.tool_calls ?? [] : []));
      const kept = trace.steps.filter((step) => step.id <= replay.resume_after_step_id! && step.tool && step.actor === "agent");
      expect(calls.length, record.id).toBe(kept.length);
      expect(calls.map((call) => JSON.parse(call.function.arguments))).toEqual(kept.map((step) => step.tool!.args ?? { command: step.tool!.command }));
      const answered = messages.filter((message) => message.role === "tool").map((message) => (message.role === "tool" ? message.tool_call_id : ""));
      expect(answered).toEqual(calls.map((call) => call.id));
    }
  });

  it("keep tool-call ids unique even when the model reused them", async () => {
    const { trace, replay } = await analyzeRun(path.join(HARBOR, "caffe-cifar-10__incQ5z3"), options);
    const ids = trace.steps.filter((step) => step.tool?.id).map((step) => step.tool!.id!);
    const bundle = buildReplayMessages(trace, { ...replay, resume_after_step_id: trace.steps[trace.steps.length - 1]!.id });
    const callIds = bundle.messages.flatMap((message) => (message.role === "assistant" ? (message.tool_calls ?? []).map((call) => call.id) : []));
    expect(new Set(callIds).size).toBe(callIds.length);
    expect(callIds.length).toBe(ids.length);
  });

  it("are written by analyze as replay.messages.json beside replay.json", async () => {
    const analysis = await analyzeRun(path.join(HARBOR, "headless-terminal__bemYu3W"), options);
    const out = await mkdtemp(path.join(os.tmpdir(), "ct-replay-"));
    await writeAnalysis(out, analysis);
    const written = JSON.parse(await readFile(path.join(out, "replay.messages.json"), "utf8"));
    expect(ReplayMessages.parse(written).messages.length).toBeGreaterThan(2);
  });
});

describe("the conversation rules", () => {
  it("catch unanswered tool calls, stray tool results, reused ids and a missing guidance message", () => {
    const call = (id: string) => ({ id, type: "function" as const, function: { name: "Bash", arguments: "{}" } });
    expect(conversationProblems([{ role: "system", content: "s" }, { role: "assistant", content: null, tool_calls: [call("a")] }, { role: "user", content: "g" }])).toEqual([
      "message 2: tool calls a were never answered",
    ]);
    expect(conversationProblems([{ role: "system", content: "s" }, { role: "tool", tool_call_id: "x", content: "" }, { role: "user", content: "g" }])[0]).toMatch(/answers no pending tool call/);
    expect(
      conversationProblems([
        { role: "system", content: "s" },
        { role: "assistant", content: null, tool_calls: [call("a")] },
        { role: "tool", tool_call_id: "a", content: "" },
        { role: "assistant", content: null, tool_calls: [call("a")] },
        { role: "tool", tool_call_id: "a", content: "" },
      ]),
    ).toEqual(["the last message must be the user message with the guidance", "message 3: tool call id a is used twice"]);
  });

  it("resume before the agent's announcement of the wrong move, not between it and the move", () => {
    const steps = [
      { id: 1, kind: "message" as const, actor: "user", text: "task", sources: [{ path: "t" }] },
      { id: 2, kind: "explore" as const, actor: "agent", tool: { name: "Bash", command: "ls" }, sources: [{ path: "t" }] },
      { id: 3, kind: "message" as const, actor: "agent", text: "Now I will write it.", sources: [{ path: "t" }] },
      { id: 4, kind: "change" as const, actor: "agent", tool: { name: "Write" }, sources: [{ path: "t" }] },
    ];
    expect(breakpointBefore(steps, 4)).toBe(2);
    expect(breakpointBefore(steps, 2)).toBe(1);
  });
});
