import { readFile } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { sweAgent, sweAgentTool } from "../extractors/sweAgent.js";
import { discoverRun } from "../nodes/discover.js";
import { FORMATS } from "./corpus.js";

const SWE = path.join(FORMATS, "swe-agent");

async function trajFile(sample: string): Promise<string> {
  const [file] = await glob("**/*.traj", { cwd: path.join(SWE, sample), absolute: true });
  return file!;
}

async function extract(sample: string) {
  const file = await trajFile(sample);
  const run = await discoverRun(file);
  expect(await sweAgent.detect(run)).toBe(1);
  const raw = JSON.parse(await readFile(file, "utf8")) as { trajectory: { action: string; observation: string }[] };
  return { ...(await sweAgent.extract(run)), raw, name: path.basename(file) };
}

describe("SWE-agent trajectories (.traj, 0.x and 1.x)", () => {
  it("finds each .traj file as one run", async () => {
    const runs = await findRuns(SWE);
    expect(runs).toHaveLength(6);
    expect(runs.every((run) => run.relative.endsWith(".traj"))).toBe(true);
  });

  const samples: [sample: string, steps: number, last: string][] = [
    ["demo_ctf_i_got_id", 21, "submit FLAG{p3rl_6_iz_EVEN_BETTER!!1}"],
    ["demo_ctf_katy", 18, "submit '125379498'"],
    ["demo_marshmallow-1867_function_calling", 13, "submit"],
    ["gpt4_pydicom-1458", 12, "submit"],
    ["gpt4_test-repo-i1", 5, "submit"],
    ["gpt4o_sweagenttestrepo-1c2844", 5, "submit"],
  ];
  for (const [sample, count, last] of samples) {
    it(`${sample}: one step per trajectory entry (${count}), observation kept, submitted is not a pass`, async () => {
      const { steps, raw, name, outcome, task, warnings } = await extract(sample);
      expect(steps).toHaveLength(count);
      expect(warnings).toBeUndefined();
      steps.forEach((step, index) => {
        expect(step.id).toBe(index + 1);
        expect(step.sources[0]).toEqual({ path: name, pointer: `/trajectory/${index}` });
        expect(step.tool).toBeDefined();
        expect(step.observation?.text).toBe(raw.trajectory[index]!.observation);
      });
      expect(steps.at(-1)?.tool?.name).toBe("submit");
      expect(raw.trajectory.at(-1)!.action.trim()).toBe(last);
      expect(task).toMatch(/^We're currently solving the following/);
      expect(outcome).toEqual({ status: "unknown", evidence: [{ name: "exit_status", status: "submitted", source: { path: name, pointer: "/info/exit_status" } }] });
    });
  }

  it("0.x: ACI commands are named tools, anything else runs in bash; history turns are sources", async () => {
    const { steps } = await extract("gpt4_pydicom-1458");
    expect(steps[0]!.tool).toEqual({ name: "create", args: { input: "create reproduce_bug.py" } });
    expect(steps[0]!.sources[1]).toEqual({ path: "pydicom__pydicom-1458.traj", pointer: "/history/3" });
    expect(steps[1]!.tool?.name).toBe("edit");
    expect((steps[1]!.tool?.args as { input: string }).input).toMatch(/^edit 1:1\nimport numpy as np/);
    expect(steps[2]!.tool).toEqual({ name: "bash", args: { command: "python reproduce_bug.py" }, command: "python reproduce_bug.py" });
    expect(steps[2]!.observation?.text).toMatch(/^Traceback \(most recent call last\)/);
    expect(steps[0]!.thought).toMatch(/^First, I'll create a new Python script to reproduce the bug/);
  });

  it("1.x function calling: the recorded tool call gives name, id and arguments", async () => {
    const { steps } = await extract("demo_marshmallow-1867_function_calling");
    expect(steps[0]!.tool).toEqual({ name: "bash", id: "call_9diWc1DYm4RLmPfHgIaP2wd", args: { command: "ls -F" }, command: "ls -F" });
    expect(steps[3]!.tool).toEqual({ name: "create", id: "call_cyI71DYnRdoLHWwtZgIaW2wr", args: { filename: "reproduce.py" } });
    expect(steps[2]!.tool?.command).toBe("pip install -e .[dev]");
  });

  it("1.x without the last turn in history still keeps every trajectory entry", async () => {
    const { steps } = await extract("gpt4o_sweagenttestrepo-1c2844");
    expect(steps.map((step) => step.tool?.name)).toEqual(["find_file", "open", "edit", "bash", "submit"]);
    expect(steps[4]!.sources).toHaveLength(1);
    expect(steps[0]!.tool?.args).toEqual({ file_name: "missing_colon.py" });
  });

  it("EnIGMA CTF tools are tools, not shell programs", () => {
    expect(sweAgentTool("decompile release --function_name _hash\n")).toEqual({ name: "decompile", args: { input: "decompile release --function_name _hash" } });
    expect(sweAgentTool("curl http://web.chal.csaw.io:8000\n")?.command).toBe("curl http://web.chal.csaw.io:8000");
  });
});
