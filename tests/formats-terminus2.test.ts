import { readFile } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { builtinExtractors } from "../extractors/index.js";
import { decodeTerminus2Response, terminus2, terminus2Action, terminus2Observation } from "../extractors/terminus2.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { discoverRun } from "../nodes/discover.js";
import { NORMALIZED, REPO } from "./corpus.js";

const EXAMPLE = path.join(REPO, "examples", "terminus2-run");

describe("Terminus 2 episodes (agent-logs/episode-N)", () => {
  it("the example trial is one run, read by the Terminus 2 extractor", async () => {
    expect((await findRuns(EXAMPLE)).map((run) => run.relative)).toEqual(["."]);
    expect((await bestExtractor(await discoverRun(EXAMPLE), builtinExtractors))?.id).toBe("terminus2");
  });

  it("one step per episode: keystrokes as the command, the next prompt's terminal output as observation", async () => {
    const { steps, task } = await terminus2.extract(await discoverRun(EXAMPLE));
    expect(steps).toHaveLength(6);
    expect(steps[0]!.tool).toEqual({
      name: "terminal",
      args: { commands: [{ keystrokes: "ls -la\n", duration: 0.1 }, { keystrokes: "cat report.py\n", duration: 0.1 }, { keystrokes: "head -5 sales.csv\n", duration: 0.1 }], task_complete: false },
      command: "ls -la\ncat report.py\nhead -5 sales.csv",
    });
    expect(steps[0]!.sources).toEqual([{ path: "agent-logs/episode-0/response.txt", line: 1 }, { path: "agent-logs/episode-1/prompt.txt", line: 1 }]);
    expect(steps[0]!.observation?.text).toMatch(/^root@4f2a9c1e7b3d:\/app# ls -la\ntotal 16/);
    expect(steps[0]!.observation?.text).toMatch(/head -5 sales\.csv\nid,region,amount[\s\S]*root@4f2a9c1e7b3d:\/app#$/);
    expect(steps[0]!.thought).toMatch(/^Analysis: I am in \/app as root\.[\s\S]*\n\nPlan: List the directory/);
    expect(task).toMatch(/^The script \/app\/report\.py should read \/app\/sales\.csv/);
  });

  it("keeps prose around the JSON, warnings before the output, parse errors, and task_complete", async () => {
    const { steps, warnings } = await terminus2.extract(await discoverRun(EXAMPLE));
    expect(steps[2]!.text).toBe("The header row is the first problem. I will switch to csv.DictReader and skip empty amounts.");
    expect(steps[2]!.tool?.command).toMatch(/^cat > report\.py << 'PY'\nimport csv/);
    expect(steps[2]!.observation?.text).toMatch(/^Previous response had warnings:\nWARNINGS: - Extra text detected before JSON object\n\nroot@/);
    // Episode 3 answered with invalid JSON: nothing ran, Terminus 2 reported a parse error.
    expect(steps[3]!.tool).toBeUndefined();
    expect(steps[3]!.text).toMatch(/^\{\n  "analysis": "The header and blank rows are handled now/);
    expect(steps[3]!.observation).toMatchObject({ is_error: true, text: expect.stringMatching(/^Previous response had parsing errors:/) });
    expect(warnings).toEqual({ count: 1, first: [{ source: { path: "agent-logs/episode-3/response.txt", line: 1 }, reason: expect.stringMatching(/not a Terminus 2 JSON object/) }] });
    expect((steps[4]!.tool?.args as { task_complete: boolean }).task_complete).toBe(true);
    expect(steps[4]!.observation?.text).toMatch(/^root@4f2a9c1e7b3d:\/app# sed -i/);
    expect(steps[4]!.observation?.text).toContain("Are you sure you want to mark the task as complete?");
    expect(steps[5]!.tool).toEqual({ name: "task_complete", args: { task_complete: true } });
    expect(steps[5]!.observation).toBeUndefined();
  });

  it("reads the verdict from results.json: not resolved, with the failing test", async () => {
    const { outcome } = await terminus2.extract(await discoverRun(EXAMPLE));
    expect(outcome?.status).toBe("failed");
    expect(outcome?.evidence).toContainEqual({ name: "test_total_value", status: "failed", source: { path: "results.json", pointer: "/parser_results/test_total_value" } });
  });

  it("also reads the agent-logs folder given on its own", async () => {
    const { steps } = await terminus2.extract(await discoverRun(path.join(EXAMPLE, "agent-logs")));
    expect(steps).toHaveLength(6);
    expect(steps[1]!.sources[0]).toEqual({ path: "episode-1/response.txt", line: 1 });
  });

  it("decodes the real Terminus 2 responses quoted in CodeTracer normalized runs (GPT-5 and Kimi-K2)", async () => {
    const files = (await glob("terminus2/*/*/adaptive-rejection-sampler/*/steps.json", { cwd: NORMALIZED, absolute: true })).sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const steps = JSON.parse(await readFile(file, "utf8")) as { action_ref: { content: string } }[];
      const decoded = steps.map((step) => decodeTerminus2Response(step.action_ref.content));
      // A few responses were invalid JSON that Terminus 2 itself rejected; the rest decode.
      expect(decoded.filter(Boolean).length).toBeGreaterThan(steps.length * 0.9);
      const first = decoded.find(Boolean)!;
      expect(first.analysis).toBeTruthy();
      expect(first.commands.every((command) => typeof command.keystrokes === "string")).toBe(true);
    }
    const kimi = JSON.parse(await readFile(files.find((file) => file.includes("Kimi"))!, "utf8")) as { action_ref: { content: string }; observation_ref: { content: string } }[];
    const action = terminus2Action(decodeTerminus2Response(kimi[0]!.action_ref.content)!);
    expect(action.tool).toMatchObject({ name: "terminal", command: "ls -la" });
    expect(terminus2Observation(kimi[0]!.observation_ref.content).text).toMatch(/^root@[\w-]+:\/app# ls -la\ntotal 0/);
  });

  it("finds the JSON inside prose and reads task_complete without commands", () => {
    const response = decodeTerminus2Response('Let me check.\n\n{\n  "analysis": "done",\n  "plan": "finish",\n  "commands": [],\n  "task_complete": true\n}');
    expect(response).toEqual({ analysis: "done", plan: "finish", commands: [], task_complete: true, prose: "Let me check." });
    expect(decodeTerminus2Response("I will now run ls")).toBeUndefined();
  });
});
