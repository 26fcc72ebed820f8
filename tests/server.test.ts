import { execFile, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../server/app.js";
import { analyzeRun } from "../graphs/analyze.js";
import { writeAnalysis } from "../outputs/write.js";
import { Diagnosis } from "../schema/diagnosis.js";
import { Trace } from "../schema/trace.js";
import { CORPUS, REPO } from "./corpus.js";

const TRIALS = ["harbor-claude-code-kimi-k2.5/bn-fit-modify__AWvGVmB", "harbor-claude-code-kimi-k2.5/adaptive-rejection-sampler__8swhKXC"];
const SAME_ORIGIN = { origin: "http://localhost" };

async function freshServer(runsRoot: string | undefined = CORPUS) {
  const base = await mkdtemp(path.join(os.tmpdir(), "ct-serve-"));
  const results = path.join(base, "results");
  const home = path.join(base, "home");
  const app = createApp({ results, ...(runsRoot ? { runsRoot } : {}), analyze: { llm: "off", home, remember: true, builtin: true } });
  const json = (route: string, body: unknown) => app.request(route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const form = (route: string, fields: Record<string, string>, headers: Record<string, string> = SAME_ORIGIN) =>
    app.request(route, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(fields).toString() });
  return { app, results, home, json, form };
}

describe("codetracer serve: the HTTP API over a results folder", () => {
  let server: Awaited<ReturnType<typeof freshServer>>;
  const keys: string[] = [];

  beforeAll(async () => {
    server = await freshServer();
    for (const trial of TRIALS) {
      const response = await server.json("/api/analyze", { run: trial });
      expect(response.status).toBe(200);
      const record = (await response.json()) as { out: string; status: string; run: string };
      expect(record).toMatchObject({ run: trial, status: "ok" });
      keys.push(record.out);
    }
  });

  it("analyzes real Harbor trials into the results folder exactly as the CLI does, one index line each", async () => {
    const index = (await readFile(path.join(server.results, "index.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(index.map((record) => record.run)).toEqual(TRIALS);
    const direct = await analyzeRun(path.join(CORPUS, TRIALS[0]!), { llm: "off", home: os.tmpdir(), remember: false, builtin: true, recall: false });
    const served = Trace.parse(await (await server.app.request(`/api/runs/${keys[0]}/files/trace.json`)).json());
    expect(served.steps).toEqual(direct.trace.steps);
    expect(index[0].steps).toBe(direct.trace.steps.length);
  });

  it("lists the runs with their diagnosis, as JSON and as a page with a bar marking each onset", async () => {
    const runs = (await (await server.app.request("/api/runs")).json()) as Array<{ out: string; steps: number; diagnosis: Diagnosis }>;
    expect(runs.map((run) => run.out)).toEqual(keys);
    for (const run of runs) {
      const written = Diagnosis.parse(JSON.parse(await readFile(path.join(server.results, run.out, "diagnosis.json"), "utf8")));
      expect(run.diagnosis.onset).toEqual(written.onset);
      expect(run.diagnosis.failure_category).toBe(written.failure_category);
    }
    const page = await (await server.app.request("/")).text();
    for (const run of runs) {
      expect(page).toContain(`href="/runs/${run.out}"`);
      if (run.diagnosis.onset) expect(page).toContain(`onset at step ${run.diagnosis.onset.step_id} of ${run.steps}`);
    }
  });

  it("shows one run: its diagnosis, a feedback form prefilled with it, its report and its files", async () => {
    const detail = (await (await server.app.request(`/api/runs/${keys[0]}`)).json()) as { diagnosis: Diagnosis; steps: number };
    const page = await (await server.app.request(`/runs/${keys[0]}`)).text();
    expect(page).toContain(`name="onset" min="1" required value="${detail.diagnosis.onset!.step_id}"`);
    expect(page).toContain(`value="${detail.diagnosis.incorrect_step_ids.join(",")}"`);
    const report = await server.app.request(`/runs/${keys[0]}/report.html`);
    expect(report.headers.get("content-type")).toContain("text/html");
    expect(await report.text()).toBe(await readFile(path.join(server.results, keys[0]!, "report.html"), "utf8"));
    expect((await server.app.request(`/api/runs/${keys[0]}/files/replay.messages.json`)).status).toBe(200);
  });

  it("takes feedback as JSON and from the form; it becomes a confirmed case that memory search finds", async () => {
    const detail = (await (await server.app.request(`/api/runs/${keys[0]}`)).json()) as { diagnosis: Diagnosis; run: { task?: string } };
    const corrected = detail.diagnosis.onset!.step_id + 1;
    const response = await server.json(`/api/runs/${keys[0]}/feedback`, { onset: corrected, note: "the plan was wrong one step later" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ agrees: false, onset: corrected, diagnosed_onset: detail.diagnosis.onset!.step_id, confirmed_cases: 1 });

    const confirmed = await server.form(`/runs/${keys[1]}/feedback`, { onset: "2", incorrect: "2, 3", unuseful: "", category: "tool_misuse", note: "" });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toMatch(/Feedback recorded: .* at step 2, tool_misuse\. Memory now holds 2 confirmed failure cases\./);

    const stats = (await (await server.app.request("/api/memory/stats")).json()) as { consistent: boolean; namespaces: Array<{ namespace: string; confirmed: number }> };
    expect(stats.consistent).toBe(true);
    expect(stats.namespaces.find((space) => space.namespace === "failures")!.confirmed).toBe(2);
    const hits = (await (await server.app.request(`/api/memory/search?q=${encodeURIComponent(detail.run.task!.slice(0, 200))}&k=1&confirmed=true`)).json()) as Array<{ metadata: { run: string } }>;
    expect(hits[0]!.metadata.run).toBe(path.join(CORPUS, TRIALS[0]!));
  });

  it("says what is wrong with a bad request, as JSON for the API and as a page for the UI", async () => {
    const outside = await server.json("/api/analyze", { run: "../labels" });
    expect(outside.status).toBe(400);
    expect(await outside.json()).toEqual({ error: `"../labels" is not a run below ${CORPUS}` });
    expect((await server.json("/api/analyze", { run: "no/such/trial" })).status).toBe(404);
    expect((await server.app.request("/api/runs/no-such-run")).status).toBe(404);
    expect((await server.app.request(`/api/runs/${keys[0]}/files/..%2F..%2Findex.jsonl`)).status).toBe(404);
    const beyond = await server.json(`/api/runs/${keys[0]}/feedback`, { onset: 100000 });
    expect(beyond.status).toBe(400);
    expect(((await beyond.json()) as { error: string }).error).toMatch(/100000/);
    expect((await server.json(`/api/runs/${keys[0]}/feedback`, { onset: "four" })).status).toBe(400);
    const notJson = await server.app.request(`/api/runs/${keys[0]}/feedback`, { method: "POST", headers: { "content-type": "text/plain", ...SAME_ORIGIN }, body: '{"onset":3}' });
    expect(notJson.status).toBe(400);
    const formError = await server.form(`/runs/${keys[0]}/feedback`, { onset: "100000" });
    expect(formError.status).toBe(200);
    expect(await formError.text()).toMatch(/class="box error">.*100000/);
    const badPage = await server.app.request("/runs/no-such-run");
    expect(badPage.status).toBe(404);
    expect(await badPage.text()).toContain("no run &#34;no-such-run&#34;");
  });

  it("refuses a form posted from another site, so a web page cannot write to your memory", async () => {
    const crossSite = await server.form(`/runs/${keys[0]}/feedback`, { onset: "2" }, { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    const stats = (await (await server.app.request("/api/memory/stats")).json()) as { feedback: { total: number } };
    expect(stats.feedback.total).toBe(2);
  });
});

describe("codetracer serve: untrusted and broken results", () => {
  it("escapes run text everywhere and forbids scripts on every page", async () => {
    const runs = await mkdtemp(path.join(os.tmpdir(), "ct-serve-hostile-"));
    const hostile = JSON.parse(await readFile(path.join(REPO, "examples", "atif-trajectory", "email-validator.json"), "utf8"));
    hostile.steps[0].message = `<script>alert("task")</script><img src=x onerror=alert(1)> ${hostile.steps[0].message}`;
    await writeFile(path.join(runs, "<b>hostile<i>.json"), JSON.stringify(hostile));
    const server = await freshServer(runs);
    const record = (await (await server.json("/api/analyze", { run: "<b>hostile<i>.json" })).json()) as { out: string; status: string };
    expect(record.status).toBe("ok");
    for (const route of ["/", `/runs/${encodeURIComponent(record.out)}`, `/runs/${encodeURIComponent(record.out)}/report.html`]) {
      const response = await server.app.request(route);
      const page = await response.text();
      expect(page).not.toMatch(/<script|<img|<b>hostile/i);
      expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    }
    expect(await (await server.app.request(`/runs/${encodeURIComponent(record.out)}/report.html`)).text()).toMatch(/&#60;script&#62;alert/);
  });

  it("will not follow a symlink out of the runs folder", async () => {
    const runs = await mkdtemp(path.join(os.tmpdir(), "ct-serve-links-"));
    symlinkSync(path.join(REPO, "examples"), path.join(runs, "elsewhere"));
    const server = await freshServer(runs);
    const response = await server.json("/api/analyze", { run: "elsewhere/harbor-demo__fib01" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain("leads outside");
  });

  it("serves a batch with a failed run and a corrupted diagnosis: the other runs are unaffected", async () => {
    const server = await freshServer(path.join(REPO, "examples"));
    for (const run of ["harbor-demo__fib01", "terminus2-run", "README.md"]) await server.json("/api/analyze", { run });
    await writeFile(path.join(server.results, "terminus2-run", "diagnosis.json"), '{"failed": tr');
    const runs = (await (await server.app.request("/api/runs")).json()) as Array<{ out: string; status: string; unreadable?: string; diagnosis?: unknown; error?: string }>;
    expect(runs.map((run) => [run.out, run.status])).toEqual([["harbor-demo__fib01", "ok"], ["terminus2-run", "ok"], ["README.md", "error"]]);
    expect(runs[0]!.diagnosis).toBeDefined();
    expect(runs[1]!.unreadable).toMatch(/diagnosis\.json is not a valid diagnosis\.json/);
    expect(runs[2]!.error).toMatch(/README\.md/);
    expect((await server.app.request("/api/runs/terminus2-run")).status).toBe(422);
    expect((await server.app.request("/api/runs/README.md")).status).toBe(422);
    const page = await (await server.app.request("/")).text();
    expect(page).toContain("3 runs, 1 with an onset, 2 unreadable");
  });

  it("will not read outside the results folder when its index.jsonl points there", async () => {
    const server = await freshServer(path.join(REPO, "examples"));
    await server.json("/api/analyze", { run: "harbor-demo__fib01" });
    const index = path.join(server.results, "index.jsonl");
    await writeFile(index, (await readFile(index, "utf8")) + `${JSON.stringify({ run: "x", out: "../../outside", format: "f", steps: 1, status: "ok" })}\n`);
    const runs = (await (await server.app.request("/api/runs")).json()) as Array<{ out: string; status: string; error?: string }>;
    expect(runs.map((run) => run.status)).toEqual(["ok", "error"]);
    expect(runs[1]!.error).toContain("not a folder inside the results");
    expect((await server.app.request(`/api/runs/${encodeURIComponent("../../outside")}/files/trace.json`)).status).toBe(422);
  });

  it("serves a single analyze folder as one run, read-only without --runs", async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), "ct-serve-single-"));
    await writeAnalysis(out, await analyzeRun(path.join(REPO, "examples", "harbor-demo__fib01"), { llm: "off", home: os.tmpdir(), remember: false, builtin: true, recall: false }));
    const app = createApp({ results: out, analyze: { llm: "off", home: path.join(out, "home"), remember: false, builtin: true } });
    const runs = (await (await app.request("/api/runs")).json()) as Array<{ out: string; steps: number }>;
    expect(runs).toMatchObject([{ out: "run", steps: 9 }]);
    expect((await app.request("/runs/run")).status).toBe(200);
    const analyze = await app.request("/api/analyze", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ run: "x" }) });
    expect(analyze.status).toBe(400);
    expect(((await analyze.json()) as { error: string }).error).toContain("without --runs");
  });
});

describe("codetracer serve from the command line", () => {
  it("listens on the port it prints and answers; a missing results folder is a usage error", async () => {
    const results = await mkdtemp(path.join(os.tmpdir(), "ct-serve-cli-"));
    await mkdir(results, { recursive: true });
    await cp(path.join(REPO, "examples", "README.md"), path.join(results, "README.md"));
    const child = spawn(path.join(REPO, "bin", "codetracer"), ["serve", results, "--port", "0", "--home", path.join(results, "home")], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let printed = "";
        child.stdout.on("data", (chunk: Buffer) => {
          printed += chunk.toString();
          const match = /at (http:\/\/\S+\/)/.exec(printed);
          if (match) resolve(match[1]!);
        });
        child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${printed}`)));
      });
      expect(await (await fetch(`${url}api/health`)).json()).toEqual({ ok: true });
      expect(await (await fetch(url)).text()).toContain("No analyzed runs here yet");
    } finally {
      child.kill("SIGTERM");
    }
    const missing = await promisify(execFile)(path.join(REPO, "bin", "codetracer"), ["serve", path.join(results, "nope")]).catch((err: { code: number; stderr: string }) => err);
    expect(missing).toMatchObject({ code: 2 });
    expect((missing as { stderr: string }).stderr).toContain("does not exist");
  }, 30_000);
});
