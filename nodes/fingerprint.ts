import { builtinExtractors } from "../extractors/index.js";
import type { Extractor, RunFiles } from "../extractors/types.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate, type Fingerprint } from "../graphs/state.js";

/** Below this detection score no extractor is trusted and the format counts as unknown. */
const DETECT_THRESHOLD = 0.5;

/** Take the structural signature of the run and pick the extractor of the format it matches. */
export async function fingerprint(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  const candidates = state.options.builtin ? builtinExtractors : [];
  const best = await bestExtractor(run, candidates);
  return { runFingerprint: runFingerprint(run), extractorId: best?.id };
}

export function runFingerprint(run: RunFiles): Fingerprint {
  return { files: [...new Set(run.files.map((file) => file.replace(/\d+/g, "N")))].sort() };
}

export async function bestExtractor(run: RunFiles, extractors: Extractor[]): Promise<Extractor | undefined> {
  let best: { extractor: Extractor; score: number } | undefined;
  for (const extractor of extractors) {
    const score = await extractor.detect(run);
    if (score >= DETECT_THRESHOLD && (!best || score > best.score)) best = { extractor, score };
  }
  return best?.extractor;
}
