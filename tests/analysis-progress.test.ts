import path from "node:path";
import { describe, expect, it } from "vitest";
import { isErrorStep } from "../analysis/progress.js";
import { sweAgent } from "../extractors/sweAgent.js";
import { discoverRun } from "../nodes/discover.js";
import type { Step } from "../schema/step.js";
import { REPO } from "./corpus.js";

const step = (observation: Step["observation"]): Step => ({ id: 1, kind: "other", actor: "agent", tool: { name: "edit" }, observation, sources: [{ path: "x", line: 1 }] });

describe("telling a failed call from its observation", () => {
  it("trusts the log's own error flag or exit code when it has one", () => {
    expect(isErrorStep(step({ text: "Traceback (most recent call last):", exit_code: 0 }))).toBe(false);
    expect(isErrorStep(step({ text: "all good", is_error: true }))).toBe(true);
    expect(isErrorStep(step({ text: "", exit_code: 2 }))).toBe(true);
  });

  it("reads tool refusals and errors in the text when the log records neither", () => {
    expect(isErrorStep(step({ text: "Your proposed edit has introduced new syntax error(s).\nYour changes have NOT been applied. Please fix your edit command and try again." }))).toBe(true);
    expect(isErrorStep(step({ text: "Traceback (most recent call last):\n  File \"x.py\", line 1" }))).toBe(true);
    expect(isErrorStep(step({ text: "bash: pytset: command not found" }))).toBe(true);
    expect(isErrorStep(step({ text: "File updated. Please review the changes." }))).toBe(false);
    expect(isErrorStep(step({ text: "def handle_error(e):\n    raise" }))).toBe(false);
  });

  it("sees the linter-rejected edits of a SWE-agent run as errors", async () => {
    const run = await discoverRun(path.join(REPO, "examples", "timeparse__timeparse-31"));
    const { steps } = await sweAgent.extract(run);
    const rejected = steps.filter((candidate) => /NOT been applied/.test(candidate.observation?.text ?? ""));
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every(isErrorStep)).toBe(true);
  });
});
