/**
 * Peak memory of analysing a ~100 MB Claude Code stream-json log (issue 3: bounded memory, goal < 300 MB).
 *
 *   npx tsx benchmarks/stream-json-rss.ts [--mb 100] [--keep]
 *
 * Generates a synthetic but realistically shaped log (thinking/text/tool_use lines per assistant
 * message, tool_result lines that repeat their output in `tool_use_result` as Claude Code 2.x does,
 * parallel calls, a few large file reads) in a temp dir, then in fresh child processes:
 *   1. extract        — the claude-code-stream-json extractor alone,
 *   2. analyze        — the full `analyzeRun` (graphs/analyze.ts): the whole diagnose graph,
 *   3. analyze+write  — the same plus writing the five output files, as `codetracer analyze` does,
 * and prints each child's peak RSS (`process.resourceUsage().maxRSS`). Not a test: nothing is asserted.
 * The children run under tsx, whose loader adds ~20 MB over compiled `dist/`.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const GOAL_MB = 300;

/** Deterministic pseudo-random numbers, so every run of the benchmark analyses the same log. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = ["data", "model", "train", "config", "error", "value", "index", "result", "parser", "cache", "fixture", "token", "vector", "shard"];

function fakeOutput(next: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const word = WORDS[Math.floor(next() * WORDS.length)]!;
    const line = `-rw-r--r-- 1 root root ${Math.floor(next() * 1e6)} Apr  2 05:18 ${word}_${Math.floor(next() * 1e4)}.py  # ${word} ${next().toString(36).slice(2)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n");
}

/** One assistant turn: thinking, text, 1–3 tool calls (one message id), then their results. */
function* turn(next: () => number, index: number): Generator<object> {
  const message = { id: `msg_${index.toString(16).padStart(8, "0")}`, type: "message", role: "assistant", model: "synthetic" };
  const usage = { input_tokens: 20000 + index, output_tokens: 150, cache_read_input_tokens: 1024 };
  const base = { parent_tool_use_id: null, session_id: "bench" };
  yield { type: "assistant", message: { ...message, usage, content: [{ type: "thinking", thinking: `Step ${index}: ${fakeOutput(next, 400)}` }] }, ...base };
  yield { type: "assistant", message: { ...message, usage, content: [{ type: "text", text: `Let me look at the ${WORDS[index % WORDS.length]} next.` }] }, ...base };
  const calls = next() < 0.2 ? 3 : 1;
  const ids: { id: string; bytes: number; failed: boolean }[] = [];
  for (let call = 0; call < calls; call += 1) {
    const id = `toolu_bench_${index}_${call}`;
    const large = next() < 0.02;
    const input = large
      ? { file_path: `/app/src/${WORDS[call]}_${index}.py` }
      : { command: `python3 -m pytest tests/test_${WORDS[(index + call) % WORDS.length]}.py -q`, description: "Run the tests" };
    yield { type: "assistant", message: { ...message, usage, content: [{ type: "tool_use", id, name: large ? "Read" : "Bash", input }] }, ...base };
    ids.push({ id, bytes: large ? 200_000 : 1000 + Math.floor(next() * 5000), failed: next() < 0.15 });
  }
  for (const { id, bytes, failed } of ids) {
    const output = `${failed ? "Exit code 1\nTraceback (most recent call last):\n" : ""}${fakeOutput(next, bytes)}`;
    yield {
      type: "user",
      message: { role: "user", content: [{ tool_use_id: id, type: "tool_result", content: output, is_error: failed }] },
      ...base,
      uuid: `u-${id}`,
      timestamp: new Date(Date.UTC(2026, 3, 2, 0, 0, index)).toISOString(),
      tool_use_result: { stdout: output, stderr: "", interrupted: false, isImage: false },
    };
  }
}

/** Write the log line by line (respecting back-pressure), so the generator is bounded too. */
async function generate(file: string, targetBytes: number): Promise<{ bytes: number; turns: number }> {
  const out = createWriteStream(file);
  const write = (event: object) =>
    new Promise<void>((resolve, reject) => {
      const ok = out.write(`${JSON.stringify(event)}\n`, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else out.once("drain", resolve);
    });
  const next = random(42);
  let bytes = 0;
  let turns = 0;
  const count = async (event: object) => {
    bytes += JSON.stringify(event).length + 1;
    await write(event);
  };
  await count({ type: "system", subtype: "init", cwd: "/app", session_id: "bench", model: "synthetic", tools: ["Bash", "Read"] });
  await count({ type: "user", message: { role: "user", content: "Make the test suite pass." }, parent_tool_use_id: null, session_id: "bench" });
  while (bytes < targetBytes) {
    for (const event of turn(next, turns)) await count(event);
    turns += 1;
  }
  await count({ type: "result", subtype: "success", is_error: false, num_turns: turns, result: "Done.", session_id: "bench" });
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { bytes: (await stat(file)).size, turns };
}

interface ChildReport {
  mode: string;
  steps: number;
  warnings: number;
  seconds: number;
  maxRssMB: number;
}

/** Run one measurement in a fresh Node process, so its peak RSS is that of this work alone. */
type Mode = "extract" | "analyze" | "analyze+write";

function measure(mode: Mode, file: string, dir: string): ChildReport {
  const child = spawnSync(process.execPath, ["--import", "tsx", SELF, "--child", mode, file, dir], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  const line = child.stdout.trim().split("\n").at(-1) ?? "";
  if (child.status !== 0 || !line.startsWith("{")) throw new Error(`${mode} child failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
  return JSON.parse(line) as ChildReport;
}

async function child(mode: string, file: string, dir: string): Promise<void> {
  const started = Date.now();
  let steps = 0;
  let warnings = 0;
  if (mode === "extract") {
    const { claudeCodeStreamJson } = await import("../extractors/claudeCode.js");
    const { discoverRun } = await import("../nodes/discover.js");
    const extracted = await claudeCodeStreamJson.extract(await discoverRun(file));
    steps = extracted.steps.length;
    warnings = extracted.warnings?.count ?? 0;
  } else {
    const { analyzeRun } = await import("../graphs/analyze.js");
    const analysis = await analyzeRun(file, { llm: "off", home: path.join(dir, `home-${mode}`), remember: true, builtin: true });
    if (mode === "analyze+write") {
      const { writeAnalysis } = await import("../outputs/write.js");
      await writeAnalysis(path.join(dir, "out"), analysis);
    }
    steps = analysis.trace.steps.length;
    warnings = analysis.trace.run.warnings?.count ?? 0;
  }
  const report: ChildReport = { mode, steps, warnings, seconds: (Date.now() - started) / 1000, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
  console.log(JSON.stringify(report));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") return child(argv[1]!, argv[2]!, argv[3]!);
  const mbIndex = argv.indexOf("--mb");
  const megabytes = mbIndex >= 0 ? Number(argv[mbIndex + 1]) : 100;
  const dir = await mkdtemp(path.join(os.tmpdir(), "codetracer-rss-"));
  try {
    const file = path.join(dir, "session.jsonl");
    const { bytes, turns } = await generate(file, megabytes * 1024 * 1024);
    console.log(`generated ${(bytes / 1024 / 1024).toFixed(1)} MB stream-json (${turns} assistant turns) at ${file}`);
    for (const mode of ["extract", "analyze", "analyze+write"] as const) {
      const report = measure(mode, file, dir);
      const verdict = report.maxRssMB < GOAL_MB ? "under" : "OVER";
      console.log(`${mode.padEnd(13)} peak RSS ${report.maxRssMB} MB (${verdict} the ${GOAL_MB} MB goal) · ${report.steps} steps · ${report.warnings} warnings · ${report.seconds.toFixed(1)} s`);
    }
  } finally {
    if (!argv.includes("--keep")) await rm(dir, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
