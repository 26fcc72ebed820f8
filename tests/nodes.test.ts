import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AnalyzeOptions, DiagnoseStateType } from "../graphs/state.js";
import { RunStore } from "../memory/store.js";
import { buildTree } from "../nodes/buildTree.js";
import { critique } from "../nodes/critique.js";
import { discover } from "../nodes/discover.js";
import { extract } from "../nodes/extract.js";
import { fingerprint } from "../nodes/fingerprint.js";
import { localize } from "../nodes/localize.js";
import { planReplay } from "../nodes/planReplay.js";
import { remember } from "../nodes/remember.js";
import { validate } from "../nodes/validate.js";
import { RunError } from "../schema/errors.js";
import { Diagnosis } from "../schema/diagnosis.js";
import { ReplayPlan } from "../schema/replay.js";
import { HARBOR, REPO } from "./corpus.js";

const DEMO = path.join(REPO, "examples", "harbor-demo__fib01");
const options = (home = os.tmpdir()): AnalyzeOptions => ({ llm: "off", home, remember: true, builtin: true });

/** Run nodes by hand, in pipeline order, merging each partial update into the state (what the graph does). */
async function runNodes(input: string, nodes: ((state: DiagnoseStateType) => Promise<Partial<DiagnoseStateType>>)[], home?: string) {
  let state = { input, options: options(home), evolveAttempts: 0, steps: [], stages: [], constraints: {}, critiqueRounds: [], startedAt: Date.now() } as unknown as DiagnoseStateType;
  for (const node of nodes) state = { ...state, ...(await node(state)) };
  return state;
}

/** The localize ⇄ critique loop by hand: localize, critique, and again while the critic sends it back. */
async function localizeUntilAccepted(state: DiagnoseStateType): Promise<DiagnoseStateType> {
  let current = state;
  for (let round = 0; round < 5 && !current.diagnosis; round += 1) {
    current = { ...current, ...(await localize(current)) };
    current = { ...current, ...(await critique(current)) };
  }
  return current;
}

describe("discover", () => {
  it("lists the files of a run directory relative to it", async () => {
    const { run } = await discover({ input: DEMO } as DiagnoseStateType);
    expect(run?.files).toContain("agent/trajectory.json");
    expect(run?.files).toContain("verifier/ctrf.json");
    expect(run?.isFile).toBe(false);
  });

  it("refuses an empty directory, a binary file and a missing path with the reason", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ct-discover-"));
    await mkdir(path.join(dir, "empty"));
    await writeFile(path.join(dir, "blob.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0]));
    await expect(discover({ input: path.join(dir, "empty") } as DiagnoseStateType)).rejects.toThrow(/directory is empty/);
    await expect(discover({ input: path.join(dir, "blob.bin") } as DiagnoseStateType)).rejects.toThrow(/binary file/);
    await expect(discover({ input: path.join(dir, "nope") } as DiagnoseStateType)).rejects.toBeInstanceOf(RunError);
  });
});

describe("fingerprint", () => {
  it("recognises a Harbor trial and leaves an unknown folder without extractor", async () => {
    const harbor = await runNodes(path.join(HARBOR, "bn-fit-modify__AWvGVmB"), [discover, fingerprint]);
    expect(harbor.extractorId).toBe("harbor-atif");
    expect(harbor.runFingerprint?.files).toContain("agent/trajectory.json");
    const dir = await mkdtemp(path.join(os.tmpdir(), "ct-unknown-"));
    await writeFile(path.join(dir, "notes.txt"), "just some notes, not an agent log\n");
    const unknown = await runNodes(dir, [discover, fingerprint]);
    expect(unknown.extractorId).toBeUndefined();
  });
});

describe("extract and validate", () => {
  it("extracts the demo run and finds it valid", async () => {
    const state = await runNodes(DEMO, [discover, fingerprint, extract, validate]);
    expect(state.steps).toHaveLength(9);
    expect(state.runInfo?.format).toMatch(/harbor/);
    expect(state.runInfo?.outcome?.status).toBe("failed");
    expect(state.validation).toMatchObject({ ok: true, problems: [] });
  });

  it("calls an extraction without any agent action or message poor, but accepts a tool-less chat", async () => {
    const state = await runNodes(DEMO, [discover, fingerprint, extract]);
    const chat = state.steps.map(({ tool: _tool, observation: _observation, ...step }) => step);
    expect((await validate({ ...state, steps: chat })).validation?.ok).toBe(true);
    const userOnly = chat.map((step) => (step.actor === "user" ? step : { ...step, text: undefined, thought: undefined }));
    const { validation } = await validate({ ...state, steps: userOnly });
    expect(validation?.ok).toBe(false);
    expect(validation?.problems.join(" ")).toMatch(/no step carries an agent action or message/);
  });
});

describe("buildTree, localize, critique, planReplay", () => {
  it("classifies steps, cuts stages that cover the run, and builds the tree", async () => {
    const state = await runNodes(DEMO, [discover, fingerprint, extract, buildTree]);
    expect(state.steps.find((step) => step.tool?.name === "Write")?.kind).toBe("change");
    expect(state.steps.find((step) => step.tool?.command === "ls -la /app")?.kind).toBe("explore");
    expect(state.stages[0]?.start_step_id).toBe(1);
    expect(state.stages.at(-1)?.end_step_id).toBe(9);
    const treeSteps = state.tree!.children.flatMap((stage) => stage.children.map((node) => node.step_id));
    expect(treeSteps).toEqual(state.steps.map((step) => step.id));
  });

  it("proposes an onset on an agent step, gets it critiqued, and plans a replay before it", async () => {
    const state = await localizeUntilAccepted(await runNodes(DEMO, [discover, fingerprint, extract, buildTree]));
    expect(state.critiqueRounds.length).toBeGreaterThanOrEqual(1);
    const diagnosis = Diagnosis.parse(state.diagnosis);
    expect(diagnosis.failed).toBe(true);
    expect(diagnosis.onset).not.toBeNull();
    expect(state.steps.find((step) => step.id === diagnosis.onset!.step_id)?.actor).toBe("agent");
    const { replay } = await planReplay({ ...state, diagnosis });
    const plan = ReplayPlan.parse(replay);
    expect(plan.resume_after_step_id).toBe(diagnosis.onset!.step_id - 1);
    expect(plan.guidance).toContain(`step ${diagnosis.onset!.step_id}`);
  });
});

describe("remember", () => {
  it("records the run and its diagnosis in the SQLite store under --home", async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), "ct-home-"));
    const final = await localizeUntilAccepted(await runNodes(DEMO, [discover, fingerprint, extract, buildTree], home));
    await remember(final);
    const store = new RunStore(home);
    try {
      const stored = store.run(final.runInfo!.path);
      expect(stored).toMatchObject({ steps: 9, outcome: "failed", extractor_id: "harbor-atif" });
      expect(store.latestDiagnosis(final.runInfo!.path)?.onset?.step_id).toBe(final.diagnosis!.onset?.step_id);
    } finally {
      store.close();
    }
  });
});
