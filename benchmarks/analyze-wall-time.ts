/**
 * Wall time of `bin/codetracer analyze` on one run, as a user pays it: a fresh process each time
 * (Node start-up, module loading, the graph, writing the five files). Reports min / median / max.
 *
 *   npx tsx benchmarks/analyze-wall-time.ts [run-dir] [repeats]
 *
 * Default run: a 41-step Harbor trial of the shared corpus.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = process.argv[2] ?? path.join(repo, "..", "shared", "corpus", "harbor-claude-code-kimi-k2.5", "custom-memory-heap-crash__PonxSXG");
const repeats = Number(process.argv[3] ?? 10);
const out = mkdtempSync(path.join(os.tmpdir(), "ct-bench-"));
const home = mkdtempSync(path.join(os.tmpdir(), "ct-bench-home-"));

const times: number[] = [];
let steps = 0;
for (let index = 0; index < repeats; index += 1) {
  const started = process.hrtime.bigint();
  const output = execFileSync(path.join(repo, "bin", "codetracer"), ["analyze", run, "--out", out, "--home", home, "--llm", "off", "--json"], { encoding: "utf8" });
  times.push(Number(process.hrtime.bigint() - started) / 1e6);
  steps = JSON.parse(output).steps;
}
times.sort((a, b) => a - b);
const ms = (value: number) => `${value.toFixed(0)} ms`;
console.log(`analyze ${path.basename(run)} (${steps} steps), ${repeats} runs: min ${ms(times[0]!)}, median ${ms(times[Math.floor(times.length / 2)]!)}, max ${ms(times.at(-1)!)}`);
