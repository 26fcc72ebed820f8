import { Hono, type Context } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { createReadStream, existsSync } from "node:fs";
import { Readable } from "node:stream";
import path from "node:path";
import pLimit from "p-limit";
import { z } from "zod";
import { findRuns } from "../extractors/findRuns.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import { memoryStats, searchMemory } from "../memory/commands.js";
import { recordFeedback } from "../memory/feedback.js";
import { OUTPUT_FILES } from "../outputs/write.js";
import { RunError, UsageError, errorMessage } from "../schema/errors.js";
import { errorPage, runListPage, runPage } from "./page.js";
import { NotFound, analyzeInto, isOutputFile, listRuns, runDetail, runFolder } from "./results.js";

export interface ServerOptions {
  /** The results folder served: a `batch --out` or `analyze --out` folder. */
  results: string;
  /** Where runs to analyze are looked for; without it the server only reads and takes feedback. */
  runsRoot?: string;
  /** Analysis options; `home` is also the memory feedback goes to. */
  analyze: AnalyzeOptions;
}

/**
 * The HTTP API and web UI over a results folder. Every route calls the same plain function the CLI
 * calls (listing and reading outputs, analyze, feedback, memory stats and search); this table is the
 * whole surface.
 */
export function createApp(options: ServerOptions): Hono {
  const app = new Hono();
  const routes = new Routes(options);
  // Run text is untrusted: pages load nothing from elsewhere and run no script; cross-site form posts are refused.
  app.use(secureHeaders({ originAgentCluster: false, contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameSrc: ["'self'"], formAction: ["'self'"], imgSrc: ["'self'"] } }));
  app.use(csrf());
  app.onError((err, c) => routes.error(err, c));

  app.get("/", (c) => routes.listPage(c));
  app.get("/runs/:key", (c) => routes.runPage(c));
  app.get("/runs/:key/report.html", (c) => routes.file(c, "report.html"));
  app.post("/runs/:key/feedback", (c) => routes.feedbackForm(c));
  app.post("/analyze", (c) => routes.analyzeForm(c));

  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/api/health", (c) => c.json({ ok: true }));
  app.get("/api/runs", async (c) => c.json(await listRuns(options.results)));
  app.get("/api/runs/:key", async (c) => c.json(await runDetail(options.results, c.req.param("key"))));
  app.get("/api/runs/:key/files/:file", (c) => routes.file(c, c.req.param("file")));
  app.post("/api/runs/:key/feedback", (c) => routes.feedbackJson(c));
  app.post("/api/analyze", (c) => routes.analyzeJson(c));
  app.get("/api/memory/stats", async (c) => c.json(await memoryStats({ home: options.analyze.home })));
  app.get("/api/memory/search", (c) => routes.search(c));
  return app;
}

const StepList = z
  .string()
  .regex(/^[\d,\s]*$/, "comma-separated step ids")
  .transform((text) => text.split(",").map((part) => part.trim()).filter(Boolean).map(Number));

/** The feedback form's fields (all strings); empty ones fall back to the diagnosis. */
const FeedbackFormFields = z.object({
  onset: z.coerce.number().int().min(1),
  incorrect: StepList.optional(),
  unuseful: StepList.optional(),
  category: z.string().optional(),
  note: z.string().max(2000).optional(),
});

const FeedbackBody = z.strictObject({
  onset: z.number().int().min(1),
  incorrect: z.array(z.number().int().min(1)).optional(),
  unuseful: z.array(z.number().int().min(1)).optional(),
  category: z.string().optional(),
  note: z.string().max(2000).optional(),
});

const AnalyzeBody = z.strictObject({ run: z.string().min(1) });

const SearchQuery = z.object({
  q: z.string().min(1, "q (the text to look for) is required"),
  k: z.coerce.number().int().min(1).max(100).default(5),
  confirmed: z.enum(["true", "false"]).optional(),
});

class Routes {
  /** One analysis at a time: each rewrites index.jsonl, and two at once would race on it. */
  private readonly oneAnalysis = pLimit(1);
  private analyzable: Promise<string[]> | undefined;

  constructor(private readonly options: ServerOptions) {}

  async listPage(c: Context) {
    const { results, runsRoot, analyze } = this.options;
    const entries = await listRuns(results);
    const analyzable = runsRoot ? await this.runsBelowRoot() : [];
    const done = new Set(entries.map((entry) => entry.run));
    return c.html(runListPage({ results, home: analyze.home, entries, ...(runsRoot ? { runsRoot } : {}), analyzable: analyzable.filter((run) => !done.has(run)) }));
  }

  async runPage(c: Context, view: Parameters<typeof runPage>[1] = {}) {
    return c.html(runPage(await runDetail(this.options.results, c.req.param("key")!), view));
  }

  /** One of the run's output files, as written; only the six known names can be asked for. */
  async file(c: Context, name: string) {
    if (!isOutputFile(name)) throw new NotFound(`no file "${name}": a run has ${OUTPUT_FILES.join(", ")}`);
    const file = path.join(await runFolder(this.options.results, c.req.param("key")!), name);
    if (!existsSync(file)) throw new NotFound(`${name} is missing for run "${c.req.param("key")}"`);
    // Streamed: a trace.json of a huge run is never held in memory whole.
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream;
    const type = name.endsWith(".html") ? "text/html; charset=utf-8" : "application/json; charset=utf-8";
    // The report carries its own strict CSP; a served JSON file is never rendered as a page.
    return c.body(body, 200, { "content-type": type, ...(name.endsWith(".html") ? {} : { "content-disposition": `inline; filename="${name}"` }) });
  }

  async feedbackForm(c: Context) {
    const fields = FeedbackFormFields.parse(emptyToUndefined(await c.req.parseBody()));
    const key = c.req.param("key")!;
    try {
      const feedback = await this.feedback(key, fields);
      return this.runPage(c, { feedback });
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      return this.runPage(c, { message: err.message });
    }
  }

  async feedbackJson(c: Context) {
    const body = FeedbackBody.parse(await jsonBody(c));
    const { case: failure, ...result } = await this.feedback(c.req.param("key")!, body);
    return c.json({ ...result, case_id: failure.run });
  }

  async analyzeForm(c: Context) {
    const { run } = AnalyzeBody.parse(emptyToUndefined(await c.req.parseBody()));
    const record = await this.analyze(run);
    if (record.status === "error") throw new RunError(`${run} could not be analyzed: ${record.error}`);
    return c.redirect(`/runs/${encodeURIComponent(record.out)}`, 303);
  }

  async analyzeJson(c: Context) {
    const { run } = AnalyzeBody.parse(await jsonBody(c));
    const record = await this.analyze(run);
    return c.json(record, record.status === "ok" ? 200 : 422);
  }

  async search(c: Context) {
    const query = SearchQuery.parse(c.req.query());
    return c.json(await searchMemory(query.q, { home: this.options.analyze.home, k: query.k, namespace: "failures", confirmedOnly: query.confirmed === "true" }));
  }

  /** Usage mistakes are 400, unknown runs or files 404, runs that cannot be read 422; the page or JSON says why. */
  error(err: Error, c: Context) {
    if (err instanceof HTTPException) return err.getResponse();
    const status = err instanceof z.ZodError || err instanceof UsageError ? 400 : err instanceof NotFound ? 404 : err instanceof RunError ? 422 : 500;
    const message = err instanceof z.ZodError ? err.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ") : errorMessage(err);
    if (status === 500) console.error(`codetracer serve: ${c.req.method} ${c.req.path}: ${errorMessage(err)}`);
    return c.req.path.startsWith("/api/") ? c.json({ error: message }, status) : c.html(errorPage(status, message), status);
  }

  private async feedback(key: string, labels: z.infer<typeof FeedbackBody>) {
    const outDir = await runFolder(this.options.results, key);
    return recordFeedback({ outDir, home: this.options.analyze.home, ...labels });
  }

  private async analyze(run: string) {
    const { runsRoot, results, analyze } = this.options;
    if (!runsRoot) throw new UsageError("this server was started without --runs, so it cannot analyze new runs");
    const record = await this.oneAnalysis(() => analyzeInto(results, runsRoot, run, analyze));
    this.analyzable = undefined;
    return record;
  }

  /** Runs found below --runs, for the analyze form's suggestions (looked for once, again after an analysis). */
  private async runsBelowRoot(): Promise<string[]> {
    this.analyzable ??= findRuns(this.options.runsRoot!)
      .then((found) => found.map((run) => run.relative).filter((run) => run !== "."))
      .catch(() => []);
    return this.analyzable;
  }
}

async function jsonBody(c: Context): Promise<unknown> {
  if (!(c.req.header("content-type") ?? "").startsWith("application/json")) throw new UsageError("send the body as JSON (content-type: application/json)");
  try {
    return await c.req.json();
  } catch {
    throw new UsageError("the body is not valid JSON");
  }
}

/** A form sends every field, empty ones as ""; an empty field means "not given". */
function emptyToUndefined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => typeof value !== "string" || value.trim() !== ""));
}
