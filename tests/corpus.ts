import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The shared corpus sits beside the clone (`../shared`), in CI as on a developer's machine. */
export const SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared");
export const CORPUS = path.join(SHARED, "corpus");
export const LABELS = path.join(SHARED, "labels");
export const HARBOR = path.join(CORPUS, "harbor-claude-code-kimi-k2.5");
export const TERMINAL_BENCH = path.join(CORPUS, "terminal-bench-claude-code", "claude_code_c4");
export const NORMALIZED = path.join(CORPUS, "codetracer-normalized");
export const FORMATS = path.join(CORPUS, "formats");
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

if (!existsSync(CORPUS)) throw new Error(`the shared corpus is missing at ${CORPUS}: tests read real runs from ../shared`);
