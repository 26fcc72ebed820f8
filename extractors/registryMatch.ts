import { createHash } from "node:crypto";
import { FINGERPRINTS, VectorMemory } from "../memory/vectorStore.js";
import { FINGERPRINT_MATCH_THRESHOLD, fingerprintSimilarity, fingerprintText, parseFingerprintText, type FormatFingerprint } from "./fingerprint.js";
import type { ExtractorRegistry, SpecVersion } from "./registry.js";
import { detectSpec } from "./specEngine.js";
import type { RunFiles } from "./types.js";

/**
 * Matching a run to the registered extractor of the most similar known format. The vector memory's
 * `fingerprints` namespace finds candidates (the fingerprint text of every run a spec parsed); the
 * exact fingerprint similarity then decides, against a threshold, and the spec must still detect the
 * run (its files and keys are there).
 */

export interface SpecMatch {
  version: SpecVersion;
  similarity: number;
}

const CANDIDATES = 12;

/** Index a run's fingerprint under the extractor that read it, so later runs like it find that extractor. */
export async function rememberFingerprint(home: string, fingerprint: FormatFingerprint, extractorId: string, version: number, runPath: string): Promise<void> {
  const text = fingerprintText(fingerprint);
  if (text === "") return;
  const id = `${extractorId}:${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;
  const memory = await VectorMemory.open(home);
  try {
    await memory.add(FINGERPRINTS, [{ id, text, metadata: { extractor_id: extractorId, version, run: runPath } }]);
  } finally {
    memory.close();
  }
}

/** Fingerprints near this one, with the extractor each belongs to: from the vector memory, or the registry when it is unavailable. */
async function nearbyFingerprints(home: string, registry: ExtractorRegistry, fingerprint: FormatFingerprint): Promise<Array<{ extractorId: string; text: string }>> {
  try {
    const memory = await VectorMemory.open(home);
    try {
      const hits = await memory.search(FINGERPRINTS, fingerprintText(fingerprint), CANDIDATES);
      return hits.filter((hit) => typeof hit.metadata.extractor_id === "string").map((hit) => ({ extractorId: hit.metadata.extractor_id as string, text: hit.text }));
    } finally {
      memory.close();
    }
  } catch {
    // Without a usable index, compare against the fingerprint each registered version was made from.
    return registry.list().flatMap((summary) => registry.versions(summary.extractor_id).filter((version) => version.fingerprint).map((version) => ({ extractorId: version.extractor_id, text: version.fingerprint! })));
  }
}

export async function matchRegisteredSpec(
  home: string,
  registry: ExtractorRegistry,
  run: RunFiles,
  fingerprint: FormatFingerprint,
  options: { includeBuiltin: boolean; threshold?: number },
): Promise<SpecMatch | undefined> {
  const threshold = options.threshold ?? FINGERPRINT_MATCH_THRESHOLD;
  const best = new Map<string, number>();
  for (const { extractorId, text } of await nearbyFingerprints(home, registry, fingerprint)) {
    const similarity = fingerprintSimilarity(fingerprint, parseFingerprintText(text));
    if (similarity >= threshold && similarity > (best.get(extractorId) ?? -1)) best.set(extractorId, similarity);
  }
  for (const [extractorId, similarity] of [...best.entries()].sort((a, b) => b[1] - a[1])) {
    const version = registry.latest(extractorId);
    if (!version || (!options.includeBuiltin && version.trigger === "builtin")) continue;
    if ((await detectSpec(version.spec, run)) > 0) return { version, similarity: Math.round(similarity * 1000) / 1000 };
  }
  return declaredMatch(registry, run, best, options.includeBuiltin);
}

/** Below this detect score a spec's own declaration (files and keys) does not claim a run. */
const DECLARED_DETECT = 0.9;
const MAX_DECLARED_CHECKED = 100;

/**
 * A spec that has parsed no run yet (imported by a user) has no fingerprint to be found by; it still
 * claims runs that have the files and keys its `detect` section declares.
 */
async function declaredMatch(registry: ExtractorRegistry, run: RunFiles, seen: Map<string, number>, includeBuiltin: boolean): Promise<SpecMatch | undefined> {
  for (const summary of registry.list().slice(0, MAX_DECLARED_CHECKED)) {
    if (seen.has(summary.extractor_id) || summary.runs > 0 || (!includeBuiltin && summary.last_trigger === "builtin")) continue;
    const version = registry.latest(summary.extractor_id);
    if (version && (await detectSpec(version.spec, run)) >= DECLARED_DETECT) return { version, similarity: 0 };
  }
  return undefined;
}
