import type { FailingCheck } from "./checks.js";

/**
 * What the run had to produce, as far as the task text and the failing checks name it: file paths
 * (`/app/out.csv`, `solution.py`) and modules the checks import (`from run import run_tasks`).
 */
export interface Targets {
  /** Normalized paths named by the task or the failing checks. */
  paths: string[];
  /** Module names the failing checks import or run (`headless_terminal`, `portfolio_optimized`). */
  modules: string[];
  /** Paths named by the failing checks in particular (what the failure is about). */
  checked: string[];
}

const FILE_EXTENSIONS = "py|pyx|js|mjs|cjs|ts|c|cc|cpp|h|hpp|rs|go|java|rb|r|R|jl|sh|bash|pl|php|lua|sql|sparql|rq|csv|tsv|json|jsonl|txt|yaml|yml|toml|ini|cfg|conf|md|html|xml|so|o|bin|out|log|pt|pth|pkl|npy|npz|parquet|mp4|mp3|wav|png|jpg|jpeg|gif|pdf|vim|fasta|fa|db|sqlite|zip|tar|gz|comp|dat|env|service|js|wasm|ckpt";
const PATH_PATTERN = new RegExp(`(?:~|\\.{0,2})?(?:/[\\w.@+-]+)+/?|\\b[\\w.@+-]+(?:/[\\w.@+-]+)*\\.(?:${FILE_EXTENSIONS})\\b`, "g");
/** Paths that belong to the harness, the system or the tests, never to what the agent had to make. */
const HARNESS_PATH = /^\/(tests?|usr|proc|sys|dev|bin|sbin|lib|lib64|opt\/conda|root\/\.cache|tmp\/pytest|logs|installed-agent|oracle)(\/|$)|site-packages|dist-packages|\/node_modules\//;
const TEST_FILE = /(^|\/)(test_[^/]*|conftest|[^/]*_test)\.py$/;
const COMMON_MODULES = new Set([
  "os", "sys", "re", "json", "time", "math", "random", "subprocess", "pathlib", "pytest", "unittest", "typing", "collections",
  "itertools", "functools", "numpy", "np", "pandas", "pd", "torch", "shutil", "tempfile", "hashlib", "io", "csv", "glob",
  "string", "signal", "socket", "requests", "datetime", "asyncio", "threading", "multiprocessing", "logging", "struct",
  "base64", "pickle", "copy", "inspect", "importlib", "textwrap", "difflib", "contextlib", "dataclasses", "enum", "abc",
  "__future__", "mailbox", "smtplib", "email", "sqlite3", "uuid", "statistics", "decimal", "fractions", "urllib", "http",
]);

export function normalizePath(raw: string): string {
  return raw.trim().replace(/^["'`]+|["'`.,;:)]+$/g, "").replace(/^\.\//, "").replace(/\/+$/, "").replace(/\/{2,}/g, "/");
}

export function basename(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

/** Paths mentioned in free text, minus URLs, harness and test files. */
export function pathsIn(text: string): string[] {
  const found = new Set<string>();
  // URLs and request paths (`url: /account/111…`, `GET /status`) name endpoints, not files.
  const withoutUrls = text.replace(/\b[a-z][\w+.-]*:\/\/\S+/gi, " ").replace(/\b(url:?|GET|POST|PUT|DELETE|PATCH|HEAD)\s+\/\S*/g, " ");
  for (const match of withoutUrls.matchAll(PATH_PATTERN)) {
    const candidate = normalizePath(match[0]);
    if (candidate.length < 3 || HARNESS_PATH.test(candidate) || TEST_FILE.test(candidate)) continue;
    // Segments like long hashes or ids are data (signatures, keys), not file names.
    if (candidate.split("/").some((segment) => /^[A-Za-z0-9]{24,}$/.test(segment))) continue;
    // A bare directory like `/app` says nothing about which file mattered.
    if (!basename(candidate).includes(".") && candidate.split("/").filter(Boolean).length < 2) continue;
    found.add(candidate);
  }
  return [...found];
}

/** Modules a check imports (`from x import`, `import x`) or runs (`python x.py` is caught as a path). */
function modulesIn(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?:^|\s|>)(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))/gm)) {
    const name = (match[1] ?? match[2] ?? "").split(".")[0]!;
    if (name && !COMMON_MODULES.has(name) && !name.startsWith("test")) names.add(name);
  }
  return [...names];
}

export function targetsOf(task: string | undefined, checks: FailingCheck[]): Targets {
  const checked = new Set<string>();
  const modules = new Set<string>();
  for (const check of checks) {
    pathsIn(check.text).forEach((file) => checked.add(file));
    modulesIn(check.text).forEach((name) => modules.add(name));
  }
  const paths = new Set([...checked, ...(task ? pathsIn(task) : [])]);
  return { paths: [...paths], modules: [...modules], checked: [...checked] };
}

/** Does a file the agent touched (`written`) stand for one the task or the checks name? */
export function isTarget(written: string, targets: Targets): boolean {
  const file = normalizePath(written);
  if (file === "") return false;
  const name = basename(file);
  for (const target of targets.paths) {
    if (target === file) return true;
    const targetName = basename(target);
    // Same file name with an extension (relative vs absolute), or a file inside a named output directory.
    if (targetName.includes(".") && targetName === name) return true;
    if (!targetName.includes(".") && target.startsWith("/") && file.startsWith(`${target}/`)) return true;
  }
  const stem = name.replace(/\.[^.]+$/, "");
  return name !== stem && targets.modules.includes(stem);
}

/** Is a named check about this file in particular (rather than only the task mentioning it)? */
export function isCheckedTarget(written: string, targets: Targets): boolean {
  return isTarget(written, { paths: targets.checked, modules: targets.modules, checked: [] });
}
