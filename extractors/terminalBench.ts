import { z } from "zod";
import { RunError } from "../schema/errors.js";
import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { noEventsError, readStreamJsonCast, sessionResultEvidence } from "./claudeCode.js";
import { ClaudeCodeSession } from "./claudeCodeEvents.js";
import { hasFile, readOptionalJson, readOptionalText, WarningLog } from "./io.js";
import type { Extractor, RunFiles } from "./types.js";

/**
 * A terminal-bench (`tb run`) trial directory is one run: `results.json` + `sessions/agent.cast`
 * (+ `panes/`, `commands.txt`). The agent here is Claude Code, whose stream-json events sit inside the
 * recording. Group files of a whole `tb run` (`results.json` with `results[]`, `run_metadata.json`,
 * `tb.lock`) are one level up and are not runs: they have no `sessions/`, `panes/` or `commands.txt`.
 */

const CAST = "sessions/agent.cast";
const RESULTS = "results.json";
const POST_TEST = "panes/post-test.txt";

const TrialResults = z.looseObject({
  instruction: z.string().nullish(),
  is_resolved: z.boolean().nullish(),
  failure_mode: z.string().nullish(),
  parser_results: z.record(z.string(), z.unknown()).nullish(),
});
type TrialResults = z.infer<typeof TrialResults>;

function isTrial(run: RunFiles): boolean {
  return hasFile(run, RESULTS) && (hasFile(run, CAST) || hasFile(run, "commands.txt") || run.files.some((file) => file.startsWith("panes/")));
}

export const terminalBenchClaudeCode: Extractor = {
  id: "terminal-bench-claude-code",
  version: "1",
  format: "terminal-bench trial (Claude Code stream-json in sessions/agent.cast)",
  async detect(run) {
    if (run.isFile || !isTrial(run)) return 0;
    // Terminus trials keep their own logs in agent-logs/; let an extractor for those win.
    if (run.files.some((file) => file.startsWith("agent-logs/"))) return 0.3;
    return hasFile(run, CAST) ? 1 : 0.6;
  },
  async extract(run) {
    const results = await readTrialResults(run);
    if (!hasFile(run, CAST)) {
      throw new RunError(`terminal-bench trial without ${CAST}: the agent's session was not recorded${resolvedNote(results)}`);
    }
    const warnings = new WarningLog();
    const session = new ClaudeCodeSession(warnings);
    const tail = await readStreamJsonCast(run, CAST, session, warnings);
    const steps = session.finish();
    if (steps.length === 0) throw noEventsError(CAST, tail);
    const outcome = await trialOutcome(run, results);
    outcome.evidence.push(...sessionResultEvidence(session.results));
    return { steps, task: results?.instruction ?? session.task, outcome, warnings: warnings.toJSON() };
  },
};

async function readTrialResults(run: RunFiles): Promise<TrialResults | undefined> {
  const parsed = TrialResults.safeParse(await readOptionalJson(run, RESULTS));
  return parsed.success ? parsed.data : undefined;
}

function resolvedNote(results: TrialResults | undefined): string {
  return results && results.is_resolved != null ? ` (results.json: is_resolved ${results.is_resolved})` : "";
}

/**
 * `is_resolved` decides (null → unknown: the tests timed out or could not be parsed); the failing
 * `parser_results` and the pytest summary of the post-test pane are the evidence.
 */
export async function trialOutcome(run: RunFiles, results: TrialResults | undefined): Promise<Outcome> {
  const evidence: OutcomeEvidence[] = [];
  const resolved = results?.is_resolved;
  if (results && resolved != null) evidence.push({ name: "is_resolved", status: String(resolved), source: { path: RESULTS, pointer: "/is_resolved" } });
  if (results?.failure_mode && results.failure_mode !== "unset") {
    evidence.push({ name: "failure_mode", status: results.failure_mode, source: { path: RESULTS, pointer: "/failure_mode" } });
  }
  for (const [name, status] of Object.entries(results?.parser_results ?? {})) {
    if (status === "passed") continue;
    evidence.push({ name, status: String(status), source: { path: RESULTS, pointer: `/parser_results/${pointerToken(name)}` } });
  }
  const pane = await readOptionalText(run, POST_TEST);
  if (pane !== undefined) evidence.push(...pytestFailures(pane, POST_TEST));
  const status = resolved === true ? "passed" : resolved === false ? "failed" : "unknown";
  return { status, evidence };
}

/** RFC 6901: `~` and `/` in a key are escaped. */
function pointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * Failing tests of a pytest run printed in a text log (a tmux pane, a test-stdout file): the
 * `FAILED`/`ERROR` lines of the short summary, then the final `N failed, M passed` line, each with its
 * 1-based line as source. Empty when the text shows no pytest summary.
 */
export function pytestFailures(text: string, textPath: string): OutcomeEvidence[] {
  const evidence: OutcomeEvidence[] = [];
  let summary: OutcomeEvidence | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    const failure = /^(FAILED|ERROR) (\S+)(?: - (.*))?$/.exec(line);
    if (failure) {
      evidence.push({
        name: failure[2]!,
        status: failure[1]!.toLowerCase(),
        ...(failure[3] ? { detail: failure[3].trim() } : {}),
        source: { path: textPath, line: index + 1 },
      });
      return;
    }
    const total = /^=+ (.*\b\d+ (?:passed|failed|errors?|skipped)\b.*?) =+$/.exec(line.trim());
    if (total) summary = { name: "pytest", status: total[1]!.replace(/ in [\d.]+s.*$/, ""), detail: total[1]!, source: { path: textPath, line: index + 1 } };
  });
  return summary ? [...evidence, summary] : evidence;
}
