import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { isRecord, readOptionalJson, readOptionalText } from "./io.js";
import type { RunFiles } from "./types.js";

/** How many lines of a failing test's trace go into the evidence. */
const TRACE_LINES = 6;

/** The first few lines of a long text, so evidence stays readable. */
export function firstLines(text: string, lines = TRACE_LINES): string {
  return text.split("\n").slice(0, lines).join("\n");
}

/**
 * Harbor verifier: `verifier/reward.txt` (1 solved) and `verifier/ctrf.json` (pytest CTRF report).
 * No ctrf.json and no reward of 1 means the verifier never ran: the outcome is unknown, not a failure.
 */
export async function harborOutcome(run: RunFiles, prefix = ""): Promise<Outcome> {
  const rewardPath = `${prefix}verifier/reward.txt`;
  const ctrfPath = `${prefix}verifier/ctrf.json`;
  const rewardText = await readOptionalText(run, rewardPath, 64);
  const reward = rewardText === undefined ? undefined : Number.parseFloat(rewardText.trim());
  const failures = ctrfFailures(await readOptionalJson(run, ctrfPath), ctrfPath);
  const rewardEvidence: OutcomeEvidence[] =
    reward === undefined || Number.isNaN(reward) ? [] : [{ name: "reward", status: String(reward), source: { path: rewardPath, line: 1 } }];

  if (reward !== undefined && reward >= 1) return { status: "passed", evidence: rewardEvidence };
  if (failures !== undefined && failures.length > 0) return { status: "failed", evidence: failures };
  if (failures !== undefined && reward !== undefined && !Number.isNaN(reward)) return { status: "failed", evidence: rewardEvidence };
  const exception = await readOptionalText(run, `${prefix}exception.txt`, 4096);
  const why: OutcomeEvidence[] = exception
    ? [{ name: "exception", status: "error", detail: lastLines(exception), source: { path: `${prefix}exception.txt`, line: 1 } }]
    : [];
  return { status: "unknown", evidence: [...rewardEvidence, ...why] };
}

function lastLines(text: string, lines = 3): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** Failing tests of a CTRF report as evidence, or undefined when there is no report. */
export function ctrfFailures(report: unknown, reportPath: string): OutcomeEvidence[] | undefined {
  if (!isRecord(report) || !isRecord(report.results) || !Array.isArray(report.results.tests)) return undefined;
  const evidence: OutcomeEvidence[] = [];
  report.results.tests.forEach((test, index) => {
    if (!isRecord(test) || test.status === "passed" || test.status === "skipped") return;
    const detail = typeof test.trace === "string" ? test.trace : typeof test.message === "string" ? test.message : undefined;
    evidence.push({
      name: String(test.name ?? `test ${index}`),
      status: String(test.status ?? "failed"),
      ...(detail ? { detail: firstLines(detail) } : {}),
      source: { path: reportPath, pointer: `/results/tests/${index}` },
    });
  });
  return evidence;
}

/**
 * A SWE-bench harness `report.json`: `{resolved, tests_status}`, or the same wrapped as
 * `{<instance_id>: {...}}`. `resolved` decides passed/failed; the tests that failed are the evidence.
 * Undefined when the document is not such a report.
 */
export function sweBenchReportOutcome(report: unknown, reportPath: string): Outcome | undefined {
  const found = sweBenchReportBody(report);
  if (!found) return undefined;
  const { body, prefix } = found;
  const resolved: OutcomeEvidence = { name: "resolved", status: String(body.resolved), source: { path: reportPath, pointer: `${prefix}/resolved` } };
  if (body.resolved) return { status: "passed", evidence: [resolved] };
  const failing: OutcomeEvidence[] = [];
  const tests = isRecord(body.tests_status) ? body.tests_status : {};
  for (const [group, result] of Object.entries(tests)) {
    if (!isRecord(result) || !Array.isArray(result.failure)) continue;
    result.failure.forEach((test, index) => {
      failing.push({ name: String(test), status: "failed", detail: group, source: { path: reportPath, pointer: `${prefix}/tests_status/${group}/failure/${index}` } });
    });
  }
  return { status: "failed", evidence: [resolved, ...failing] };
}

function sweBenchReportBody(report: unknown): { body: Record<string, unknown> & { resolved: boolean }; prefix: string } | undefined {
  if (!isRecord(report)) return undefined;
  if (typeof report.resolved === "boolean") return { body: report as Record<string, unknown> & { resolved: boolean }, prefix: "" };
  const keys = Object.keys(report);
  const inner = keys.length === 1 ? report[keys[0]!] : undefined;
  if (!isRecord(inner) || typeof inner.resolved !== "boolean") return undefined;
  return { body: inner as Record<string, unknown> & { resolved: boolean }, prefix: `/${keys[0]!.replace(/~/g, "~0").replace(/\//g, "~1")}` };
}
