import { OpenAIEmbeddings } from "@langchain/openai";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cosineSimilarity, createEmbeddings, embeddingId, HashedNgramEmbeddings } from "../memory/embeddings.js";
import { FAILURES, VectorMemory } from "../memory/vectorStore.js";
import { corpusTasks } from "./memory-fixtures.js";

const tasks = corpusTasks(40);
const norm = (vector: number[]) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

describe("hashed n-gram embedding (the offline default)", () => {
  const embeddings = new HashedNgramEmbeddings();

  it("is deterministic: the same text gives the same vector, in any instance", async () => {
    const again = new HashedNgramEmbeddings();
    for (const task of tasks.slice(0, 10)) {
      expect(await again.embedQuery(task.text)).toEqual(await embeddings.embedQuery(task.text));
    }
    expect(await embeddings.embedDocuments(tasks.slice(0, 3).map((task) => task.text))).toEqual(await Promise.all(tasks.slice(0, 3).map((task) => embeddings.embedQuery(task.text))));
  });

  it("gives unit vectors of its fixed dimension, named by a stable id", async () => {
    for (const task of tasks) {
      const vector = await embeddings.embedQuery(task.text);
      expect(vector).toHaveLength(512);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
    expect(embeddingId(embeddings)).toBe("hashed-ngrams-v1-512");
    expect(embeddingId(new HashedNgramEmbeddings({ dimensions: 256 }))).toBe("hashed-ngrams-v1-256");
    expect(await new HashedNgramEmbeddings({ dimensions: 256 }).embedQuery(tasks[0]!.text)).toHaveLength(256);
  });

  it("puts a text closer to part of itself than to any other task", async () => {
    const vectors = await embeddings.embedDocuments(tasks.map((task) => task.text));
    for (const [index, task] of tasks.entries()) {
      // The first half of a task shares its words; another task shares only the language.
      const half = await embeddings.embedQuery(task.text.slice(0, Math.ceil(task.text.length / 2)));
      const toHalf = cosineSimilarity(vectors[index]!, half);
      const toOthers = vectors.filter((_, other) => other !== index).map((vector) => cosineSimilarity(vectors[index]!, vector));
      expect(toHalf).toBeGreaterThan(Math.max(...toOthers));
    }
  });

  it("ignores case, spacing and the exact numbers in a message", async () => {
    const a = await embeddings.embedQuery("Error: Command failed with exit code 127 at step 14");
    const b = await embeddings.embedQuery("error:   command FAILED with exit code 1\nat step 3");
    expect(cosineSimilarity(a, b)).toBeCloseTo(1, 6);
    expect(norm(await embeddings.embedQuery(""))).toBe(0);
  });

  it("keeps the vectors of its version: stored vectors stay valid (change the features → bump the id)", async () => {
    // Vectors are cached in SQLite under the embedding id; if this fails, the algorithm changed
    // without a new id and old vectors would silently mix with new ones.
    const vector = await embeddings.embedQuery("pip install torch failed: no matching distribution found");
    const signedBuckets = vector.flatMap((value, index) => (value > 0 ? [index] : value < 0 ? [-index] : []));
    expect(signedBuckets.slice(0, 8)).toEqual(FINGERPRINT_BUCKETS);
    expect(signedBuckets).toHaveLength(53);
    expect(vector[2]).toBeCloseTo(0.123029, 5);
  });
});

/** The first non-zero buckets (negative: negative value) of one fixed text under hashed-ngrams-v1-512. */
const FINGERPRINT_BUCKETS = [2, 10, 11, -25, -28, 30, -49, 52];

describe("embedding choice", () => {
  it("is offline unless both an API key and an embedding model are configured", async () => {
    expect(await createEmbeddings({})).toBeInstanceOf(HashedNgramEmbeddings);
    expect(await createEmbeddings({ OPENAI_API_KEY: "sk-test" })).toBeInstanceOf(HashedNgramEmbeddings);
    expect(await createEmbeddings({ CODETRACER_EMBEDDING_MODEL: "text-embedding-3-small" })).toBeInstanceOf(HashedNgramEmbeddings);
    const openai = await createEmbeddings({ OPENAI_API_KEY: "sk-test", CODETRACER_EMBEDDING_MODEL: "text-embedding-3-small", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    expect(openai).toBeInstanceOf(OpenAIEmbeddings);
    expect(embeddingId(openai)).toBe("openai:text-embedding-3-small");
  });
});

/**
 * A local stand-in for `POST /v1/embeddings` (vectors from a small hashed embedding), so the real
 * OpenAIEmbeddings client runs with no network and no key. The OpenAI SDK asks for base64 floats.
 */
async function embeddingsEndpoint() {
  const model = new HashedNgramEmbeddings({ dimensions: 64 });
  const requests: { model: string; input: string[] }[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const parsed = JSON.parse(body) as { model: string; input: string[] | string; encoding_format?: string };
      const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
      requests.push({ model: parsed.model, input });
      const data = input.map((text, index) => {
        const vector = model.embedText(text);
        const embedding = parsed.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
        return { object: "embedding", index, embedding };
      });
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ object: "list", data, model: parsed.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, close: () => server.close() };
}

describe("OpenAI embeddings in the vector memory", () => {
  it("indexes with the configured model and records it; switching back to offline re-indexes", async () => {
    const endpoint = await embeddingsEndpoint();
    const home = mkdtempSync(path.join(os.tmpdir(), "codetracer-openai-emb-"));
    try {
      const env = { OPENAI_API_KEY: "sk-test", CODETRACER_EMBEDDING_MODEL: "test-embedding", OPENAI_BASE_URL: endpoint.url };
      const online = await VectorMemory.open(home, { embeddings: await createEmbeddings(env) });
      await online.add(FAILURES, tasks.slice(0, 12).map((task) => ({ id: task.id, text: task.text, metadata: {} })));
      expect((await online.search(FAILURES, tasks[4]!.text, 1))[0]!.id).toBe(tasks[4]!.id);
      expect(online.status(FAILURES)).toMatchObject({ snapshot: "fresh", embedding: "openai:test-embedding", indexed: 12 });
      online.close();
      expect(endpoint.requests.every((request) => request.model === "test-embedding")).toBe(true);

      const offline = await VectorMemory.open(home, { embeddings: new HashedNgramEmbeddings() });
      expect(offline.status(FAILURES).snapshot).toBe("other-embedding");
      expect((await offline.search(FAILURES, tasks[4]!.text, 1))[0]!.id).toBe(tasks[4]!.id);
      expect(offline.status(FAILURES)).toMatchObject({ snapshot: "fresh", embedding: "hashed-ngrams-v1-512" });
      offline.close();
    } finally {
      endpoint.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
