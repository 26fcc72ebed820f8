import { fingerprintRun, fingerprintText } from "../extractors/fingerprint.js";
import { knownFormats } from "../extractors/index.js";
import { ExtractorRegistry, specHash, type ActiveSpec, type Trigger } from "../extractors/registry.js";
import { matchRegisteredSpec } from "../extractors/registryMatch.js";
import type { RunFiles } from "../extractors/types.js";
import { evolveSpec, withId } from "../graphs/evolve.js";
import { MAX_EVOLVE_ATTEMPTS, required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";
import { resolveLlmConfig } from "../llm/config.js";
import { RunError } from "../schema/errors.js";
import type { ExtractorSpec } from "../schema/extractorSpec.js";
import type { SpecMetrics } from "../extractors/synthesize/validate.js";
import { specExtractorId } from "./fingerprint.js";

/**
 * Make an extractor for a run no known extractor reads (or reads well): run the evolution graph
 * (offline schema induction, plus the LLM when configured), and put the best spec on record as a new
 * version — of the extractor that read the run poorly, or of a new one. Fails with a clear RunError
 * naming the known formats when nothing acceptable can be synthesized.
 */
export async function evolveExtractor(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.run, "run");
  const previous = state.activeSpec;
  const readPoorly = state.validation !== undefined && !state.validation.ok;
  // Another analysis (a batch runs several at once) may have registered an extractor for this format meanwhile.
  if (!previous && !readPoorly) {
    const registered = await registeredMatch(state, run);
    if (registered) return registered;
  }
  const config = resolveLlmConfig(state.options.llm);
  const evolution = await evolveSpec(run, { specId: previous?.spec.id ?? "synth-llm", ...(config ? { llm: { config } } : {}) });
  const best = evolution.best;
  if (!best || !best.metrics.acceptable) throw unknownFormat(run, state, best?.metrics.problems);
  const spec = previous ? withId(best.spec, previous.spec.id) : best.spec;
  // Nothing better than the spec already in use: stop evolving (the loop is bounded; this ends it early).
  if (previous && specHash(spec) === specHash(previous.spec)) return { evolveAttempts: MAX_EVOLVE_ATTEMPTS };
  const trigger: Trigger = best.origin === "llm_repair" ? "llm_repair" : readPoorly ? "low_coverage" : "unknown_format";
  const version = await putOnRecord(state, run, spec, trigger, best.metrics, previous, evolution.log);
  return {
    extractorId: specExtractorId(spec.id, version),
    activeSpec: { spec, version, trigger, reused: false, metrics: best.metrics, persisted: state.options.remember },
    evolveAttempts: state.evolveAttempts + 1,
  };
}

async function registeredMatch(state: DiagnoseStateType, run: RunFiles): Promise<DiagnoseUpdate | undefined> {
  if (!state.options.remember) return undefined;
  const fingerprint = state.runFingerprint?.keys ? { files: state.runFingerprint.files, keys: state.runFingerprint.keys, lines: state.runFingerprint.lines ?? [] } : await fingerprintRun(run);
  const registry = ExtractorRegistry.open(state.options.home);
  try {
    const match = await matchRegisteredSpec(state.options.home, registry, run, fingerprint, { includeBuiltin: state.options.builtin });
    if (!match) return undefined;
    const { version } = match;
    return {
      extractorId: specExtractorId(version.extractor_id, version.version),
      activeSpec: { spec: version.spec, version: version.version, trigger: version.trigger, reused: true, similarity: match.similarity, persisted: true },
      evolveAttempts: state.evolveAttempts + 1,
    };
  } finally {
    registry.close();
  }
}

/** The new version's number: registered under --home, or only in memory when the analysis must not be remembered. */
async function putOnRecord(state: DiagnoseStateType, run: RunFiles, spec: ExtractorSpec, trigger: Trigger, metrics: SpecMetrics, previous: ActiveSpec | undefined, log: string[]): Promise<number> {
  if (!state.options.remember) return (previous?.version ?? 0) + 1;
  const fingerprint = state.runFingerprint?.keys ? { files: state.runFingerprint.files, keys: state.runFingerprint.keys, lines: state.runFingerprint.lines ?? [] } : await fingerprintRun(run);
  const registry = ExtractorRegistry.open(state.options.home);
  try {
    const { version } = registry.register({
      spec,
      trigger,
      ...(previous?.persisted ? { parentVersion: previous.version } : {}),
      fingerprint: fingerprintText(fingerprint),
      metrics,
      note: `made for ${run.input}: ${log.join("; ")}`.slice(0, 2000),
    });
    return version.version;
  } finally {
    registry.close();
  }
}

function unknownFormat(run: RunFiles, state: DiagnoseStateType, problems: string[] | undefined): RunError {
  const why = state.validation && !state.validation.ok
    ? `the ${state.runInfo?.format ?? "chosen"} extractor read it poorly (${state.validation.problems.join("; ")})`
    : "no known extractor matches it";
  const synthesis = problems && problems.length > 0 ? `the best synthesized extractor was not good enough (${problems.slice(0, 3).join("; ")})` : "no extractor could be synthesized (no JSON records found)";
  return new RunError(`${run.input}: unknown run format: ${why}, and ${synthesis}. Known formats: ${knownFormats()}`);
}
