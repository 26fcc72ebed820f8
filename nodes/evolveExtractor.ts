import { knownFormats } from "../extractors/index.js";
import { RunError } from "../schema/errors.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/**
 * Make an extractor for a format no known extractor reads well. Until extractor synthesis lands this
 * ends the run honestly: the format is unknown, and the message names the formats that are known.
 */
export async function evolveExtractor(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  const why = state.validation && !state.validation.ok
    ? `the ${state.runInfo?.format ?? "chosen"} extractor read it poorly (${state.validation.problems.join("; ")})`
    : "no known extractor matches it";
  throw new RunError(`${run.input}: unknown run format: ${why}. Known formats: ${knownFormats()}`);
}
