import type Database from "better-sqlite3";
import { ensureMemorySchema, openDatabase } from "./db.js";

/** One judgement of a person about a run: typed at the CLI (`feedback`) or imported from a label set. */
export interface FeedbackEntry {
  run_key: string;
  source: "feedback" | "import";
  onset: number | null;
  /** The onset the diagnosis had proposed, to measure how often people agree with it. */
  diagnosed_onset: number | null;
  incorrect: number[];
  unuseful: number[];
  category: string;
  note?: string;
  /** For imports: a digest of the labels, so re-importing the same labels is skipped. */
  labels_digest?: string;
}

/** The feedback table in the home's SQLite database. */
export class FeedbackLog {
  private readonly db: Database.Database;

  constructor(home: string) {
    this.db = openDatabase(home);
    ensureMemorySchema(this.db);
  }

  record(entry: FeedbackEntry): void {
    this.db
      .prepare(`INSERT INTO feedback (run_key, source, onset, diagnosed_onset, incorrect, unuseful, category, note, labels_digest, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(entry.run_key, entry.source, entry.onset, entry.diagnosed_onset, JSON.stringify(entry.incorrect), JSON.stringify(entry.unuseful), entry.category, entry.note ?? null, entry.labels_digest ?? null, new Date().toISOString());
  }

  /** Were exactly these labels imported for this run before? */
  hasImport(runKey: string, labelsDigest: string): boolean {
    return this.db.prepare("SELECT 1 FROM feedback WHERE run_key = ? AND source = 'import' AND labels_digest = ? LIMIT 1").get(runKey, labelsDigest) !== undefined;
  }

  /** Entries per source, and how many agreed with the diagnosis' onset. */
  summary(): { total: number; by_source: Record<string, number>; onset_agreed: number } {
    const rows = this.db.prepare("SELECT source, count(*) AS n, sum(onset IS diagnosed_onset) AS agreed FROM feedback GROUP BY source").all() as { source: string; n: number; agreed: number }[];
    return {
      total: rows.reduce((sum, row) => sum + row.n, 0),
      by_source: Object.fromEntries(rows.map((row) => [row.source, row.n])),
      onset_agreed: rows.reduce((sum, row) => sum + (row.agreed ?? 0), 0),
    };
  }

  /** Runs analyzed so far (the run store's table; absent before the first analysis). */
  runCount(): number {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get();
    return exists ? (this.db.prepare("SELECT count(*) AS n FROM runs").get() as { n: number }).n : 0;
  }

  close(): void {
    this.db.close();
  }
}
