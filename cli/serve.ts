import { serve } from "@hono/node-server";
import { Command, Option } from "commander";
import { existsSync } from "node:fs";
import path from "node:path";
import { createApp } from "../server/app.js";
import { UsageError } from "../schema/errors.js";
import { analyzeOptions, builtinOption, homeOption, llmOption, type CommonFlags } from "./options.js";

export function serveCommand(): Command {
  return new Command("serve")
    .description("browse a results folder in a web UI (and a JSON API): runs, diagnoses, reports, feedback; with --runs, analyze new runs")
    .argument("<results>", "the --out folder of `batch` or `analyze` (created when missing and --runs is given)")
    .option("--runs <dir>", "a folder of runs the UI and POST /api/analyze may analyze into <results>")
    .addOption(new Option("--port <n>", "port to listen on (0: any free port)").default("4173").argParser(port))
    .option("--host <host>", "interface to listen on; the default keeps it on this machine", "127.0.0.1")
    .addOption(llmOption())
    .addOption(homeOption())
    .addOption(builtinOption())
    .action(async (results: string, flags: CommonFlags & { runs?: string; port: number | string; host: string }) => {
      if (!existsSync(results) && !flags.runs) throw new UsageError(`${results} does not exist (give --runs <dir> to start an empty results folder and analyze into it)`);
      if (flags.runs && !existsSync(flags.runs)) throw new UsageError(`--runs ${flags.runs} does not exist`);
      const app = createApp({ results: path.resolve(results), ...(flags.runs ? { runsRoot: path.resolve(flags.runs) } : {}), analyze: analyzeOptions(flags) });
      const server = serve({ fetch: app.fetch, port: typeof flags.port === "number" ? flags.port : port(flags.port), hostname: flags.host }, (info) => {
        console.log(`codetracer: serving ${results} at http://${info.address.includes(":") ? `[${info.address}]` : info.address}:${info.port}/ (Ctrl-C to stop)`);
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? new UsageError(`port ${flags.port} is in use; pick another with --port`) : err));
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => server.close(() => resolve()));
      });
    });
}

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new UsageError(`--port takes a port number (0-65535), got "${value}"`);
  return number;
}
