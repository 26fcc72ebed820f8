/**
 * How long `codetracer serve` takes to answer for a big results folder: the run list (page and
 * JSON) and one run's page, through the app's fetch handler (no network in the way). Reports
 * min / median / max over repeated requests.
 *
 *   npx tsx benchmarks/serve-pages.ts [results-dir] [repeats]
 *
 * Default results: every run of the shared corpus, written by `batch` into a temp folder first
 * (about a minute).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runBatch } from "../outputs/batch.js";
import { createApp } from "../server/app.js";
import { listRuns } from "../server/results.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const home = mkdtempSync(path.join(os.tmpdir(), "ct-bench-home-"));
const analyze = { llm: "off" as const, home, remember: false, builtin: true };
let results = process.argv[2];
if (!results) {
  results = mkdtempSync(path.join(os.tmpdir(), "ct-bench-serve-"));
  await runBatch(path.join(repo, "..", "shared", "corpus"), results, { ...analyze, concurrency: 2 });
}
const repeats = Number(process.argv[3] ?? 10);
const app = createApp({ results, analyze });
const runs = await listRuns(results);
const first = runs.find((run) => run.status === "ok" && !run.unreadable)!;

async function timed(route: string): Promise<string> {
  const times: number[] = [];
  let bytes = 0;
  for (let index = 0; index < repeats; index += 1) {
    const started = process.hrtime.bigint();
    const response = await app.request(route);
    bytes = (await response.arrayBuffer()).byteLength;
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return `${route.padEnd(36).slice(0, 36)} ${ms(times[0]!)} / ${ms(times[Math.floor(times.length / 2)]!)} / ${ms(times.at(-1)!)}  (${(bytes / 1024).toFixed(0)} KB)`;
}

console.log(`${results}: ${runs.length} runs; min / median / max over ${repeats} requests`);
for (const route of ["/", "/api/runs", `/runs/${encodeURIComponent(first.out)}`, `/runs/${encodeURIComponent(first.out)}/report.html`]) console.log(await timed(route));
