import { harborAtif } from "./harbor.js";
import type { Extractor } from "./types.js";

/** The built-in extractors, in the order ties are broken. */
export const builtinExtractors: Extractor[] = [harborAtif];

export function knownFormats(extractors: Extractor[] = builtinExtractors): string {
  return extractors.map((extractor) => `${extractor.format} [${extractor.id}]`).join(", ");
}
