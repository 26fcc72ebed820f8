import { claudeCodeCast, claudeCodeStreamJson, harborClaudeCode } from "./claudeCode.js";
import { atifFile } from "./atifFile.js";
import { harborAtif } from "./harbor.js";
import { miniSweAgent } from "./miniSwe.js";
import { codetracerNormalized } from "./normalized.js";
import { openHandsEventArray, openHandsOutputJsonl, openHandsSession } from "./openhandsRuns.js";
import { sweAgent } from "./sweAgent.js";
import { terminus2 } from "./terminus2.js";
import { terminalBenchClaudeCode } from "./terminalBench.js";
import type { Extractor } from "./types.js";

/** The built-in extractors, in the order ties are broken. */
export const builtinExtractors: Extractor[] = [harborAtif, harborClaudeCode, terminalBenchClaudeCode, claudeCodeStreamJson, claudeCodeCast,
  // Other agent frameworks (issue 3): each claims its own layout, so order only breaks rare ties.
  terminus2, codetracerNormalized, miniSweAgent, sweAgent, openHandsSession, openHandsEventArray, openHandsOutputJsonl, atifFile];

export function knownFormats(extractors: Extractor[] = builtinExtractors): string {
  return extractors.map((extractor) => `${extractor.format} [${extractor.id}]`).join(", ");
}
