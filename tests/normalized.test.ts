import { readFile } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { builtinExtractors } from "../extractors/index.js";
import { codetracerNormalized, decodeNormalizedStep, decodeTmuxKeys } from "../extractors/normalized.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { discoverRun } from "../nodes/discover.js";
import { validateSteps } from "../nodes/validate.js";
import type { Step } from "../schema/step.js";
import { NORMALIZED } from "./corpus.js";

interface RawStep {
  step_id: number;
  action_ref: { path: string; line_start: number; content: string } | null;
  observation_ref: { path: string; line_start: number; content: string } | null;
}

async function runDirs(pattern = "**/steps.json"): Promise<string[]> {
  return (await glob(pattern, { cwd: NORMALIZED, absolute: true })).map((file) => path.dirname(file)).sort();
}

async function extract(dir: string) {
  return codetracerNormalized.extract(await discoverRun(dir));
}

describe("CodeTracer normalized runs (steps.json + stage_ranges.json + task.md)", () => {
  it("finds all 344 runs, each once, and picks this extractor for them", async () => {
    const found = await findRuns(NORMALIZED);
    const dirs = await runDirs();
    expect(dirs).toHaveLength(344);
    expect(found.map((run) => run.absolute).sort()).toEqual(dirs);
    expect((await bestExtractor(await discoverRun(dirs[0]!), builtinExtractors))?.id).toBe("codetracer-normalized");
  });

  it("over ALL runs: step ids are those of steps.json, every reference stage is read, every step is valid", async () => {
    const framework = new Map<string, { steps: number; withTool: number; observed: number; warned: number }>();
    for (const dir of await runDirs()) {
      const raw = JSON.parse(await readFile(path.join(dir, "steps.json"), "utf8")) as RawStep[];
      const stages = JSON.parse(await readFile(path.join(dir, "stage_ranges.json"), "utf8")) as { stage: number; start_step_id: number; end_step_id: number }[];
      const { steps, reference_stages, task, warnings } = await extract(dir);
      expect(steps.map((step) => step.id)).toEqual(raw.map((step) => step.step_id));
      expect(reference_stages).toEqual(stages.map((stage) => ({ start_step_id: stage.start_step_id, end_step_id: stage.end_step_id, label: String(stage.stage) })));
      expect(task ?? "").toBe((await readFile(path.join(dir, "task.md"), "utf8")).trim());
      expect(validateSteps(steps).ok).toBe(true);
      steps.forEach((step, index) => {
        const { action_ref: action, observation_ref: observation } = raw[index]!;
        expect(step.sources[0]).toEqual({ path: "steps.json", pointer: `/${index}/action_ref` });
        expect(step.sources).toContainEqual({ path: action!.path, line: action!.line_start });
        if (observation) expect(step.sources).toContainEqual({ path: observation.path, line: observation.line_start });
        expect(Boolean(step.observation)).toBe(Boolean(observation));
      });
      const name = path.relative(NORMALIZED, dir).split(path.sep)[0]!;
      const tally = framework.get(name) ?? { steps: 0, withTool: 0, observed: 0, warned: 0 };
      tally.steps += steps.length;
      tally.withTool += steps.filter((step: Step) => step.tool).length;
      for (const step of steps) if (!step.tool) expect(step.text || step.thought).toBeTruthy();
      tally.warned += warnings?.count ?? 0;
      framework.set(name, tally);
    }
    // Most quoted records decode to an action. The rest are turns that ran nothing (a Terminus 2 reply
    // with no keystrokes, about 11% there) or undecodable records, which are counted; none is dropped.
    for (const [name, tally] of framework) {
      expect(tally.withTool / tally.steps, name).toBeGreaterThan(0.8);
      expect(tally.steps - tally.withTool, name).toBeGreaterThanOrEqual(tally.warned);
    }
  });

  it("mini-SWE-agent: the bash fence of the quoted assistant message, the <returncode> reply as observation", async () => {
    const [dir] = await runDirs("miniswe/Anthropic__Claude-Sonnet-4-20250514-Thinking/miniswe-claude/add-benchmark-lm-eval-harness/*/steps.json");
    const { steps } = await extract(dir!);
    expect(steps[0]!.tool).toEqual({ name: "bash", args: { command: "ls -la && pwd" }, command: "ls -la && pwd" });
    expect(steps[0]!.thought).toMatch(/^THOUGHT: I need to start by understanding the current directory structure/);
    expect(steps[0]!.observation?.exit_code).toBe(0);
    expect(steps[0]!.timestamp).toMatch(/^2025-12-27T/);
  });

  it("OpenHands: the quoted action event and the observation it caused", async () => {
    const [dir] = await runDirs("openhands/*/*/*/openhands-Moonshot__Kimi-K2-250905-acl-permissions-inheritance-*/steps.json");
    const { steps } = await extract(dir!);
    expect(steps[0]!.tool).toEqual({ name: "execute_bash", id: "toolu_01", args: { command: "id && whoami && ls -la /srv/" }, command: "id && whoami && ls -la /srv/" });
    expect(steps[0]!.observation).toMatchObject({ exit_code: 0, text: expect.stringMatching(/^uid=0\(root\) gid=0\(root\)/) });
    expect(steps[1]!.tool?.command).toBe("getent group research && getent passwd alice && getent passwd bob");
  });

  it("Terminus 2: the response's keystrokes, the next prompt as observation, an unparseable response kept as text", async () => {
    const [dir] = await runDirs("terminus2/OpenAI__GPT-5/terminus2-gpt5/adaptive-rejection-sampler/*/steps.json");
    const { steps, warnings } = await extract(dir!);
    expect(steps[0]!.tool).toBeUndefined();
    expect(steps[0]!.text).toMatch(/^\{\n  "analysis": "We are in \/app with an empty screen/);
    expect(steps[0]!.observation?.is_error).toBe(true);
    expect(warnings?.first[0]?.source).toEqual({ path: "steps.json", pointer: "/0/action_ref" });
    expect(steps[1]!.tool?.name).toBe("terminal");
  });

  it("step annotations: only the command, the agent's analysis and the terminal result (never the annotators' labels)", async () => {
    const [dir] = await runDirs("miniswe/Qwen__Qwen3-Coder-480B-A35B-Instruct/miniswe-qwen/simple-sheets-put/*/steps.json");
    const { steps } = await extract(dir!);
    expect(steps[0]!.tool?.command).toBe("curl -s http://api:8000/docs/json");
    expect(steps[0]!.thought).toMatch(/^First, I need to explore the API/);
    expect(JSON.stringify(steps)).not.toMatch(/llm_analysis|command_impact|stage_label/);
  });

  it("runs that only quote the harness's tmux keystrokes (commands.txt) keep them as terminal commands", async () => {
    const [dir] = await runDirs("miniswe/Anthropic__Claude-Sonnet-4-20250514-Thinking/miniswe-claude/cron-broken-network/*/steps.json");
    const { steps, reference_stages } = await extract(dir!);
    expect(steps.map((step) => step.tool?.command)).toEqual([
      "asciinema rec --stdin /logs/agent.cast", "clear", "source /installed-agent/setup-env.sh",
      "source /installed-agent/install-agent.sh || echo 'INSTALL_FAIL_STATUS'", "asciinema rec --stdin /logs/tests.cast", "clear", "bash /tests/run-tests.sh",
    ]);
    expect(steps[0]!.actor).toBe("harness");
    // The annotation covers steps this normalized run does not have: kept as annotated.
    expect(reference_stages?.at(-1)).toEqual({ start_step_id: 37, end_step_id: 37, label: "28" });
    expect(decodeTmuxKeys(`["it's", 'C-c', "a\\"b"]`)).toEqual(["it's", "C-c", 'a"b']);
  });

  it("decodes a step with no observation and a step whose content is not any known framework", () => {
    const decoded = decodeNormalizedStep({ path: "x/unknown.log", line_start: 3, content: "just text" }, null);
    expect(decoded).toEqual({ action: { actor: "agent", text: "just text" }, undecoded: true });
  });
});
