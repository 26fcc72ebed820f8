import { atifSteps, atifTask } from "./atif.js";
import { hasFile, readJsonFile, WarningLog } from "./io.js";
import type { Extractor } from "./types.js";
import { harborOutcome } from "./verifiers.js";

const TRAJECTORY = "agent/trajectory.json";

/**
 * A Harbor trial directory is one run. When `agent/trajectory.json` (ATIF) is present it is the
 * primary source: each ATIF step becomes exactly one Step (pointer `/steps/<index>`).
 */
export const harborAtif: Extractor = {
  id: "harbor-atif",
  version: "1",
  format: "harbor-trial (ATIF)",
  async detect(run) {
    if (hasFile(run, TRAJECTORY)) return 1;
    // A Harbor trial whose trajectory is missing: still one run (it will get a clear error), not a tree of runs.
    const isTrial = hasFile(run, "result.json") && run.files.some((file) => file.startsWith("agent/"));
    return isTrial ? 0.3 : 0;
  },
  async extract(run) {
    const warnings = new WarningLog();
    const steps = atifSteps(await readJsonFile(run, TRAJECTORY), TRAJECTORY, warnings);
    return { steps, task: atifTask(steps), outcome: await harborOutcome(run), warnings: warnings.toJSON() };
  },
};
