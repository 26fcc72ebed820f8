/**
 * Vector memory at scale: build, search, reload, rebuild and one-document-add times for N failure
 * cases (default 5,000), and HNSW recall against exact cosine search.
 *
 *   npx tsx benchmarks/memory-scale.ts [cases]
 *
 * Case texts are assembled from real corpus material (task texts of the normalized corpus and real
 * step contents of its steps.json files) in the shape caseText() gives them, ~1-2 KB each.
 * Not a test: nothing is asserted.
 */
import { readFileSync, readdirSync, rmSync, statSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { globSync } from "tinyglobby";
import { cosineSimilarity, HashedNgramEmbeddings } from "../memory/embeddings.js";
import { VectorMemory, FAILURES } from "../memory/vectorStore.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const normalized = path.join(repo, "..", "shared", "corpus", "codetracer-normalized");
const total = Number(process.argv[2] ?? 5000);

/** Deterministic pseudo-random numbers, so every run measures the same documents. */
function rng(seed: number) {
  return () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function realMaterial(): { tasks: string[]; snippets: string[] } {
  const tasks = globSync("**/task.md", { cwd: normalized }).sort().map((file) => readFileSync(path.join(normalized, file), "utf8").slice(0, 400));
  const snippets: string[] = [];
  for (const file of globSync("**/steps.json", { cwd: normalized }).sort().slice(0, 120)) {
    for (const step of JSON.parse(readFileSync(path.join(normalized, file), "utf8")) as { action_ref?: { content?: string }; observation_ref?: { content?: string } }[]) {
      for (const content of [step.action_ref?.content, step.observation_ref?.content]) if (content && content.length > 80) snippets.push(content.slice(0, 300));
    }
  }
  return { tasks, snippets };
}

function caseTexts(count: number): string[] {
  const { tasks, snippets } = realMaterial();
  const random = rng(42);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, () =>
    [`task: ${pick(tasks)}`, `failing checks: ${pick(snippets)}`, `errors: ${pick(snippets)}`, `onset action: ${pick(snippets)}`, `onset observation: ${pick(snippets)}`, "category: tool misuse"].join("\n"),
  );
}

const seconds = (start: number) => (performance.now() - start) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const dirBytes = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => sum + (entry.isDirectory() ? dirBytes(path.join(dir, entry.name)) : statSync(path.join(dir, entry.name)).size), 0);

const texts = caseTexts(total);
const docs = texts.map((text, index) => ({ id: `case-${index}`, text, metadata: { confirmed: index % 3 === 0, index } }));
const home = mkdtempSync(path.join(os.tmpdir(), "ct-memory-bench-"));
const report: Record<string, string> = { cases: String(total), "mean text length": `${Math.round(texts.reduce((sum, text) => sum + text.length, 0) / total)} chars` };

let start = performance.now();
const embeddings = new HashedNgramEmbeddings();
const vectors = await embeddings.embedDocuments(texts);
report["embed all (hashed-ngrams-v1-512)"] = `${seconds(start).toFixed(2)} s`;

const memory = await VectorMemory.open(home);
start = performance.now();
await memory.add(FAILURES, docs);
report["add all: embed + SQLite + HNSW build + atomic save"] = `${seconds(start).toFixed(2)} s`;
report["snapshot on disk"] = `${(dirBytes(path.join(home, "vectors")) / 1e6).toFixed(1)} MB`;

const queries = Array.from({ length: 200 }, (_, index) => texts[(index * 37) % total]!.split("\n").slice(0, 3).join("\n").slice(0, 500));
const latencies: number[] = [];
let recallHits = 0;
for (const query of queries) {
  start = performance.now();
  const hits = await memory.search(FAILURES, query, 5);
  latencies.push(performance.now() - start);
  const queryVector = await embeddings.embedQuery(query);
  const exact = vectors.map((vector, index) => ({ index, score: cosineSimilarity(queryVector, vector) })).sort((a, b) => b.score - a.score).slice(0, 5).map((item) => `case-${item.index}`);
  recallHits += hits.filter((hit) => exact.includes(hit.id)).length;
}
report["search k=5 (median of 200, warm; includes embedding the query)"] = `${median(latencies).toFixed(2)} ms`;
report["recall@5 vs exact cosine"] = `${((100 * recallHits) / (queries.length * 5)).toFixed(1)} %`;
start = performance.now();
await memory.search(FAILURES, queries[0]!, 5, (metadata) => metadata.confirmed === true);
report["filtered search (confirmed only)"] = `${(performance.now() - start).toFixed(2)} ms`;
memory.close();

start = performance.now();
const cold = await VectorMemory.open(home);
await cold.search(FAILURES, queries[1]!, 5);
report["fresh process view: open + load snapshot (checksummed) + first search"] = `${seconds(start).toFixed(2)} s`;
start = performance.now();
await cold.add(FAILURES, [{ id: "one-more", text: texts[0]!.replace("tool misuse", "dependency"), metadata: {} }]);
report["add one case to a loaded index (catch up + atomic save)"] = `${seconds(start).toFixed(2)} s`;
cold.close();

start = performance.now();
const oneShot = await VectorMemory.open(home);
await oneShot.add(FAILURES, [{ id: "case-1", text: texts[2]!, metadata: { replaced: true } }]);
oneShot.close();
report["open + replace one case + save (what `remember`/`feedback` pay)"] = `${seconds(start).toFixed(2)} s`;

const rebuild = await VectorMemory.open(home);
start = performance.now();
await rebuild.rebuild(FAILURES);
report["rebuild from SQLite (cached vectors)"] = `${seconds(start).toFixed(2)} s`;
rebuild.close();

rmSync(path.join(home, "vectors"), { recursive: true });
const repair = await VectorMemory.open(home);
start = performance.now();
await repair.search(FAILURES, queries[2]!, 5);
report["HNSW files deleted: open + rebuild + first search"] = `${seconds(start).toFixed(2)} s`;
repair.close();

const switched = await VectorMemory.open(home, { embeddings: new HashedNgramEmbeddings({ dimensions: 256 }) });
start = performance.now();
await switched.search(FAILURES, queries[3]!, 5);
report["embedding switched (512 → 256 dims): re-embed + rebuild + search"] = `${seconds(start).toFixed(2)} s`;
switched.close();

rmSync(home, { recursive: true, force: true });
const width = Math.max(...Object.keys(report).map((key) => key.length));
for (const [key, value] of Object.entries(report)) console.log(`${key.padEnd(width)}  ${value}`);
