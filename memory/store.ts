import type Database from "better-sqlite3";
import path from "node:path";
import os from "node:os";
import { openDatabase } from "./db.js";
import type { Diagnosis } from "../schema/diagnosis.js";
import type { RunInfo } from "../schema/trace.js";

/** `--home`, else $CODETRACER_HOME, else ~/.codetracer. */
export function resolveHome(home?: string): string {
  return path.resolve(home ?? process.env.CODETRACER_HOME ?? path.join(os.homedir(), ".codetracer"));
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_key TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  format TEXT NOT NULL,
  extractor_id TEXT NOT NULL,
  extractor_version TEXT NOT NULL,
  steps INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  task TEXT,
  analyzed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS diagnoses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_key TEXT NOT NULL REFERENCES runs(run_key),
  diagnosis TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS diagnoses_by_run ON diagnoses(run_key);
`;

export interface StoredRun {
  run_key: string;
  path: string;
  format: string;
  extractor_id: string;
  extractor_version: string;
  steps: number;
  outcome: string;
  task: string | null;
  analyzed_at: string;
}

/** The SQLite source of truth under --home: runs and every diagnosis made of them. */
export class RunStore {
  readonly db: Database.Database;

  constructor(home: string) {
    this.db = openDatabase(home);
    this.db.exec(SCHEMA);
  }

  recordAnalysis(runKey: string, run: RunInfo, steps: number, diagnosis: Diagnosis): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO runs (run_key, path, format, extractor_id, extractor_version, steps, outcome, task, analyzed_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                  ON CONFLICT(run_key) DO UPDATE SET path = excluded.path, format = excluded.format,
                    extractor_id = excluded.extractor_id, extractor_version = excluded.extractor_version,
                    steps = excluded.steps, outcome = excluded.outcome, task = excluded.task, analyzed_at = excluded.analyzed_at`)
        .run(runKey, run.path, run.format, run.extractor.id, run.extractor.version, steps, run.outcome?.status ?? "unknown", run.task ?? null, now);
      this.db.prepare("INSERT INTO diagnoses (run_key, diagnosis, created_at) VALUES (?, ?, ?)").run(runKey, JSON.stringify(diagnosis), now);
    })();
  }

  run(runKey: string): StoredRun | undefined {
    return this.db.prepare("SELECT * FROM runs WHERE run_key = ?").get(runKey) as StoredRun | undefined;
  }

  latestDiagnosis(runKey: string): Diagnosis | undefined {
    const row = this.db.prepare("SELECT diagnosis FROM diagnoses WHERE run_key = ? ORDER BY id DESC LIMIT 1").get(runKey) as { diagnosis: string } | undefined;
    return row ? (JSON.parse(row.diagnosis) as Diagnosis) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
