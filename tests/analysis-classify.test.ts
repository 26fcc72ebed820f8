import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { shellFacts, stepFacts } from "../analysis/classify.js";
import { garbledCommand, garbledContent } from "../analysis/malformed.js";
import { parseShell } from "../analysis/shell.js";
import { buildTraceTree } from "../analysis/tree.js";
import { analyzeRun } from "../graphs/analyze.js";
import { FORMATS, HARBOR, NORMALIZED, TERMINAL_BENCH } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true };

/** Shell commands real agents sent, from a given set of runs (through the extractors). */
async function commandsOf(runs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const run of runs) {
    // A few corpus runs cannot be analyzed (no trajectory at all); they have no commands to give.
    const analysis = await analyzeRun(run, options).catch(() => undefined);
    if (!analysis) continue;
    const { trace } = analysis;
    for (const step of trace.steps) if (step.tool?.command && (step.actor === "agent" || step.actor === "assistant")) found.push(step.tool.command);
  }
  return found;
}

async function subdirs(dir: string, depth: number): Promise<string[]> {
  if (depth === 0) return [dir];
  const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => path.join(dir, entry.name)).sort();
  return (await Promise.all(entries.map((entry) => subdirs(entry, depth - 1)))).flat();
}

/** Well-formed commands: OpenHands, mini-SWE-agent and Claude Code runs (a sample of each). */
const clean = await commandsOf([
  ...(await subdirs(path.join(NORMALIZED, "openhands"), 4)).slice(0, 25),
  ...(await subdirs(path.join(NORMALIZED, "miniswe"), 4)).slice(0, 25),
  ...(await subdirs(TERMINAL_BENCH, 2)).slice(0, 20),
]);
/** The Harbor kimi-k2.5 runs, many of whose commands are garbled (see the corpus README). */
const garbled = await commandsOf(await subdirs(HARBOR, 1));
const commands = [...clean.map((command) => ({ command })), ...garbled.map((command) => ({ command }))];
const matching = (pattern: RegExp) => clean.filter((command) => pattern.test(command) && !garbledCommand(command)).map((command) => ({ command }));

describe("shell commands from real runs", () => {
  it("has a realistic sample to classify", () => {
    expect(clean.length).toBeGreaterThan(500);
    expect(garbled.length).toBeGreaterThan(500);
  });

  it("classifies every well-formed package install as an environment change naming its packages", () => {
    const installs = matching(/^[^<]*\b(pip3?|apt-get|apt) install\b(?![^\n]*--help)[^\n<]*$/);
    expect(installs.length).toBeGreaterThan(20);
    for (const { command } of installs) {
      const facts = shellFacts(command);
      expect(facts.kind, command).toBe("change");
      expect(facts.purpose, command).toBe("environment_setup");
      if (/install( -\S+)* [a-z][\w-]*( |$)/.test(command) && !/-[er] /.test(command)) expect(facts.installs.length, command).toBeGreaterThan(0);
    }
  });

  it("classifies in-place sed edits as changes of the edited file", () => {
    const edits = matching(/\bsed -i/);
    expect(edits.length).toBeGreaterThan(0);
    for (const { command } of edits) {
      const facts = shellFacts(command);
      expect(facts.kind, command).toBe("change");
      expect(facts.writes.length, command).toBeGreaterThan(0);
    }
  });

  it("classifies heredocs written to a file as changes of that file", () => {
    const heredoc = /cat <<\s*'?EOF'? > (\S+)|cat > (\S+) <<\s*'?EOF/;
    const found = matching(heredoc);
    expect(found.length).toBeGreaterThan(10);
    for (const { command } of found) {
      const match = heredoc.exec(command)!;
      expect(shellFacts(command).writes, command).toContain(match[1] ?? match[2]);
    }
  });

  it("classifies test runners as verification", () => {
    const tests = matching(/(^|&& )(\S*python3? -m )?pytest /).filter(({ command }) => !/<</.test(command));
    expect(tests.length).toBeGreaterThan(3);
    for (const { command } of tests) expect(shellFacts(command).kind, command).toBe("verify");
  });

  it("treats pipelines of readers, and stderr sent to /dev/null, as exploration", () => {
    const reads = matching(/^(ls|cat|find|grep|head) [^>|;&]*\|\s*(head|grep|wc|sort)[^>;&]*$/);
    expect(reads.length).toBeGreaterThan(5);
    for (const { command } of reads) expect(shellFacts(command).kind, command).toBe("explore");
    expect(parseShell("find /app -type f 2>/dev/null | head -50").commands[0]!.argv).toEqual(["find", "/app", "-type", "f"]);
  });

  it("flags commands hidden behind a `:` no-op, with what they meant to do", () => {
    const hidden = garbled.filter((command) => /^: [a-z]/.test(command)).map((command) => ({ command }));
    expect(hidden.length).toBeGreaterThan(10);
    for (const { command } of hidden) expect(shellFacts(command).malformed, command).toBe(true);
    const install = garbled.find((command) => command.startsWith(": pip install pexpect"))!;
    expect(shellFacts(install)).toMatchObject({ malformed: true, noEffect: true, intent: "change", installs: ["pexpect"] });
  });

  it("flags stray `>` prefixes, braces and leaked tool-call markup, but not a harmless `:;` prefix", () => {
    for (const prefix of [/^>[a-z]/, /^\]\}/, /^>\s*<parameter/]) {
      const found = garbled.filter((command) => prefix.test(command)).map((command) => ({ command }));
      expect(found.length, String(prefix)).toBeGreaterThan(0);
      for (const { command } of found) expect(shellFacts(command).malformed, command).toBe(true);
    }
    const harmless = garbled.filter((command) => command.startsWith(":; ")).map((command) => ({ command }));
    expect(harmless.length).toBeGreaterThan(0);
    for (const { command } of harmless) expect(shellFacts(command).malformed, command).toBe(false);
  });

  it("recognizes garbled file contents the model wrote, by file type", () => {
    expect(garbledContent("/app/run.py", '>\n"""Async task runner')).toMatch(/stray/);
    expect(garbledContent("/app/portfolio_optimized.c", ", p\n/*\n * High-performance")).toMatch(/stray/);
    expect(garbledContent("/app/attack.py", "！/usr/bin/env python3\n")).toMatch(/full-width/);
    // A Vim script legitimately starts with `:` commands; a clean Python file is fine.
    expect(garbledContent("/app/apply_macros.vim", ':" Macro a\n')).toBeUndefined();
    expect(garbledContent("/app/run.py", "import asyncio\n")).toBeUndefined();
  });
});

describe("steps of real runs", () => {
  it("classifies Claude Code tools: Read explores, Write changes, TodoWrite is a message, a background job is marked", async () => {
    const run = path.join(TERMINAL_BENCH, "fibonacci-server");
    const trial = path.join(run, (await readdir(run))[0]!);
    const { trace } = await analyzeRun(trial, options);
    const byTool = (name: string) => trace.steps.filter((step) => step.tool?.name === name);
    expect(byTool("Write").every((step) => step.kind === "change")).toBe(true);
    expect(byTool("TodoWrite").every((step) => step.kind === "message")).toBe(true);
    const server = trace.steps.find((step) => step.tool?.command === "node server.js")!;
    expect(stepFacts(server).background).toBe(true);
  });

  it("reads the leading verb of tools no rule knows: looking calls explore, acting calls change", async () => {
    const otel = path.join(FORMATS, "otel", "any-agent_openai", "tests", "assets", "OPENAI_trace.json");
    const lookups = (await analyzeRun(otel, options)).trace.steps.filter((step) => step.tool?.name === "get_current_time");
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups.every((step) => step.kind === "explore")).toBe(true);
    const kindOf = (name: string) => stepFacts({ id: 1, kind: "other", actor: "agent", tool: { name, args: { id: "x" } }, sources: [] });
    expect(kindOf("refund_charge")).toMatchObject({ kind: "change", acts: "refund_charge" });
    expect(kindOf("sendReply").kind).toBe("change");
    expect(kindOf("lookup_customer").kind).toBe("explore");
    expect(kindOf("listCharges").kind).toBe("explore");
    expect(kindOf("getaway_planner").kind).toBe("other");
    expect(kindOf("Task").kind).toBe("other");
  });

  it("opens a new environment state after every successful change step in the trace tree", async () => {
    const { trace } = await analyzeRun(path.join(HARBOR, "cancel-async-tasks__4gQ8rsy"), options);
    const tree = buildTraceTree(trace.steps, trace.stages);
    const nodes = tree.children.flatMap((stage) => stage.children);
    expect(nodes.map((node) => node.step_id)).toEqual(trace.steps.map((step) => step.id));
    for (let index = 1; index < nodes.length; index += 1) {
      const previous = nodes[index - 1]!;
      expect(nodes[index]!.state).toBe(previous.state + (previous.state_changing ? 1 : 0));
    }
    expect(nodes.some((node) => node.state_changing)).toBe(true);
    expect(nodes.filter((node) => node.kind === "change").every((node) => node.children.length === 1)).toBe(true);
  });
});
