#!/usr/bin/env node
// `npm test`: run vitest, then print the plain `N passed, N failed` line CI reads (from vitest's JSON report).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

const report = ".vitest-results.json";
rmSync(report, { force: true });
const vitest = spawnSync("npx", ["--no-install", "vitest", "run", ...process.argv.slice(2)], { stdio: "inherit" });
if (existsSync(report)) {
  const { numPassedTests, numFailedTests } = JSON.parse(readFileSync(report, "utf8"));
  console.log(`${numPassedTests} passed, ${numFailedTests} failed`);
} else {
  console.log("0 passed, 1 failed");
  console.error("vitest wrote no report: it did not start or crashed");
}
process.exit(vitest.status ?? 1);
