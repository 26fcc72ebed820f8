import { Client } from "@langchain/langgraph-sdk";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeRun } from "../graphs/analyze.js";
import { HARBOR, REPO } from "./corpus.js";

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `npx langgraphjs dev` as the README tells people to start it, until it says it is serving. */
async function startService(port: number, home: string): Promise<ChildProcess> {
  const child = spawn("npx", ["--no-install", "langgraphjs", "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: REPO,
    env: { ...process.env, LANGGRAPH_CLI_NO_ANALYTICS: "1", CODETRACER_HOME: home, OPENAI_API_KEY: "" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    let printed = "";
    const timer = setTimeout(() => reject(new Error(`the service did not start within 90 s:\n${printed}`)), 90_000);
    const read = (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes("Server running")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", (code) => reject(new Error(`the service exited with ${code}:\n${printed}`)));
  });
  return child;
}

describe("the diagnose graph as a service (langgraph.json, `npx langgraphjs dev`)", () => {
  let service: ChildProcess;
  let client: Client;
  let home: string;

  beforeAll(async () => {
    const port = await freePort();
    home = await mkdtemp(path.join(os.tmpdir(), "ct-service-"));
    service = await startService(port, home);
    client = new Client({ apiUrl: `http://127.0.0.1:${port}` });
  }, 120_000);

  afterAll(() => {
    // The CLI starts workers of its own: end the whole process group.
    if (service?.pid) process.kill(-service.pid, "SIGTERM");
  });

  const diagnose = async (input: Record<string, unknown>) => {
    const thread = await client.threads.create();
    return (await client.runs.wait(thread.thread_id, "diagnose", { input })) as { options: Record<string, unknown>; diagnosis: { onset: { step_id: number } | null; incorrect_step_ids: number[] }; steps: unknown[] };
  };

  it("diagnoses a real Harbor trial given only its path, as analyze does, with the CLI's default options", async () => {
    const trial = path.join(HARBOR, "bn-fit-modify__AWvGVmB");
    const served = await diagnose({ input: trial });
    expect(served.options).toEqual({ llm: "auto", home, remember: true, builtin: true });
    const direct = await analyzeRun(trial, { llm: "off", home: path.join(home, "direct"), remember: false, builtin: true });
    expect(served.steps).toEqual(direct.trace.steps);
    expect(served.diagnosis.onset?.step_id).toBe(direct.diagnosis.onset?.step_id);
    expect(served.diagnosis.incorrect_step_ids).toEqual(direct.diagnosis.incorrect_step_ids);
  }, 60_000);

  it("takes some of the options and keeps the defaults for the rest", async () => {
    const served = await diagnose({ input: path.join(REPO, "examples", "terminus2-run"), options: { llm: "off", remember: false } });
    expect(served.options).toEqual({ llm: "off", home, remember: false, builtin: true });
    expect(served.diagnosis.onset).not.toBeNull();
  }, 60_000);

  it("answers a wrong option or a missing run with an error naming it", async () => {
    await expect(diagnose({ input: path.join(REPO, "examples", "terminus2-run"), options: { llm: 3 } })).rejects.toThrow(/llm/);
    await expect(diagnose({ input: path.join(home, "no-such-run") })).rejects.toThrow(/RunError.*no such file or directory/);
  }, 60_000);
});
