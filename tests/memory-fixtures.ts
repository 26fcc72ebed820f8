import { readFileSync } from "node:fs";
import path from "node:path";
import { globSync } from "tinyglobby";
import { NORMALIZED } from "./corpus.js";

/** One real task text per task of the normalized corpus (deduplicated, in a stable order). */
export function corpusTasks(limit = Number.POSITIVE_INFINITY): { id: string; text: string }[] {
  const files = globSync("**/task.md", { cwd: NORMALIZED }).sort();
  const seen = new Set<string>();
  const tasks: { id: string; text: string }[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(NORMALIZED, file), "utf8").trim();
    if (text.length < 40 || seen.has(text)) continue;
    seen.add(text);
    tasks.push({ id: file.replace(/\/task\.md$/, ""), text });
    if (tasks.length >= limit) break;
  }
  return tasks;
}
