import { RunError } from "../schema/errors.js";
import { atifSteps, atifTask } from "./atif.js";
import { absolute, peek, WarningLog } from "./io.js";
import { openJsonDocument } from "./jsonStream.js";
import type { Extractor, RunFiles } from "./types.js";

/**
 * An ATIF v1.x trajectory as a file of its own (outside a Harbor trial): each ATIF step is one Step,
 * pointer `/steps/<index>`, exactly as inside a trial (extractors/atif.ts). ATIF records no verdict,
 * so the outcome is unknown.
 */

async function atifScore(run: RunFiles): Promise<number> {
  if (!run.isFile || !run.files[0]!.endsWith(".json")) return 0;
  const head = (await peek(absolute(run, run.files[0]!), 4096)).toString("utf8");
  if (/"schema_version":\s*"ATIF-v1/.test(head)) return 1;
  return /^\s*\{/.test(head) && /"steps":\s*\[/.test(head) && /"(session_id|agent)":/.test(head) && /"step_id":/.test(head) ? 0.6 : 0;
}

export const atifFile: Extractor = {
  id: "atif-file",
  version: "1",
  format: "ATIF trajectory (standalone JSON)",
  async detect(run) {
    return atifScore(run);
  },
  async extract(run) {
    if (!run.isFile) throw new RunError("an ATIF trajectory is a single .json file");
    const file = run.files[0]!;
    const warnings = new WarningLog();
    const document = await openJsonDocument(run, file);
    // A big file is streamed step by step, so its text and a whole-document parse tree never sit in memory together.
    const rawSteps: unknown[] = [];
    for await (const { value } of document.array("/steps")) rawSteps.push(value);
    if (rawSteps.length === 0 && !Array.isArray(await document.value("/steps"))) throw new RunError(`${file} has no steps[]: not an ATIF trajectory`);
    const steps = atifSteps({ steps: rawSteps }, file, warnings);
    return { steps, task: atifTask(steps), outcome: { status: "unknown", evidence: [] }, warnings: warnings.toJSON() };
  },
};
