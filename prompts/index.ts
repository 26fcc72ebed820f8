import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Prompt templates are text files in `prompts/`, versioned with the code. They are read at run time
 * from the package, whether this module runs from source (`prompts/index.ts`) or compiled
 * (`dist/prompts/index.js`, where the `.md` files are not copied): the loader walks up from its own
 * location to the first `prompts/` directory holding the template.
 */
export type PromptName = "localizer" | "critic" | "synthesize-extractor";

/** A template is split into the fixed system message and the per-run user message. */
export interface PromptTemplate {
  system: string;
  user: string;
}

const SYSTEM_MARKER = "<!-- system -->";
const USER_MARKER = "<!-- user -->";
const PLACEHOLDER = /\{\{(\w+)\}\}/g;

const cache = new Map<PromptName, PromptTemplate>();

/** Read (once) and split a template. */
export function loadPrompt(name: PromptName): PromptTemplate {
  const cached = cache.get(name);
  if (cached) return cached;
  const file = promptFile(name);
  const template = splitTemplate(readFileSync(file, "utf8"), file);
  cache.set(name, template);
  return template;
}

/**
 * Fill `{{name}}` placeholders in one pass, so a value that itself contains `{{…}}` (trajectory text
 * can contain anything) is never expanded again. A placeholder without a value is a bug, said loudly.
 */
export function renderPrompt(text: string, values: Record<string, string | number>): string {
  return text.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`prompt placeholder {{${key}}} has no value`);
    return String(value);
  });
}

/** Where the template lives: the first `prompts/<name>.md` found walking up from `start`. */
export function promptFile(name: PromptName, start = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, `${name}.md`), path.join(dir, "prompts", `${name}.md`)]) {
      if (path.basename(path.dirname(candidate)) === "prompts" && existsSync(candidate)) return candidate;
    }
    if (path.dirname(dir) === dir) throw new Error(`prompt template prompts/${name}.md not found above ${start}`);
  }
}

function splitTemplate(text: string, file: string): PromptTemplate {
  const systemAt = text.indexOf(SYSTEM_MARKER);
  const userAt = text.indexOf(USER_MARKER);
  if (systemAt < 0 || userAt < systemAt) throw new Error(`${file}: needs a ${SYSTEM_MARKER} section followed by a ${USER_MARKER} section`);
  return {
    system: text.slice(systemAt + SYSTEM_MARKER.length, userAt).trim(),
    user: text.slice(userAt + USER_MARKER.length).trim(),
  };
}
