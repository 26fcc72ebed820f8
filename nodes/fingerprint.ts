import { fingerprintRun } from "../extractors/fingerprint.js";
import { builtinExtractors } from "../extractors/index.js";
import { ExtractorRegistry } from "../extractors/registry.js";
import { matchRegisteredSpec } from "../extractors/registryMatch.js";
import type { Extractor, RunFiles } from "../extractors/types.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate, type Fingerprint } from "../graphs/state.js";

/** Below this detection score no extractor is trusted and the format counts as unknown. */
const DETECT_THRESHOLD = 0.5;

/**
 * Pick the extractor of the format the run matches: a built-in by detection score first (unless
 * --no-builtin), then a registered spec by fingerprint similarity; otherwise the format is unknown
 * and the graph goes to evolveExtractor.
 */
export async function fingerprint(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  if (state.options.builtin) {
    const best = await bestExtractor(run, builtinExtractors);
    if (best) return { runFingerprint: runFingerprint(run), extractorId: best.id, activeSpec: undefined };
  }
  const full = await fingerprintRun(run);
  const registry = ExtractorRegistry.open(state.options.home);
  try {
    if (state.options.remember) registry.ensureShipped();
    const match = await matchRegisteredSpec(state.options.home, registry, run, full, { includeBuiltin: state.options.builtin });
    if (!match) return { runFingerprint: full, extractorId: undefined, activeSpec: undefined };
    const { version } = match;
    return {
      runFingerprint: full,
      extractorId: specExtractorId(version.extractor_id, version.version),
      activeSpec: { spec: version.spec, version: version.version, trigger: version.trigger, reused: true, similarity: match.similarity, persisted: true, ...(version.metrics ? { metrics: version.metrics } : {}) },
    };
  } finally {
    registry.close();
  }
}

/** Graph-state id of a spec extractor: which extractor, which version. */
export function specExtractorId(id: string, version: number): string {
  return `spec:${id}@${version}`;
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
