import { readdirSync, existsSync } from "node:fs";
import { mkdtemp, mkdir, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { harborClaudeCode } from "../extractors/claudeCode.js";
import { harborAtif } from "../extractors/harbor.js";
import { runSpec, specExtractor } from "../extractors/specEngine.js";
import { shippedSpecs } from "../extractors/specs/index.js";
import { discoverRun } from "../nodes/discover.js";
import { parseSpec, type ExtractorSpec, type ExtractorSpecInput } from "../schema/extractorSpec.js";
import { HARBOR } from "./corpus.js";

const shipped = (id: string) => shippedSpecs().find((spec) => spec.id === id)!;
const trials = readdirSync(HARBOR).filter((name) => existsSync(path.join(HARBOR, name, "agent")));

function spec(input: ExtractorSpecInput): ExtractorSpec {
  const parsed = parseSpec(input);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
}

async function runDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "spec-engine-"));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

describe("shipped specs reproduce the hand-coded extractors on the corpus", () => {
  it("Harbor ATIF as a spec: same steps, task and outcome as the built-in on every trial with a trajectory", async () => {
    const withTrajectory = trials.filter((name) => existsSync(path.join(HARBOR, name, "agent/trajectory.json")));
    expect(withTrajectory.length).toBeGreaterThan(70);
    const extractor = specExtractor(shipped("harbor-atif.spec"));
    for (const name of withTrajectory) {
      const run = await discoverRun(path.join(HARBOR, name));
      const [builtin, fromSpec] = await Promise.all([harborAtif.extract(run), extractor.extract(run)]);
      expect(fromSpec.steps, name).toEqual(builtin.steps);
      expect(fromSpec.task).toEqual(builtin.task);
      expect(fromSpec.outcome).toEqual(builtin.outcome);
    }
  });

  it("Claude Code stream-json as a spec: the built-in's steps and sources on at least 95% of claude-code.txt logs", async () => {
    const withLog = trials.filter((name) => existsSync(path.join(HARBOR, name, "agent/claude-code.txt")));
    const extractor = specExtractor(shipped("claude-code-stream-json.spec"));
    let same = 0;
    for (const name of withLog) {
      const run = await discoverRun(path.join(HARBOR, name));
      const [builtin, fromSpec] = await Promise.all([harborClaudeCode.extract(run), extractor.extract(run)]);
      if (JSON.stringify(fromSpec.steps.map((step) => step.sources)) === JSON.stringify(builtin.steps.map((step) => step.sources))) same += 1;
    }
    expect(same / withLog.length).toBeGreaterThanOrEqual(0.95);
  });

  it("merges a re-emitted tool_use into one step whose action is the later line, and pairs results by position when ids repeat", async () => {
    const run = await discoverRun(path.join(HARBOR, "circuit-fibsqrt__QugwPPD"));
    const { steps } = await specExtractor(shipped("claude-code-stream-json.spec")).extract(run);
    // Line 2 emits functions.Read:0 with zero usage, line 6 emits it again inside the message that ran it.
    const read = steps.find((step) => step.tool?.id === "functions.Read:0")!;
    expect(read.sources.map((source) => source.line)).toEqual([6, 8, 2, 4, 5]);
    expect(read.thought).toMatch(/logic gate/i);
    expect(read.observation?.text).toBeDefined();
  });
});

describe("the engine reads records where the spec says and names their sources exactly", () => {
  it("JSON lines with tool calls paired by id: sources are 1-based lines, action first", async () => {
    const dir = await runDir({
      "log.jsonl": [
        JSON.stringify({ kind: "say", who: "user", text: "list files" }),
        JSON.stringify({ kind: "call", id: "a", tool: "bash", input: { command: "ls" } }),
        "this line is garbage",
        JSON.stringify({ kind: "result", id: "a", output: "README.md" }),
      ].join("\n"),
    });
    const extraction = await runSpec(
      spec({
        id: "test-jsonl",
        format: "test",
        streams: [
          {
            files: "*.jsonl",
            decode: "jsonl",
            pairing: { mode: "by_id" },
            rules: [
              { when: { path: "/kind", equals: "call" }, emit: "step", map: { tool: { name: "/tool", id: "/id", args: "/input", command: { derive: "shell_command" } } } },
              { when: { path: "/kind", equals: "result" }, emit: "observation", map: { observation: { text: "/output", tool_id: "/id" } } },
              { emit: "step", map: { actor: "/who", text: "/text" } },
            ],
          },
        ],
      }),
      await discoverRun(dir),
    );
    const { steps, warnings } = extraction.extracted;
    expect(steps).toHaveLength(2);
    expect(steps[0]).toMatchObject({ id: 1, actor: "user", text: "list files", sources: [{ path: "log.jsonl", line: 1 }] });
    expect(steps[1]).toMatchObject({ id: 2, tool: { name: "bash", id: "a", command: "ls" }, observation: { text: "README.md" } });
    expect(steps[1]!.sources).toEqual([{ path: "log.jsonl", line: 2 }, { path: "log.jsonl", line: 4 }]);
    expect(warnings?.count).toBe(1);
    expect(warnings?.first[0]?.source).toEqual({ path: "log.jsonl", line: 3 });
  });

  it("a record with two tool calls yields two parallel steps; the second is sourced by its element's pointer", async () => {
    const dir = await runDir({
      "chat.json": JSON.stringify({
        messages: [
          { role: "assistant", content: "checking both", tool_calls: [{ id: "c1", function: { name: "a", arguments: "{\"x\":1}" } }, { id: "c2", function: { name: "b", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "c2", content: "B done" },
          { role: "tool", tool_call_id: "c1", content: "A done" },
        ],
      }),
    });
    const { extracted } = await runSpec(
      spec({
        id: "test-openai",
        format: "test",
        streams: [
          {
            files: "chat.json",
            decode: "json",
            records: "/messages",
            pairing: { mode: "by_id" },
            rules: [
              { when: { path: "/role", equals: "tool" }, emit: "observation", map: { observation: { text: "/content", tool_id: "/tool_call_id" } } },
              { emit: "step", map: { actor: "/role", text: "/content", tool: { each: "/tool_calls", name: "/function/name", id: "/id", args: { path: "/function/arguments", parse_json: true } } } },
            ],
          },
        ],
      }),
      await discoverRun(dir),
    );
    expect(extracted.steps.map((step) => step.sources)).toEqual([
      [{ path: "chat.json", pointer: "/messages/0" }, { path: "chat.json", pointer: "/messages/2" }],
      [{ path: "chat.json", pointer: "/messages/0/tool_calls/1" }, { path: "chat.json", pointer: "/messages/1" }],
    ]);
    expect(extracted.steps[0]).toMatchObject({ text: "checking both", tool: { name: "a", args: { x: 1 } }, observation: { text: "A done" }, parallel_group: 1 });
    expect(extracted.steps[1]).toMatchObject({ tool: { name: "b" }, observation: { text: "B done" }, parallel_group: 1 });
  });

  it("per-file records are read in natural order (events/2.json before events/10.json)", async () => {
    const files: Record<string, string> = {};
    for (const index of [1, 2, 10]) files[`events/${index}.json`] = JSON.stringify({ id: index, message: `event ${index}` });
    const { extracted } = await runSpec(
      spec({ id: "test-events", format: "test", streams: [{ files: "events/*.json", decode: "json", records: "", rules: [{ emit: "step", map: { text: "/message" } }] }] }),
      await discoverRun(await runDir(files)),
    );
    expect(extracted.steps.map((step) => step.sources[0]!.path)).toEqual(["events/1.json", "events/2.json", "events/10.json"]);
  });

  it("text lines by a regex with named groups, and a task from a side file", async () => {
    const dir = await runDir({ "agent.log": "12:00 RUN ls -la\nnoise\n12:01 RUN make test\n", "task.md": "Fix the build." });
    const { extracted } = await runSpec(
      spec({
        id: "test-lines",
        format: "test",
        streams: [{ files: "agent.log", decode: "lines", line_pattern: "^(?<time>\\d\\d:\\d\\d) RUN (?<cmd>.+)$", rules: [{ emit: "step", map: { tool: { name: { const: "bash" }, command: "/cmd" } } }] }],
        task: { file: "task.md", decode: "text" },
      }),
      await discoverRun(dir),
    );
    expect(extracted.steps.map((step) => [step.tool?.command, step.sources[0]!.line])).toEqual([["ls -la", 1], ["make test", 3]]);
    expect(extracted.task).toBe("Fix the build.");
  });
});

describe("hostile specs are refused or contained", () => {
  const base = { id: "hostile", format: "hostile" };
  const stream = (extra: Record<string, unknown>) => ({ ...base, streams: [{ files: "*.json", decode: "json", rules: [{ emit: "step" }], ...extra }] });

  it("refuses catastrophic regexes: nested quantifiers, quantified alternation, backreferences, over-long patterns", () => {
    for (const pattern of ["(a+)+$", "(a*)*b", "(x+x+)+y", "(a|a)*$", "(?:ab|a)+c", "(a)\\1", "a".repeat(201)]) {
      const parsed = parseSpec(stream({ line_pattern: pattern, decode: "lines" }));
      expect(parsed.ok, pattern).toBe(false);
    }
    expect(parseSpec(stream({ line_pattern: "^(?<time>\\d+):(?<rest>.*)$", decode: "lines" })).ok).toBe(true);
  });

  it("refuses prototype keys anywhere: in pointers, value maps and raw JSON", () => {
    expect(parseSpec(stream({ records: "/__proto__/polluted" })).ok).toBe(false);
    expect(parseSpec(stream({ rules: [{ emit: "step", map: { actor: "/constructor/prototype" } }] })).ok).toBe(false);
    expect(parseSpec(stream({ rules: [{ emit: "step", map: { actor: { path: "/role", map: JSON.parse('{"__proto__": "x"}') } } }] })).ok).toBe(false);
    const raw = JSON.parse('{"id":"hostile","format":"x","streams":[{"files":"*.json","decode":"json","rules":[{"emit":"step"}]}],"__proto__":{"polluted":true}}');
    const parsed = parseSpec(raw);
    expect(parsed.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses globs and files that leave the run", () => {
    for (const files of ["../secrets.json", "/etc/passwd", "a/../../b.json", "~/x.json", "..\\x.json"]) {
      expect(parseSpec(stream({ files })).ok, files).toBe(false);
    }
    expect(parseSpec({ ...base, streams: [{ files: "*.json", decode: "json", rules: [{ emit: "step" }] }], task: { file: "../task.md", decode: "text" } }).ok).toBe(false);
  });

  it("never follows a symlink out of the run", async () => {
    const outside = await runDir({ "secret.json": JSON.stringify([{ text: "secret" }]) });
    const dir = await runDir({ "ok.json": JSON.stringify([{ text: "fine" }]) });
    await symlink(path.join(outside, "secret.json"), path.join(dir, "link.json"));
    const run = await discoverRun(dir);
    expect(run.files).toContain("link.json");
    const reader = spec({ ...base, streams: [{ files: "link.json", decode: "json", records: "", rules: [{ emit: "step", map: { text: "/text" } }] }] });
    await expect(runSpec(reader, run)).rejects.toThrow(/outside the run/);
  });

  it("bounds regex work on huge untrusted text", async () => {
    const dir = await runDir({ "big.json": JSON.stringify([{ text: `${"a".repeat(200_000)}!` }]) });
    const { extracted } = await runSpec(
      spec({ ...base, streams: [{ files: "big.json", decode: "json", records: "", rules: [{ emit: "step", keep_empty: true, map: { text: { path: "/text", pick: "(a+!)" } } }] }] }),
      await discoverRun(dir),
    );
    // The pattern only sees the first 20 000 characters, so the "!" at the end is never reached.
    expect(extracted.steps).toHaveLength(1);
    expect(extracted.steps[0]?.text).toBeUndefined();
  });
});
