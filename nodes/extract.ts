import { builtinExtractors } from "../extractors/index.js";
import type { Extractor } from "../extractors/types.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/** Run the chosen extractor over the run's files. */
export async function extract(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  const extractor = extractorById(required(state.extractorId, "extractorId"));
  const extracted = await extractor.extract(run);
  return {
    steps: extracted.steps,
    runInfo: {
      path: run.input,
      format: extractor.format,
      extractor: { id: extractor.id, version: extractor.version },
      ...(extracted.task !== undefined ? { task: extracted.task } : {}),
      ...(extracted.outcome ? { outcome: extracted.outcome } : {}),
      ...(extracted.warnings ? { warnings: extracted.warnings } : {}),
      ...(extracted.reference_stages ? { reference_stages: extracted.reference_stages } : {}),
    },
  };
}

export function extractorById(id: string): Extractor {
  const extractor = builtinExtractors.find((candidate) => candidate.id === id);
  if (!extractor) throw new Error(`no extractor with id ${id}`);
  return extractor;
}
