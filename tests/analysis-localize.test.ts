import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { failingChecksOf, missingModules } from "../analysis/checks.js";
import { critiqueProposal } from "../analysis/critique.js";
import { localizeOffline, type Proposal } from "../analysis/localize.js";
import { DEFAULT_MODEL } from "../analysis/scoring.js";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { FailureCategory } from "../schema/diagnosis.js";
import { HARBOR, TERMINAL_BENCH } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true };
const harbor = (name: string) => analyzeRun(path.join(HARBOR, name), options);
async function terminalBench(task: string): Promise<Analysis> {
  const dir = path.join(TERMINAL_BENCH, task);
  return analyzeRun(path.join(dir, (await readdir(dir))[0]!), options);
}

const stepWith = (analysis: Analysis, predicate: (command: string) => boolean) =>
  analysis.trace.steps.find((step) => predicate(step.tool?.command ?? JSON.stringify(step.tool?.args ?? "")))!;
const evidenceAt = (analysis: Analysis, stepId: number) => analysis.diagnosis.evidence.filter((item) => item.step_id === stepId);

describe("onset localization on real failed runs", () => {
  it("blames the garbled install of the module the failing checks cannot import", async () => {
    const run = await harbor("headless-terminal__bemYu3W");
    expect(missingModules(failingChecksOf(run.trace.run.outcome)).length + 1).toBeGreaterThan(0);
    const install = stepWith(run, (command) => command.startsWith(": pip install pexpect"));
    expect(run.diagnosis.onset?.step_id).toBe(install.id);
    expect(evidenceAt(run, install.id).map((item) => item.signal)).toContain("missing_dependency");
    expect(evidenceAt(run, install.id).find((item) => item.signal === "missing_dependency")?.why).toMatch(/pexpect/);
    expect(run.diagnosis.failure_category).toBe("tool_misuse");
  });

  it("puts the onset of a run that never made its result at the start of its garbled tail", async () => {
    const run = await harbor("fix-git__cCozJVA");
    const firstGarbled = run.trace.steps.find((step) => step.actor === "agent" && step.tool && step.kind === "other")!;
    expect(run.diagnosis.onset?.step_id).toBe(firstGarbled.id);
    expect(evidenceAt(run, firstGarbled.id).map((item) => item.signal)).toEqual(expect.arrayContaining(["malformed_call", "derailment_start"]));
    // Every later garbled call carried the failure forward.
    const later = run.trace.steps.filter((step) => step.id > firstGarbled.id && step.tool?.command?.trim().startsWith(":"));
    expect(later.length).toBeGreaterThan(10);
    expect(later.every((step) => run.diagnosis.incorrect_step_ids.includes(step.id))).toBe(true);
  });

  it("puts the onset at the first write of the checked file when that file was written with debris", async () => {
    const run = await harbor("cancel-async-tasks__4gQ8rsy");
    const firstWrite = run.trace.steps.find((step) => step.tool?.name === "Write" && JSON.stringify(step.tool.args).includes("/app/run.py"))!;
    expect(run.diagnosis.onset?.step_id).toBe(firstWrite.id);
    const signals = evidenceAt(run, firstWrite.id).map((item) => item.signal);
    expect(signals).toEqual(expect.arrayContaining(["target_origin", "malformed_call"]));
    // The garbled probes before it were useless, not the cause.
    const probes = run.trace.steps.filter((step) => step.id < firstWrite.id && step.tool?.command?.startsWith(">"));
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((step) => run.diagnosis.unuseful_step_ids.includes(step.id))).toBe(true);
  });

  it("calls an agent that stops with an empty turn a premature completion", async () => {
    const run = await harbor("chess-best-move__wpPQ5MU");
    const last = run.trace.steps[run.trace.steps.length - 1]!;
    expect(run.diagnosis.onset?.step_id).toBe(last.id);
    expect(run.diagnosis.failure_category).toBe("verification_misread_or_premature_completion");
  });

  it("finds the stand-in the agent made after the real resource failed", async () => {
    const run = await terminalBench("download-youtube");
    const fake = stepWith(run, (command) => command.includes("testsrc"));
    expect(run.diagnosis.onset?.step_id).toBe(fake.id);
    expect(evidenceAt(run, fake.id).find((item) => item.signal === "workaround_fabrication")?.why).toMatch(/stand-in/);
  });

  it("blames a server started as a job of the agent's session when the checks cannot connect", async () => {
    const run = await terminalBench("fibonacci-server");
    const start = stepWith(run, (command) => command === "node server.js");
    expect(run.diagnosis.onset?.step_id).toBe(start.id);
    expect(run.diagnosis.failure_category).toBe("tool_misuse");
  });

  it("finds no onset in a run that passed", async () => {
    const solved = [];
    for (const name of await readdir(HARBOR)) {
      const reward = await import("node:fs/promises").then((fs) => fs.readFile(path.join(HARBOR, name, "verifier", "reward.txt"), "utf8").catch(() => ""));
      if (reward.trim() === "1") solved.push(name);
    }
    expect(solved.length).toBeGreaterThan(0);
    const run = await harbor(solved[0]!);
    expect(run.diagnosis.failed).toBe(false);
    expect(run.diagnosis.onset).toBeNull();
    expect(run.diagnosis.failure_category).toBe("none");
  });

  it("is deterministic and explains every pick with evidence", async () => {
    for (const name of ["git-leak-recovery__CVQc9DD", "dna-assembly__BC7CeVz", "portfolio-optimization__9uWSX5p"]) {
      const [first, second] = [await harbor(name), await harbor(name)];
      const strip = (analysis: Analysis) => ({ ...analysis.diagnosis, cost: undefined });
      expect(strip(first)).toEqual(strip(second));
      const onset = first.diagnosis.onset!;
      expect(onset.confidence).toBeGreaterThan(0);
      expect(onset.confidence).toBeLessThanOrEqual(1);
      expect(evidenceAt(first, onset.step_id).length).toBeGreaterThan(0);
      expect(first.diagnosis.error_chain[0]).toBe(onset.step_id);
      expect(first.diagnosis.incorrect_step_ids).toContain(onset.step_id);
      expect(first.diagnosis.unuseful_step_ids.filter((id) => first.diagnosis.incorrect_step_ids.includes(id))).toEqual([]);
      expect(FailureCategory.options).toContain(first.diagnosis.failure_category);
    }
  });

  it("takes prior beliefs about steps through the scoring model's seam", async () => {
    const run = await harbor("dna-assembly__BC7CeVz");
    const input = { steps: run.trace.steps, stages: run.trace.stages, outcome: run.trace.run.outcome, task: run.trace.run.task };
    const plain = localizeOffline(input);
    const favoured = run.trace.steps.find((step) => step.actor === "agent" && step.tool && step.id !== plain.onset?.step_id)!;
    const withPrior = localizeOffline(input, {}, { ...DEFAULT_MODEL, priors: (id) => (id === favoured.id ? 50 : 0) });
    expect(withPrior.onset?.step_id).toBe(favoured.id);
  });
});

describe("the critic", () => {
  async function proposalFor(name: string) {
    const run = await harbor(name);
    const input = { steps: run.trace.steps, outcome: run.trace.run.outcome, task: run.trace.run.task };
    const proposal = localizeOffline({ ...input, stages: run.trace.stages });
    return { run, input, proposal };
  }

  it("accepts the localizer's proposal when the evidence supports it", async () => {
    const { input, proposal } = await proposalFor("headless-terminal__bemYu3W");
    expect(critiqueProposal(proposal, input)).toEqual({ accepted: true });
  });

  it("rejects an onset that is not an agent step", async () => {
    const { input, proposal } = await proposalFor("headless-terminal__bemYu3W");
    const verdict = critiqueProposal({ ...proposal, onset: { ...proposal.onset!, step_id: 1 } }, input);
    expect(verdict.accepted).toBe(false);
    expect(verdict.objection).toMatch(/not an agent step/);
    expect(verdict.constraints?.exclude).toContain(1);
  });

  it("sends back an onset that comes after an earlier fault on the way to the checked result", async () => {
    const { run, input, proposal } = await proposalFor("cancel-async-tasks__4gQ8rsy");
    const later = run.trace.steps.filter((step) => step.tool?.name === "Write" && step.id > proposal.onset!.step_id)[0]!;
    const moved: Proposal = { ...proposal, onset: { ...proposal.onset!, step_id: later.id }, error_chain: [later.id] };
    const verdict = critiqueProposal(moved, input);
    expect(verdict.accepted).toBe(false);
    expect(verdict.constraints?.notAfter).toBe(proposal.onset!.step_id);
    // The localizer, bound by the objection, goes back to the earlier fault.
    expect(localizeOffline({ ...input, stages: run.trace.stages }, verdict.constraints).onset?.step_id).toBe(proposal.onset!.step_id);
  });

  it("records every round in the diagnosis", async () => {
    const run = await harbor("caffe-cifar-10__incQ5z3");
    expect(run.diagnosis.critique?.length).toBeGreaterThan(0);
    expect(run.diagnosis.critique?.[run.diagnosis.critique.length - 1]?.proposed_onset).toBe(run.diagnosis.onset?.step_id);
  });
});
