import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findRuns } from "../extractors/findRuns.js";
import { decodeMiniSweMessage, miniSweAction, miniSweAgent, miniSweObservation } from "../extractors/miniSwe.js";
import { discoverRun } from "../nodes/discover.js";
import { RunError } from "../schema/errors.js";
import { FORMATS } from "./corpus.js";

const MINI = path.join(FORMATS, "mini-swe-agent");
const trajectoryPath = (id: string) => path.join(MINI, id, "trajs", id, `${id}.traj.json`);

async function extract(input: string) {
  const run = await discoverRun(input);
  expect(await miniSweAgent.detect(run)).toBe(1);
  return miniSweAgent.extract(run);
}

/** Ground truth read straight from the raw file: mini-SWE-agent counts one API call per assistant turn. */
async function rawTrajectory(id: string) {
  return JSON.parse(await readFile(trajectoryPath(id), "utf8")) as { messages: { role: string; content: string }[]; info: { model_stats: { api_calls: number } } };
}

describe("mini-SWE-agent trajectories (.traj.json)", () => {
  it("finds one run per SWE-bench instance folder (trajectory + harness report)", async () => {
    const runs = await findRuns(MINI);
    expect(runs.map((run) => run.relative)).toEqual([
      "django__django-11163", "django__django-14140", "matplotlib__matplotlib-23412", "psf__requests-1766", "sympy__sympy-13798", "sympy__sympy-20438",
    ]);
  });

  const samples: [id: string, steps: number, status: "passed" | "failed"][] = [
    ["django__django-11163", 13, "passed"],
    ["django__django-14140", 25, "failed"],
    ["matplotlib__matplotlib-23412", 50, "passed"],
    ["psf__requests-1766", 25, "passed"],
    ["sympy__sympy-13798", 40, "failed"],
    ["sympy__sympy-20438", 60, "failed"],
  ];
  for (const [id, count, status] of samples) {
    it(`${id}: one step per assistant turn (${count}), each a bash command with the next message as observation; outcome ${status}`, async () => {
      const raw = await rawTrajectory(id);
      const { steps, outcome, task, warnings } = await extract(path.join(MINI, id));
      expect(steps).toHaveLength(count);
      expect(raw.info.model_stats.api_calls).toBe(count);
      expect(warnings).toBeUndefined();
      const traj = `trajs/${id}/${id}.traj.json`;
      steps.forEach((step, index) => {
        // messages: system, task, then assistant/observation pairs
        expect(step.sources).toEqual([{ path: traj, pointer: `/messages/${2 + 2 * index}` }, { path: traj, pointer: `/messages/${3 + 2 * index}` }]);
        expect(step.tool?.name).toBe("bash");
        expect(raw.messages[2 + 2 * index]!.content).toContain(step.tool!.command!);
      });
      expect(steps.at(-1)?.tool?.command).toMatch(/^echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT/);
      expect(steps.at(-1)?.observation?.text).toMatch(/^diff --git/);
      expect(task).toMatch(/^<pr_description>/);
      expect(outcome?.status).toBe(status);
      expect(outcome?.evidence[0]).toMatchObject({ name: "resolved", status: String(status === "passed"), source: { path: `logs/${id}/report.json`, pointer: "/resolved" } });
      expect(outcome?.evidence.at(-1)).toMatchObject({ name: "exit_status", status: "Submitted", source: { path: traj, pointer: "/info/exit_status" } });
    });
  }

  it("keeps the command, THOUGHT, exit code and output of a concrete step", async () => {
    const { steps } = await extract(path.join(MINI, "psf__requests-1766"));
    const step = steps[1]!;
    expect(step.tool).toEqual({ name: "bash", args: { command: 'grep -n "qop" requests/auth.py' }, command: 'grep -n "qop" requests/auth.py' });
    expect(step.thought).toMatch(/^THOUGHT: The PR description mentions "Digest Auth"/);
    expect(step.observation?.exit_code).toBe(0);
    expect(step.observation?.text).toMatch(/^72:        qop = self\.chal\.get\('qop'\)/);
  });

  it("names the failing tests of the harness report as evidence", async () => {
    const { outcome } = await extract(path.join(MINI, "sympy__sympy-13798"));
    expect(outcome?.evidence[1]).toEqual({ name: "test_latex_basic", status: "failed", detail: "FAIL_TO_PASS", source: { path: "logs/sympy__sympy-13798/report.json", pointer: "/tests_status/FAIL_TO_PASS/failure/0" } });
  });

  it("reads the trajectory file alone too, finding its report in the results layout beside it", async () => {
    const { steps, outcome } = await extract(trajectoryPath("django__django-11163"));
    expect(steps).toHaveLength(13);
    expect(outcome?.status).toBe("passed");
    expect(outcome?.evidence[0]?.source).toEqual({ path: "../../logs/django__django-11163/report.json", pointer: "/resolved" });
  });

  it("decodes messages as objects, as JSON text, and as the cut line ranges normalized runs quote", () => {
    const cut = '    {\n      "role": "assistant",\n      "content": "THOUGHT: look\\n\\n```bash\\nls -la\\n```",\n      "timestamp": 1766948698.5,\n      "extra": {\n        "response": {';
    const message = decodeMiniSweMessage(cut);
    expect(message).toMatchObject({ role: "assistant", content: "THOUGHT: look\n\n```bash\nls -la\n```", timestamp: "2025-12-28T19:04:58.500Z" });
    expect(miniSweAction(message!).tool?.command).toBe("ls -la");
    expect(miniSweObservation("<returncode>2</returncode>\n<output>\nls: cannot access 'x'\n</output>")).toEqual({ text: "ls: cannot access 'x'", exit_code: 2 });
    // Two fences: mini-SWE-agent executes nothing (format error), so there is no tool call.
    expect(miniSweAction({ role: "assistant", content: "```bash\na\n```\n```bash\nb\n```" }).tool).toBeUndefined();
  });

  it("turns a truncated trajectory into a one-line RunError", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ct-mini-"));
    const text = await readFile(trajectoryPath("django__django-11163"), "utf8");
    await writeFile(path.join(dir, "cut.traj.json"), text.slice(0, Math.floor(text.length * 0.6)));
    const run = await discoverRun(path.join(dir, "cut.traj.json"));
    await expect(miniSweAgent.extract(run)).rejects.toBeInstanceOf(RunError);
    await expect(miniSweAgent.extract(run)).rejects.toThrow(/^cut\.traj\.json is not valid JSON/);
  });

  it("streams a trajectory too big to parse whole, with the same steps and outcome", async () => {
    const whole = await extract(path.join(MINI, "psf__requests-1766"));
    process.env.CODETRACER_STREAM_ABOVE_BYTES = "1";
    try {
      const streamed = await extract(path.join(MINI, "psf__requests-1766"));
      expect(streamed).toEqual(whole);
    } finally {
      delete process.env.CODETRACER_STREAM_ABOVE_BYTES;
    }
  });
});
