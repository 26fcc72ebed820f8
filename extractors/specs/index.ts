import claudeCodeStreamJson from "./claude-code-stream-json.json" with { type: "json" };
import harborAtif from "./harbor-atif.json" with { type: "json" };
import { parseSpec, type ExtractorSpec } from "../../schema/extractorSpec.js";

/**
 * Built-in formats written in the spec language (data, interpreted by extractors/specEngine.ts).
 * They are registered with trigger `builtin`, serve as templates for `extractors export`/`import`,
 * and are the reference the spec engine is tested against (the hand-coded extractors of the same
 * formats must agree with them).
 */
const SHIPPED: unknown[] = [harborAtif, claudeCodeStreamJson];

export function shippedSpecs(): ExtractorSpec[] {
  return SHIPPED.map((raw) => {
    const parsed = parseSpec(raw);
    if (!parsed.ok) throw new Error(`a shipped extractor spec is invalid: ${parsed.error}`);
    return parsed.spec;
  });
}
