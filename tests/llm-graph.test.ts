import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { importLabelledRuns } from "../memory/import.js";
import { Diagnosis, Labels } from "../schema/diagnosis.js";
import { HARBOR, LABELS, TERMINAL_BENCH } from "./corpus.js";
import { offeredTools, startScriptedOpenAI, type ChatRequest, type Script, type ScriptedOpenAI } from "./helpers/scriptedOpenAI.js";

/**
 * The whole graph in LLM mode (`--llm on`), against a scripted local OpenAI-compatible endpoint:
 * the localizer and critic agents are called by the graph's nodes, their answers become the
 * diagnosis, their cost is summed over the rounds, and a failing endpoint falls back to the offline
 * diagnosis without failing the analysis. The key and base URL exist only inside these tests.
 */
const TRIAL = path.join(HARBOR, "break-filter-js-from-html__U92hUwr");

let home: string;
let offline: Analysis;
let mock: ScriptedOpenAI | undefined;
const savedEnv = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL, model: process.env.CODETRACER_MODEL };

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "codetracer-llm-graph-"));
  offline = await analyzeRun(TRIAL, { llm: "off", home, remember: false, builtin: true });
});

afterEach(async () => {
  await mock?.close();
  mock = undefined;
  restore("OPENAI_API_KEY", savedEnv.key);
  restore("OPENAI_BASE_URL", savedEnv.url);
  restore("CODETRACER_MODEL", savedEnv.model);
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Point the LLM configuration at a scripted endpoint, as a user would with the environment. */
async function serve(script: Script): Promise<ScriptedOpenAI> {
  mock = await startScriptedOpenAI(script);
  process.env.OPENAI_API_KEY = "test-key-for-a-local-mock";
  process.env.OPENAI_BASE_URL = mock.baseURL;
  delete process.env.CODETRACER_MODEL;
  return mock;
}

const agentSteps = () => offline.trace.steps.filter((step) => step.actor === "agent" && step.tool).map((step) => step.id);

function submitDiagnosis(onset: number) {
  return {
    toolCalls: [
      {
        name: "submit_diagnosis",
        args: {
          onset_step_id: onset,
          incorrect_step_ids: [onset],
          unuseful_step_ids: [],
          error_chain: [onset],
          failure_category: "task_misunderstanding",
          confidence: 0.6,
          summary: `Step ${onset} wrote a payload the filter removes.`,
          evidence: [{ step_id: onset, why: "the payload uses a <script> tag the filter strips" }],
        },
      },
    ],
  };
}

function submitVerdict(accepted: boolean, exclude: number[] = []) {
  return {
    toolCalls: [
      {
        name: "submit_verdict",
        args: {
          accepted,
          objection: accepted ? "" : `step ${exclude[0]} is not where it went wrong`,
          checks: { agent_step: true, before_first_symptom: accepted, chain_connected: true, not_contradicted: true },
          exclude_step_ids: exclude,
          onset_not_after: null,
          not_incorrect_step_ids: [],
        },
      },
    ],
  };
}

/** Answer each agent by the submit tool it is offered: the localizer proposes `onsets` in turn, the critic follows `verdicts`. */
function agents(onsets: number[], verdicts: ((onset: number) => ReturnType<typeof submitVerdict>)[]): Script {
  let localized = 0;
  let critiqued = 0;
  return (request: ChatRequest) => {
    const tools = offeredTools(request);
    if (tools.includes("submit_diagnosis")) return submitDiagnosis(onsets[Math.min(localized++, onsets.length - 1)]!);
    if (tools.includes("submit_verdict")) return verdicts[Math.min(critiqued++, verdicts.length - 1)]!(onsets[Math.min(localized - 1, onsets.length - 1)]!);
    throw new Error(`unexpected request offering ${tools.join(", ")}`);
  };
}

describe("analyzeRun with --llm on", () => {
  it("uses the LLM localizer and critic: strategy llm, their answer, their cost, schema-valid outputs", async () => {
    const onset = agentSteps().find((id) => id !== offline.diagnosis.onset?.step_id)!;
    const server = await serve(agents([onset], [() => submitVerdict(true)]));
    const analysis = await analyzeRun(TRIAL, { llm: "on", home, remember: false, builtin: true });

    expect(analysis.diagnosis.strategy).toBe("llm");
    expect(analysis.diagnosis.onset?.step_id).toBe(onset);
    expect(analysis.diagnosis.failure_category).toBe("task_misunderstanding");
    expect(analysis.diagnosis.evidence.some((item) => item.signal === "llm_localizer")).toBe(true);
    expect(analysis.diagnosis.cost).toMatchObject({ llm_calls: server.served.calls, prompt_tokens: server.served.prompt_tokens, completion_tokens: server.served.completion_tokens });
    expect(server.served.calls).toBe(2);
    expect(analysis.diagnosis.llm_fallbacks).toBeUndefined();
    expect(() => Diagnosis.parse(analysis.diagnosis)).not.toThrow();
    expect(() => Labels.parse(analysis.labels)).not.toThrow();
    // The offline proposal is the localizer's starting hypothesis; the offline verdict is shown to the critic.
    const offlineOnset = offline.diagnosis.onset!.step_id;
    expect(String(server.requests[0]!.messages[1]!.content)).toContain(`onset step ${offlineOnset}`);
    expect(offeredTools(server.requests[1]!)).toContain("submit_verdict");
  });

  it("sums the cost of every localize and critique round when the critic sends the proposal back", async () => {
    const [first, second] = agentSteps().filter((id) => id !== offline.diagnosis.onset?.step_id);
    const server = await serve(agents([first!, second!], [(proposed) => submitVerdict(false, [proposed]), () => submitVerdict(true)]));
    const analysis = await analyzeRun(TRIAL, { llm: "on", home, remember: false, builtin: true });

    expect(server.served.calls).toBe(4);
    expect(analysis.diagnosis.cost).toMatchObject({ llm_calls: 4, prompt_tokens: server.served.prompt_tokens, completion_tokens: server.served.completion_tokens });
    expect(analysis.diagnosis.onset?.step_id).toBe(second);
    expect(analysis.diagnosis.critique?.map((round) => round.accepted)).toEqual([false, true]);
    // The critic's objection reached the second localize round.
    expect(String(server.requests[2]!.messages[1]!.content)).toContain(`step ${first} is not where it went wrong`);
  });

  it("falls back to the offline diagnosis when the endpoint fails, and the analysis still succeeds", async () => {
    const server = await serve([]);
    const analysis = await analyzeRun(TRIAL, { llm: "on", home, remember: false, builtin: true });

    expect(server.requests.length).toBeGreaterThan(0);
    expect(analysis.diagnosis.strategy).toBe("offline");
    expect(analysis.diagnosis.onset).toEqual(offline.diagnosis.onset);
    expect(analysis.diagnosis.failure_category).toBe(offline.diagnosis.failure_category);
    expect(analysis.diagnosis.cost.llm_calls).toBe(0);
    expect(analysis.diagnosis.llm_fallbacks?.[0]).toMatch(/^localize, round 1: the model call failed: .*kept the offline proposal/);
    expect(analysis.diagnosis.llm_fallbacks?.some((line) => /^critique, round \d: .*kept the offline verdict/.test(line))).toBe(true);
    expect(() => Diagnosis.parse(analysis.diagnosis)).not.toThrow();
  });

  it("gives the localizer remembered failures of the same task as examples", async () => {
    const labelled = path.join(home, "gpt2-kimi.jsonl");
    const record = readFileSync(path.join(LABELS, "kimi-silver-dev.jsonl"), "utf8").split("\n").find((line) => line.includes('"gpt2-codegolf__'))!;
    const parsed = JSON.parse(record);
    writeFileSync(labelled, `${JSON.stringify({ ...parsed, path: path.resolve(LABELS, parsed.path) })}\n`);
    const memoryHome = path.join(home, "memory");
    await importLabelledRuns(labelled, { home: memoryHome });

    const claudeRun = path.join(TERMINAL_BENCH, "gpt2-codegolf", "gpt2-codegolf.1-of-1.2025-11-08__13-10-33");
    const server = await serve(agents([4], [() => submitVerdict(true)]));
    const analysis = await analyzeRun(claudeRun, { llm: "on", home: memoryHome, remember: false, builtin: true });

    const prompt = String(server.requests[0]!.messages[1]!.content);
    expect(prompt).toContain("A confirmed past failure");
    expect(prompt).toContain("gpt2-codegolf__");
    expect(analysis.diagnosis.cases_used?.map((entry) => path.basename(entry.id))).toEqual([path.basename(parsed.path)]);
    expect(analysis.diagnosis.strategy).toBe("llm");
  });
});
