import { fingerprintRun, type FormatFingerprint } from "../extractors/fingerprint.js";
import { builtinExtractors } from "../extractors/index.js";
import { ExtractorRegistry, type ActiveSpec } from "../extractors/registry.js";
import { rememberFingerprint } from "../extractors/registryMatch.js";
import { runSpec } from "../extractors/specEngine.js";
import { measure } from "../extractors/synthesize/validate.js";
import type { ExtractedRun, Extractor, RunFiles } from "../extractors/types.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";
import type { Warnings } from "../schema/trace.js";

/**
 * Run the chosen extractor over the run's files: a built-in, or a spec (registered or synthesized
 * for this run), whose parse is recorded in the registry with its coverage.
 */
export async function extract(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  const id = required(state.extractorId, "extractorId");
  if (state.activeSpec && id.startsWith("spec:")) return extractWithSpec(state, run, state.activeSpec);
  const extractor = extractorById(id);
  return extracted(run, extractor.format, { id: extractor.id, version: extractor.version }, await extractor.extract(run));
}

async function extractWithSpec(state: DiagnoseStateType, run: RunFiles, active: ActiveSpec): Promise<DiagnoseUpdate> {
  const extraction = await runSpec(active.spec, run);
  const metrics = measure(extraction);
  let result = extraction.extracted;
  if (state.options.remember && active.persisted) {
    const changed = await recordParse(state, run, active, metrics.coverage, metrics.score, result);
    if (changed) result = { ...result, warnings: withWarning(result.warnings, { path: run.files[0] ?? ".", line: 1 }, `steps differ from the last parse of this run by ${active.spec.id} v${active.version} (engine or files changed)`) };
  }
  return extracted(run, active.spec.format, { id: active.spec.id, version: String(active.version) }, result);
}

/** Record the parse (and index the run's fingerprint under the spec); true when the same version gave other steps before. */
async function recordParse(state: DiagnoseStateType, run: RunFiles, active: ActiveSpec, coverage: number, score: number, result: ExtractedRun): Promise<boolean> {
  const registry = ExtractorRegistry.open(state.options.home);
  let changed: boolean;
  try {
    changed =
      registry.recordRun({
        extractorId: active.spec.id,
        version: active.version,
        runPath: run.input,
        steps: result.steps,
        coverage,
        score,
        reused: active.reused,
        ...(active.similarity !== undefined ? { similarity: active.similarity } : {}),
      }).changed === 1;
  } finally {
    registry.close();
  }
  const fingerprint: FormatFingerprint = state.runFingerprint?.keys ? { files: state.runFingerprint.files, keys: state.runFingerprint.keys, lines: state.runFingerprint.lines ?? [] } : await fingerprintRun(run);
  await rememberFingerprint(state.options.home, fingerprint, active.spec.id, active.version, run.input);
  return changed;
}

function withWarning(warnings: Warnings | undefined, source: { path: string; line: number }, reason: string): Warnings {
  return { count: (warnings?.count ?? 0) + 1, first: [{ source, reason }, ...(warnings?.first ?? [])].slice(0, 5) };
}

function extracted(run: RunFiles, format: string, extractor: { id: string; version: string }, result: ExtractedRun): DiagnoseUpdate {
  return {
    steps: result.steps,
    runInfo: {
      // A run on one line of a multi-run file is named as on the command line, so memory keeps them apart.
      path: run.line !== undefined ? `${run.input}#L${run.line}` : run.input,
      format,
      extractor,
      ...(result.task !== undefined ? { task: result.task } : {}),
      ...(result.outcome ? { outcome: result.outcome } : {}),
      ...(result.warnings ? { warnings: result.warnings } : {}),
      ...(result.reference_stages ? { reference_stages: result.reference_stages } : {}),
    },
  };
}

export function extractorById(id: string): Extractor {
  const extractor = builtinExtractors.find((candidate) => candidate.id === id);
  if (!extractor) throw new Error(`no extractor with id ${id}`);
  return extractor;
}
