import type Database from "better-sqlite3";
import { z } from "zod";

/** A namespace name becomes a directory name: keep it plain. */
export const NamespaceName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "a namespace is lower-case letters, digits, - and _");

/** What callers store: metadata must survive JSON (it is saved as JSON in SQLite and in the index). */
export const MemoryDocumentInput = z.object({
  id: z.string().min(1),
  text: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});
export type MemoryDocumentInput = z.infer<typeof MemoryDocumentInput>;

export interface StoredDocument {
  namespace: string;
  id: string;
  text: string;
  metadata: Record<string, unknown>;
  /** The embedding in use when the document was last written. */
  embedding: string;
  seq: number;
  created_at: string;
  updated_at: string;
}

/** A document ready for the index: with its vector under the index's embedding (when cached). */
export interface IndexableDocument {
  id: string;
  text: string;
  metadata: Record<string, unknown>;
  seq: number;
  vector: number[] | undefined;
}

interface DocumentRow {
  namespace: string;
  id: string;
  text: string;
  metadata: string;
  embedding: string;
  seq: number;
  created_at: string;
  updated_at: string;
}

/** SQL over the memory tables: the source of truth the HNSW indexes are rebuilt from. */
export class DocumentTable {
  constructor(private readonly db: Database.Database) {}

  generation(namespace: string): number {
    const row = this.db.prepare("SELECT generation FROM memory_namespaces WHERE namespace = ?").get(namespace) as { generation: number } | undefined;
    return row?.generation ?? 0;
  }

  count(namespace: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM memory_documents WHERE namespace = ?").get(namespace) as { n: number }).n;
  }

  /** Documents whose metadata says a person confirmed them. */
  confirmedCount(namespace: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM memory_documents WHERE namespace = ? AND json_extract(metadata, '$.confirmed') = 1").get(namespace) as { n: number }).n;
  }

  namespaces(): string[] {
    const rows = this.db.prepare("SELECT DISTINCT namespace FROM memory_documents UNION SELECT namespace FROM memory_namespaces ORDER BY 1").all() as { namespace: string }[];
    return rows.map((row) => row.namespace);
  }

  get(namespace: string, id: string): StoredDocument | undefined {
    const row = this.db.prepare("SELECT * FROM memory_documents WHERE namespace = ? AND id = ?").get(namespace, id) as DocumentRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every document of a namespace (or of all), oldest write first. */
  *iterate(namespace?: string): Generator<StoredDocument> {
    const statement = namespace
      ? this.db.prepare("SELECT * FROM memory_documents WHERE namespace = ? ORDER BY seq, rowid").bind(namespace)
      : this.db.prepare("SELECT * FROM memory_documents ORDER BY namespace, seq, rowid");
    for (const row of statement.iterate() as Iterable<DocumentRow>) yield fromRow(row);
  }

  /**
   * Upsert documents and their vectors in one transaction, under a new generation of the namespace.
   * Every write bumps the generation, which is how an index elsewhere learns it is out of date.
   */
  upsert(namespace: string, docs: { input: MemoryDocumentInput; vector: number[] }[], embedding: string): number {
    const now = new Date().toISOString();
    const write = this.db.transaction((): number => {
      this.db.prepare("INSERT INTO memory_namespaces (namespace, generation) VALUES (?, 1) ON CONFLICT(namespace) DO UPDATE SET generation = generation + 1").run(namespace);
      const generation = this.generation(namespace);
      const upsertDoc = this.db.prepare(`INSERT INTO memory_documents (namespace, id, text, metadata, embedding, seq, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(namespace, id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata, embedding = excluded.embedding,
          seq = excluded.seq, updated_at = excluded.updated_at`);
      const dropVectors = this.db.prepare("DELETE FROM memory_vectors WHERE namespace = ? AND id = ?");
      const insertVector = this.db.prepare("INSERT INTO memory_vectors (namespace, id, embedding, vector) VALUES (?, ?, ?, ?)");
      for (const { input, vector } of docs) {
        upsertDoc.run(namespace, input.id, input.text, JSON.stringify(input.metadata), embedding, generation, now, now);
        // The text may have changed: vectors of it under any other embedding are void.
        dropVectors.run(namespace, input.id);
        insertVector.run(namespace, input.id, embedding, encodeVector(vector));
      }
      return generation;
    });
    return write.immediate();
  }

  /**
   * The documents written after generation `after`, up to the namespace's current generation, read
   * in one transaction so the pair is consistent. `after = 0` reads them all.
   */
  changedSince(namespace: string, after: number, embedding: string): { generation: number; docs: IndexableDocument[] } {
    const read = this.db.transaction(() => {
      const generation = this.generation(namespace);
      const rows = this.db
        .prepare(`SELECT d.id, d.text, d.metadata, d.seq, v.vector FROM memory_documents d
                  LEFT JOIN memory_vectors v ON v.namespace = d.namespace AND v.id = d.id AND v.embedding = ?
                  WHERE d.namespace = ? AND d.seq > ? AND d.seq <= ? ORDER BY d.seq, d.rowid`)
        .all(embedding, namespace, after, generation) as { id: string; text: string; metadata: string; seq: number; vector: Buffer | null }[];
      return {
        generation,
        docs: rows.map((row) => ({ id: row.id, text: row.text, metadata: JSON.parse(row.metadata) as Record<string, unknown>, seq: row.seq, vector: row.vector ? decodeVector(row.vector) : undefined })),
      };
    });
    return read();
  }

  /** Cache vectors computed for an embedding (e.g. after switching embeddings) without touching generations. */
  cacheVectors(namespace: string, embedding: string, vectors: { id: string; seq: number; vector: number[] }[]): void {
    // Only if the document is still the version that was embedded (another process may have rewritten it).
    const insert = this.db.prepare(`INSERT OR REPLACE INTO memory_vectors (namespace, id, embedding, vector)
      SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM memory_documents WHERE namespace = ? AND id = ? AND seq = ?)`);
    this.db.transaction(() => {
      for (const { id, seq, vector } of vectors) insert.run(namespace, id, embedding, encodeVector(vector), namespace, id, seq);
    }).immediate();
  }
}

function fromRow(row: DocumentRow): StoredDocument {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

function encodeVector(vector: number[]): Buffer {
  return Buffer.from(new Float32Array(vector).buffer);
}

function decodeVector(blob: Buffer): number[] {
  // Copy first: a Buffer from SQLite may start at an offset that a Float32Array cannot view.
  return Array.from(new Float32Array(new Uint8Array(blob).buffer));
}
