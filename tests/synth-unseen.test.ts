import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { recordsAt } from "../extractors/specEngineRecords.js";
import { sourceKey, specExtractor } from "../extractors/specEngine.js";
import { induceSpecs } from "../extractors/synthesize/induce.js";
import { discoverRun } from "../nodes/discover.js";
import type { Step } from "../schema/step.js";
import { FORMATS, REPO } from "./corpus.js";

/**
 * Issue 4 acceptance: on JSON logs of agent systems the team has never seen (single files: our own
 * fixtures in the shapes of AutoGen, CrewAI, LangChain, OpenAI, Anthropic, Gemini… and the corpus's
 * OpenTelemetry traces), at least 95% get a synthesized extractor whose steps cover every message
 * record exactly once, in order, through their `sources`.
 */

const UNSEEN = path.join(REPO, "tests/fixtures/unseen");
const OTEL = path.join(FORMATS, "otel");

interface Case {
  file: string;
  /** JSON pointer of the message records, or "lines" for JSON lines (ground truth written beside the fixtures). */
  records: string;
}

const manifest = JSON.parse(readFileSync(path.join(UNSEEN, "manifest.json"), "utf8")) as { files: Case[] };
const cases: Case[] = [
  ...manifest.files.map((entry) => ({ file: path.join(UNSEEN, entry.file), records: entry.records })),
  ...readdirSync(OTEL).map((name) => {
    const dir = path.join(OTEL, name, "tests/assets");
    return { file: path.join(dir, readdirSync(dir)[0]!), records: "/spans" };
  }),
];

/** The message records of a file: their pointers, or their 1-based lines. */
function messageRecords(entry: Case): Array<{ pointer?: string; line?: number }> {
  const text = readFileSync(entry.file, "utf8");
  if (entry.records === "lines") return text.split("\n").flatMap((line, index) => (line.trim() ? [{ line: index + 1 }] : []));
  return recordsAt(JSON.parse(text), entry.records).map(({ pointer }) => ({ pointer }));
}

/** A step covers a record when one of its sources is the record or a part of it (a tool call inside a message). */
function covers(step: Step, record: { pointer?: string; line?: number }): boolean {
  return step.sources.some((source) => (record.line !== undefined ? source.line === record.line : source.pointer === record.pointer || source.pointer?.startsWith(`${record.pointer}/`)));
}

/** Why the steps do not cover the records exactly once in order, or undefined when they do. */
function coverageProblem(steps: Step[], records: Array<{ pointer?: string; line?: number }>): string | undefined {
  const owner = new Map<string, number>();
  for (const step of steps) {
    for (const source of step.sources) {
      const key = sourceKey(source);
      if (owner.has(key) && owner.get(key) !== step.id) return `${key} is claimed by steps ${owner.get(key)} and ${step.id}`;
      owner.set(key, step.id);
    }
  }
  let previous = 0;
  for (const record of records) {
    const first = steps.find((step) => covers(step, record));
    if (!first) return `record ${record.pointer ?? `line ${record.line}`} is the source of no step`;
    if (first.id < previous) return `record ${record.pointer ?? `line ${record.line}`} comes after step ${previous} but is covered by step ${first.id}`;
    previous = first.id;
  }
  return undefined;
}

describe("synthesized extractors for logs of unseen agent systems", () => {
  it(`cover every message record exactly once, in order, on at least 95% of ${cases.length} files`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    const failures: string[] = [];
    for (const entry of cases) {
      const run = await discoverRun(entry.file);
      const best = (await induceSpecs(run))[0];
      const problem = best ? coverageProblem((await specExtractor(best.spec).extract(run)).steps, messageRecords(entry)) : "no extractor synthesized";
      if (problem) failures.push(`${path.basename(entry.file)}: ${problem}`);
    }
    expect(failures.length, failures.join("\n")).toBeLessThanOrEqual(Math.floor(cases.length * 0.05));
  });

  it("pairs OpenAI tool calls with their role:tool results by id, also for parallel calls answered out of order", async () => {
    const run = await discoverRun(path.join(UNSEEN, "openai-support-agent.json"));
    const { steps } = await specExtractor((await induceSpecs(run))[0]!.spec).extract(run);
    const calls = steps.filter((step) => step.tool);
    expect(calls.map((step) => step.tool!.name)).toEqual(["get_order", "get_policy", "get_warranty", "issue_refund"]);
    expect(calls.map((step) => step.tool!.id)).toEqual(["call_Xk2aP0", "call_q8Lm1c", "call_7Rt0Zb", "call_b3Vn9d"]);
    expect(calls[2]!.sources).toEqual([{ path: "openai-support-agent.json", pointer: "/messages/4/tool_calls/1" }, { path: "openai-support-agent.json", pointer: "/messages/6" }]);
    expect(calls[2]!.observation?.text).toContain("warranty_months");
    expect(calls[1]!.parallel_group).toBe(calls[2]!.parallel_group);
    expect(steps[0]).toMatchObject({ actor: "system" });
  });

  it("reads a multi-agent chat by its speaker names", async () => {
    const run = await discoverRun(path.join(UNSEEN, "autogen-groupchat.json"));
    const { steps } = await specExtractor((await induceSpecs(run))[0]!.spec).extract(run);
    expect(steps.map((step) => step.actor)).toEqual(["User_proxy", "Planner", "Engineer", "User_proxy", "Critic", "Planner", "Engineer", "Critic"]);
    expect(steps[6]!.text).toContain("| # | Title |");
  });

  it("reads OpenTelemetry GenAI spans: execute_tool spans are tool steps with their output as observation", async () => {
    const run = await discoverRun(path.join(OTEL, "any-agent_openai/tests/assets/OPENAI_trace.json"));
    const { steps } = await specExtractor((await induceSpecs(run))[0]!.spec).extract(run);
    const tools = steps.filter((step) => step.tool);
    expect(tools.map((step) => step.tool!.name)).toEqual(["get_current_time", "write_file"]);
    expect(tools[0]!.tool!.args).toEqual({ timezone: "America/New_York" });
    expect(tools[0]!.observation?.text).toContain("America/New_York");
    expect(steps[0]!.timestamp).toBe(new Date(1758026593210770000 / 1e6).toISOString());
  });

  it("explodes Anthropic content blocks: text goes to the call it explains, results pair by tool_use_id", async () => {
    const run = await discoverRun(path.join(UNSEEN, "anthropic-messages-export.json"));
    const best = (await induceSpecs(run))[0]!;
    expect(best.origin).toBe("blocks");
    const { steps } = await specExtractor(best.spec).extract(run);
    const first = steps.find((step) => step.tool?.id === "toolu_01A9")!;
    expect(first.text).toMatch(/checking the nginx error log/);
    expect(first.observation?.text).toMatch(/Connection refused/);
    expect(steps.find((step) => step.tool?.id === "toolu_01B3")!.observation?.text).toBe("nothing on 8080");
  });
});
