import type { Embeddings } from "@langchain/core/embeddings";
import { FeedbackLog } from "./feedbackLog.js";
import { FAILURES, VectorMemory, type IndexStatus, type MemoryHit } from "./vectorStore.js";

/**
 * The `memory` commands as plain functions over a home directory (the CLI prints what they return;
 * an HTTP API can serve the same). Feedback and import live in feedback.ts and import.ts.
 */

export interface MemoryOptions {
  home: string;
  embeddings?: Embeddings;
}

export interface NamespaceStats {
  namespace: string;
  /** Documents in SQLite, the source of truth. */
  documents: number;
  confirmed: number;
  /** Documents in the HNSW index after it was brought up to date. */
  indexed: number;
  /** The published index as found, before any repair (`fresh` when nothing had to be done). */
  found: IndexStatus["snapshot"];
  reason?: string;
}

export interface MemoryStats {
  home: string;
  embedding: string;
  namespaces: NamespaceStats[];
  feedback: { total: number; by_source: Record<string, number>; onset_agreed: number };
  runs: number;
  /** Every namespace's index holds exactly the documents SQLite holds. */
  consistent: boolean;
}

async function withMemory<T>(options: MemoryOptions, use: (memory: VectorMemory) => Promise<T>): Promise<T> {
  const memory = await VectorMemory.open(options.home, options.embeddings ? { embeddings: options.embeddings } : {});
  try {
    return await use(memory);
  } finally {
    memory.close();
  }
}

/**
 * Counts per namespace in SQLite and in the index. Each index is first brought up to date (rebuilt if
 * missing or corrupt), so after stats the two agree; `found` says what state it was in.
 */
export async function memoryStats(options: MemoryOptions): Promise<MemoryStats> {
  return withMemory(options, async (memory) => {
    const namespaces: NamespaceStats[] = [];
    for (const namespace of memory.namespaces()) {
      const before = memory.status(namespace);
      const indexed = await memory.sync(namespace);
      namespaces.push({
        namespace,
        documents: memory.count(namespace),
        confirmed: memory.confirmedCount(namespace),
        indexed,
        found: before.snapshot,
        ...(before.reason ? { reason: before.reason } : {}),
      });
    }
    const log = new FeedbackLog(options.home);
    try {
      return {
        home: options.home,
        embedding: memory.embedding,
        namespaces,
        feedback: log.summary(),
        runs: log.runCount(),
        consistent: namespaces.every((stats) => stats.documents === stats.indexed),
      };
    } finally {
      log.close();
    }
  });
}

/** The k documents of a namespace nearest to a text (failure cases by default). */
export async function searchMemory(
  text: string,
  options: MemoryOptions & { k?: number; namespace?: string; confirmedOnly?: boolean },
): Promise<MemoryHit[]> {
  return withMemory(options, (memory) =>
    memory.search(options.namespace ?? FAILURES, text, options.k ?? 5, options.confirmedOnly ? (metadata) => metadata.confirmed === true : undefined),
  );
}

export interface ExportedDocument {
  namespace: string;
  id: string;
  text: string;
  metadata: Record<string, unknown>;
  embedding: string;
  created_at: string;
  updated_at: string;
}

/** Every document (of one namespace, or all), oldest first, handed to `write` one at a time. */
export async function exportMemory(options: MemoryOptions & { namespace?: string }, write: (doc: ExportedDocument) => void): Promise<number> {
  return withMemory(options, async (memory) => {
    let count = 0;
    for (const doc of memory.documents(options.namespace)) {
      write({ namespace: doc.namespace, id: doc.id, text: doc.text, metadata: doc.metadata, embedding: doc.embedding, created_at: doc.created_at, updated_at: doc.updated_at });
      count += 1;
    }
    return count;
  });
}

export interface RebuildReport {
  namespace: string;
  documents: number;
  indexed: number;
  seconds: number;
}

/** Rebuild indexes from SQLite alone, with the memory's current embedding. */
export async function rebuildMemory(options: MemoryOptions & { namespace?: string }): Promise<RebuildReport[]> {
  return withMemory(options, async (memory) => {
    const reports: RebuildReport[] = [];
    for (const namespace of options.namespace ? [options.namespace] : memory.namespaces()) {
      const started = performance.now();
      await memory.rebuild(namespace);
      const indexed = await memory.sync(namespace);
      reports.push({ namespace, documents: memory.count(namespace), indexed, seconds: (performance.now() - started) / 1000 });
    }
    return reports;
  });
}
