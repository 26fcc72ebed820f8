import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";

/** The one SQLite file under --home: runs, diagnoses, memory documents, feedback. */
export const DATABASE_FILE = "codetracer.db";

/**
 * Open the home's database. WAL lets readers go on while one process writes; the busy timeout makes
 * concurrent writers (a batch with --concurrency, two CLIs) wait for each other instead of failing.
 */
export function openDatabase(home: string): Database.Database {
  mkdirSync(home, { recursive: true });
  const db = new Database(path.join(home, DATABASE_FILE));
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 15000");
  return db;
}

/**
 * The memory's source of truth. Vectors are cached per embedding so that switching embeddings back
 * and forth (or rebuilding a lost index) does not pay for embedding every text again.
 */
const MEMORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS memory_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memory_namespaces (
  namespace TEXT PRIMARY KEY,
  -- bumped by every write to the namespace; an index built at generation g knows what it lacks
  generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS memory_documents (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  text TEXT NOT NULL,
  metadata TEXT NOT NULL,
  embedding TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE INDEX IF NOT EXISTS memory_documents_by_seq ON memory_documents(namespace, seq);
CREATE TABLE IF NOT EXISTS memory_vectors (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  embedding TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (namespace, id, embedding)
);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_key TEXT NOT NULL,
  source TEXT NOT NULL,
  onset INTEGER,
  diagnosed_onset INTEGER,
  incorrect TEXT NOT NULL,
  unuseful TEXT NOT NULL,
  category TEXT NOT NULL,
  note TEXT,
  labels_digest TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_run ON feedback(run_key);
`;

/** Create the memory tables if needed and return the store's identity (snapshots built elsewhere are rejected). */
export function ensureMemorySchema(db: Database.Database): string {
  db.exec(MEMORY_SCHEMA);
  db.prepare("INSERT OR IGNORE INTO memory_meta (key, value) VALUES ('store_uid', ?)").run(randomUUID());
  return (db.prepare("SELECT value FROM memory_meta WHERE key = 'store_uid'").get() as { value: string }).value;
}
