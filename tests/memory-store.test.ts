import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { memoryStats } from "../memory/commands.js";
import { HashedNgramEmbeddings } from "../memory/embeddings.js";
import { namespaceDir, readPublished } from "../memory/snapshot.js";
import { FAILURES, FINGERPRINTS, VectorMemory } from "../memory/vectorStore.js";
import { REPO } from "./corpus.js";
import { corpusTasks } from "./memory-fixtures.js";

const tasks = corpusTasks(120);
const homes: string[] = [];
const freshHome = () => {
  const home = mkdtempSync(path.join(os.tmpdir(), "codetracer-memory-"));
  homes.push(home);
  return home;
};
afterEach(() => homes.splice(0).forEach((home) => rmSync(home, { recursive: true, force: true })));

const asDocs = (slice: typeof tasks) => slice.map((task, index) => ({ id: task.id, text: task.text, metadata: { index, confirmed: index % 2 === 0 } }));
const firstWords = (text: string) => text.split(/\s+/).slice(0, 25).join(" ");

/** A home holding the 120 real task texts, closed again. */
async function filledHome(): Promise<string> {
  const home = freshHome();
  const memory = await VectorMemory.open(home);
  await memory.add(FAILURES, asDocs(tasks));
  memory.close();
  return home;
}

/** The top-5 neighbours of the opening words of 20 tasks. */
async function neighbours(memory: VectorMemory): Promise<string[][]> {
  const result: string[][] = [];
  for (const task of tasks.slice(0, 20)) result.push((await memory.search(FAILURES, firstWords(task.text), 5)).map((hit) => hit.id));
  return result;
}

describe("VectorMemory: SQLite documents, HNSW search", () => {
  it("finds a task from its opening words, most similar first, with similarities in 0..1", async () => {
    const memory = await VectorMemory.open(await filledHome());
    expect(memory.count(FAILURES)).toBe(120);
    for (const task of tasks.slice(0, 30)) {
      const hits = await memory.search(FAILURES, firstWords(task.text), 3);
      expect(hits[0]!.id).toBe(task.id);
      expect(hits[0]!.text).toBe(task.text);
      expect(hits.map((hit) => hit.similarity)).toEqual([...hits.map((hit) => hit.similarity)].sort((a, b) => b - a));
      hits.forEach((hit) => expect(hit.similarity).toBeGreaterThanOrEqual(0));
      hits.forEach((hit) => expect(hit.similarity).toBeLessThanOrEqual(1));
    }
    expect(await memory.search(FAILURES, tasks[0]!.text, 500)).toHaveLength(120);
    memory.close();
  });

  it("passes each document's metadata to the filter", async () => {
    const memory = await VectorMemory.open(await filledHome());
    const hits = await memory.search(FAILURES, firstWords(tasks[1]!.text), 10, (metadata) => metadata.confirmed === true);
    expect(hits).toHaveLength(10);
    hits.forEach((hit) => expect(hit.metadata.confirmed).toBe(true));
    expect(hits.map((hit) => hit.id)).not.toContain(tasks[1]!.id);
    memory.close();
  });

  it("replaces a document added again under the same id", async () => {
    const memory = await VectorMemory.open(await filledHome());
    const [first, second] = tasks;
    await memory.add(FAILURES, [{ id: first!.id, text: second!.text, metadata: { replaced: true } }]);
    expect(memory.count(FAILURES)).toBe(120);
    expect(memory.get(FAILURES, first!.id)?.metadata).toEqual({ replaced: true });
    const hits = await memory.search(FAILURES, firstWords(second!.text), 2);
    expect(hits.map((hit) => hit.id).sort()).toEqual([first!.id, second!.id].sort());
    const old = await memory.search(FAILURES, firstWords(first!.text), 120);
    expect(old.filter((hit) => hit.id === first!.id)).toHaveLength(1);
    expect(old.find((hit) => hit.id === first!.id)!.text).toBe(second!.text);
    memory.close();
  });

  it("answers an empty namespace with nothing (HNSW cannot hold an empty index)", async () => {
    const memory = await VectorMemory.open(await filledHome());
    expect(memory.count(FINGERPRINTS)).toBe(0);
    expect(await memory.search(FINGERPRINTS, "anything", 5)).toEqual([]);
    expect(memory.status(FINGERPRINTS).snapshot).toBe("empty");
    memory.close();
  });

  it("lets one process see what another added (every index catches up with SQLite)", async () => {
    const home = await filledHome();
    const reader = await VectorMemory.open(home);
    await reader.search(FAILURES, "warm up", 1);
    const writer = await VectorMemory.open(home);
    await writer.add(FAILURES, [{ id: "late", text: "the agent never installed rstan and the tests could not import it", metadata: {} }]);
    expect((await reader.search(FAILURES, "rstan was never installed", 1))[0]!.id).toBe("late");
    reader.close();
    writer.close();
  });
});

describe("VectorMemory: the index is rebuilt from SQLite", () => {
  it("rebuilds deleted HNSW files on the next open, with the same neighbours", async () => {
    const home = await filledHome();
    const before = await VectorMemory.open(home);
    const expected = await neighbours(before);
    before.close();
    rmSync(path.join(home, "vectors"), { recursive: true });
    const after = await VectorMemory.open(home);
    expect(after.status(FAILURES).snapshot).toBe("missing");
    expect(await neighbours(after)).toEqual(expected);
    expect(after.status(FAILURES).snapshot).toBe("fresh");
    after.close();
  });

  it("detects a corrupt index file by its checksum and rebuilds it", async () => {
    const home = await filledHome();
    const before = await VectorMemory.open(home);
    const expected = await neighbours(before);
    before.close();
    const published = readPublished(namespaceDir(home, FAILURES));
    if (published.status !== "ok") throw new Error("no published snapshot");
    truncateSync(path.join(published.dir, "hnswlib.index"), 1000);
    const after = await VectorMemory.open(home);
    expect(after.status(FAILURES)).toMatchObject({ snapshot: "corrupt", reason: expect.stringContaining("hnswlib.index") });
    expect(await neighbours(after)).toEqual(expected);
    after.close();
  });

  it("re-indexes when the embedding changes instead of mixing vectors", async () => {
    const home = await filledHome();
    const small = await VectorMemory.open(home, { embeddings: new HashedNgramEmbeddings({ dimensions: 256 }) });
    expect(small.status(FAILURES)).toMatchObject({ snapshot: "other-embedding", embedding: "hashed-ngrams-v1-512" });
    expect((await small.search(FAILURES, firstWords(tasks[5]!.text), 1))[0]!.id).toBe(tasks[5]!.id);
    expect(small.status(FAILURES)).toMatchObject({ snapshot: "fresh", embedding: "hashed-ngrams-v1-256", indexed: 120 });
    small.close();
    // Switching back reuses the vectors cached under the first embedding.
    const db = new Database(path.join(home, "codetracer.db"), { readonly: true });
    const cached = db.prepare("SELECT embedding, count(*) AS n FROM memory_vectors GROUP BY embedding ORDER BY embedding").all();
    db.close();
    expect(cached).toEqual([{ embedding: "hashed-ngrams-v1-256", n: 120 }, { embedding: "hashed-ngrams-v1-512", n: 120 }]);
  });
});

/** Run tests/memory-writer.ts in a child process; resolves with the ids it acknowledged. */
function startWriter(home: string, prefix: string, count: number, onId?: (id: string, ids: string[]) => void) {
  // `node --import tsx` (what `npx tsx` runs) in ONE process, so that SIGKILL hits the writer itself.
  const script = path.join(REPO, "tests", "memory-writer.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, home, prefix, String(count)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const ids: string[] = [];
  let buffered = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      ids.push(line);
      onId?.(line, ids);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ids: string[]; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, ids, stderr })),
  );
  return { child, done };
}

describe("VectorMemory across processes", () => {
  it("survives a writer killed with SIGKILL mid-write: no corruption, nothing acknowledged lost, stats agree with SQLite", async () => {
    const home = await filledHome();
    const writer = startWriter(home, "killed", 100_000, (_, ids) => {
      if (ids.length === 25) writer.child.kill("SIGKILL");
    });
    const { signal, ids } = await writer.done;
    expect(signal).toBe("SIGKILL");

    const db = new Database(path.join(home, "codetracer.db"));
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const stored = new Set((db.prepare("SELECT id FROM memory_documents").all() as { id: string }[]).map((row) => row.id));
    db.close();
    ids.forEach((id) => expect(stored.has(id)).toBe(true));
    // Whatever the moment of the kill, readers find a complete, checksummed snapshot.
    expect(readPublished(namespaceDir(home, FAILURES)).status).toBe("ok");

    const stats = await memoryStats({ home });
    const failures = stats.namespaces.find((ns) => ns.namespace === FAILURES)!;
    expect(failures.documents).toBe(stored.size);
    expect(failures.indexed).toBe(stored.size);
    expect(stats.consistent).toBe(true);
    const memory = await VectorMemory.open(home);
    expect((await memory.search(FAILURES, firstWords(tasks[3]!.text), 1))[0]!.text).toBe(tasks[3]!.text);
    memory.close();
  });

  it("loses nothing when two processes add at the same time", async () => {
    const home = freshHome();
    const [a, b] = [startWriter(home, "a", 40), startWriter(home, "b", 40)];
    const results = await Promise.all([a.done, b.done]);
    results.forEach((result) => expect(result, result.stderr).toMatchObject({ code: 0 }));

    const memory = await VectorMemory.open(home);
    expect(memory.count(FAILURES)).toBe(80);
    for (const prefix of ["a", "b"]) for (let index = 0; index < 40; index += 1) expect(memory.get(FAILURES, `${prefix}-${index}`)).toBeDefined();
    const hits = await memory.search(FAILURES, firstWords(tasks[7]!.text), 2);
    expect(hits.map((hit) => hit.id).sort()).toEqual(["a-7", "b-7"]);
    memory.close();
    const stats = await memoryStats({ home });
    expect(stats.namespaces.find((ns) => ns.namespace === FAILURES)).toMatchObject({ documents: 80, indexed: 80, found: "fresh" });
  });
});
