import type { StepKind } from "../schema/step.js";
import type { StageLabel } from "../schema/trace.js";
import { programOf, type SimpleCommand } from "./shell.js";

/** What one simple shell command does, judged from its program and arguments (nothing is run). */
export interface CommandFacts {
  kind: StepKind;
  purpose: StageLabel;
  writes: string[];
  reads: string[];
  /** Packages it installs (`pip install pexpect` → pexpect). */
  installs: string[];
  /** Scripts or programs of the workspace it executes (`python x.py`, `./run.sh`). */
  runs: string[];
  /** A full-screen or REPL program that waits for a human (`vim f`, bare `python3`). */
  interactive: boolean;
}

const EXPLORE_PROGRAMS = new Set([
  "ls", "cat", "head", "tail", "less", "more", "grep", "egrep", "fgrep", "rg", "ag", "find", "fd", "pwd", "echo", "printf",
  "wc", "file", "stat", "tree", "du", "df", "diff", "cmp", "ps", "top", "whoami", "id", "hostname", "date", "nl", "od",
  "xxd", "hexdump", "strings", "readlink", "realpath", "dirname", "basename", "sort", "uniq", "cut", "awk", "jq", "column",
  "md5sum", "sha256sum", "sha1sum", "cksum", "lsof", "history", "man", "help", "tr", "netstat", "ss", "ping", "locate",
  "objdump", "nm", "readelf", "ldd", "git-log", "zcat", "zgrep", "bzcat", "xzcat", "unzip-l", "tar-t", "base64", "column",
  "test", "[", "[[", "printenv", "env-show", "getent", "nslookup", "dig", "host", "ip", "ifconfig", "route", "lsblk", "mount",
  "identify", "ffprobe", "exiftool", "pdftotext", "xmllint", "yq", "csvlook", "sed-print", "cd", "ls-R",
]);
/** Version checks and tool discovery: environment setup, not inspection of the task's files. */
const SETUP_PROBES = new Set(["which", "whereis", "type", "nvidia-smi", "nproc", "free", "lscpu", "uname", "dpkg", "apt-cache", "command", "hash", "update-alternatives-query"]);
const ENV_BUILTINS = new Set(["export", "source", ".", "set", "unset", "alias", "ulimit", "umask", "conda-activate", "activate", "deactivate"]);
const CHANGE_PROGRAMS = new Set([
  "rm", "mv", "cp", "mkdir", "rmdir", "touch", "chmod", "chown", "chgrp", "ln", "tee", "patch", "dd", "truncate", "install",
  "tar", "unzip", "gunzip", "gzip", "bunzip2", "xz", "zip", "7z", "rsync", "kill", "pkill", "killall", "useradd", "usermod",
  "groupadd", "passwd", "chpasswd", "update-alternatives", "systemctl", "service", "crontab", "mkfifo", "openssl",
  "ssh-keygen", "git-apply", "ffmpeg", "convert", "magick", "sox", "wget", "shred", "fallocate", "mknod", "setfacl",
  "a2ensite", "a2enmod", "nginx", "redis-server", "postfix", "newaliases", "postmap", "ldconfig", "locale-gen", "mkswap",
]);
const BUILD_PROGRAMS = new Set(["make", "cmake", "ninja", "gcc", "g++", "cc", "c++", "clang", "clang++", "rustc", "javac", "nvcc", "go-build", "meson", "bazel", "mvn", "gradle", "ant", "tsc", "webpack", "esbuild"]);
const PACKAGE_MANAGERS = new Set(["pip", "pip3", "apt", "apt-get", "npm", "yarn", "pnpm", "conda", "mamba", "micromamba", "cargo", "gem", "uv", "poetry", "brew", "apk", "yum", "dnf", "go", "cpan", "cpanm", "opam", "nvm", "pipx", "rustup", "install.packages", "bundle", "composer", "dotnet"]);
const INSTALL_VERBS = new Set(["install", "add", "i", "update", "upgrade", "sync", "remove", "uninstall", "create", "get", "build-dep", "reinstall", "ci"]);
const TEST_RUNNERS = new Set(["pytest", "py.test", "tox", "nox", "jest", "mocha", "vitest", "ctest", "rspec", "phpunit", "unittest", "bats", "prove", "behave", "nosetests"]);
const INTERPRETERS = new Set(["python", "python3", "python2", "node", "bash", "sh", "zsh", "ruby", "perl", "Rscript", "R", "julia", "java", "deno", "bun", "lua", "php", "tsx", "ts-node", "pypy3", "octave", "scala", "swipl", "guile", "racket", "ghc", "runghc", "elixir", "erl", "dotnet-run"]);
const EDITORS = new Set(["vim", "vi", "nvim", "nano", "emacs", "pico", "joe", "mcedit", "ed-interactive"]);
const PAGERS_AND_REPLS = new Set(["less", "more", "top", "htop", "watch", "ssh", "telnet", "ftp", "mysql", "psql", "sqlite3-repl", "irb", "ipython", "gdb"]);

function facts(kind: StepKind, purpose: StageLabel, extra: Partial<CommandFacts> = {}): CommandFacts {
  return { kind, purpose, writes: [], reads: [], installs: [], runs: [], interactive: false, ...extra };
}

const operandsOf = (args: string[]) => args.filter((arg) => !arg.startsWith("-"));

/** Classify one simple command. `piped` tells whether its output feeds another command (then a pager is harmless). */
export function commandFacts(simple: SimpleCommand, piped = false): CommandFacts {
  const { program, args } = programOf(simple);
  const operands = operandsOf(args);
  if (program === "") return facts("other", "inspection");
  if (program === ":" || program === "true" || program === "false" || program === "sleep" || program === "wait") return facts("other", "inspection");
  if (program === "sed") return sedFacts(args);
  if (program === "perl" && args.some((arg) => /^-\w*i/.test(arg))) return facts("change", "implementation", { writes: operands.slice(1) });
  if (program === "git") return gitFacts(args);
  if (program === "curl") return curlFacts(args);
  if (program === "sqlite3") return sqliteFacts(args);
  if (args.includes("--version") || args.includes("--help") || args.includes("-version") || (args.length === 1 && args[0] === "-V")) return facts("explore", "environment_setup");
  if (PACKAGE_MANAGERS.has(program)) return packageFacts(program, args);
  if (TEST_RUNNERS.has(program) || isTestInvocation(program, args)) return facts("verify", "verification", { reads: operands, runs: operands.filter((operand) => /\.\w+$/.test(operand)) });
  if (EDITORS.has(program)) return editorFacts(args);
  if (PAGERS_AND_REPLS.has(program)) return facts("explore", "inspection", { reads: operands, interactive: waitsForHuman(program, operands, piped) });
  if (program === "tee") return facts("change", "implementation", { writes: operands });
  if (BUILD_PROGRAMS.has(program)) return facts("change", "implementation", { writes: outputOption(args) });
  if (CHANGE_PROGRAMS.has(program)) return facts("change", program === "systemctl" || program === "service" ? "environment_setup" : "implementation", { writes: changedOperands(program, args), reads: sourceOperands(program, args) });
  if (SETUP_PROBES.has(program)) return facts("explore", "environment_setup", { reads: operands });
  if (ENV_BUILTINS.has(program)) return facts("other", "environment_setup");
  if (program === "env" || program === "printenv") return facts("explore", "environment_setup");
  if (EXPLORE_PROGRAMS.has(program)) return facts("explore", "inspection", { reads: operands });
  if (INTERPRETERS.has(program) || /^python\d/.test(program)) return interpreterFacts(program, args, piped);
  // Running a program of the workspace (`./solve`, `bin/tool x`): it exercises the result.
  if (program.startsWith("./") || simple.argv[0]?.includes("/")) return facts("verify", "verification", { runs: [simple.argv[0]!], reads: [simple.argv[0]!] });
  return facts("other", "implementation", { reads: operands });
}

function waitsForHuman(program: string, operands: string[], piped: boolean): boolean {
  if (program === "top" || program === "htop" || program === "watch") return true;
  if (program === "ssh" || program === "telnet" || program === "ftp") return operands.length <= 1;
  return !piped && operands.length === 0;
}

function sedFacts(args: string[]): CommandFacts {
  if (args.some((arg) => arg === "-i" || /^-[a-zA-Z]*i/.test(arg) || arg.startsWith("--in-place"))) {
    const operands = operandsOf(args);
    // The first operand is the script unless it was given with -e.
    const files = args.includes("-e") ? operands.slice(args.filter((arg) => arg === "-e").length) : operands.slice(1);
    return facts("change", "implementation", { writes: files });
  }
  return facts("explore", "inspection", { reads: operandsOf(args).slice(1) });
}

function changedOperands(program: string, args: string[]): string[] {
  const operands = operandsOf(args);
  if (program === "cp" || program === "mv" || program === "ln" || program === "install" || program === "rsync") return operands.slice(-1);
  if (program === "ffmpeg" || program === "convert" || program === "magick" || program === "sox") return operands.slice(-1);
  if (program === "wget") return outputOption(args, ["-O", "--output-document"]).filter((file) => file !== "-");
  if (program === "tar" || program === "unzip") return outputOption(args, ["-C", "-d"]);
  // Permissions and owners change, contents do not: nothing is written that a check could read.
  if (program === "chmod" || program === "chown" || program === "chgrp") return [];
  if (["kill", "pkill", "killall", "systemctl", "service", "useradd", "usermod", "groupadd", "passwd", "chpasswd", "crontab", "openssl", "nginx"].includes(program)) return [];
  return operands;
}

/** The files a converting or copying command reads to make its output (`ffmpeg -i in.mp4 … out.mp4`, `cp a b`). */
function sourceOperands(program: string, args: string[]): string[] {
  if (program === "ffmpeg") return args.flatMap((arg, index) => (arg === "-i" && args[index + 1] ? [args[index + 1]!] : []));
  if (["cp", "mv", "ln", "install", "rsync", "convert", "magick", "sox"].includes(program)) return operandsOf(args).slice(0, -1);
  return [];
}

/** The value of an output option (`-o out`, `-oout`, `--output=out`). */
function outputOption(args: string[], names = ["-o", "--output"]): string[] {
  const found: string[] = [];
  args.forEach((arg, index) => {
    for (const name of names) {
      if (arg === name && args[index + 1]) found.push(args[index + 1]!);
      else if (name.startsWith("--") && arg.startsWith(`${name}=`)) found.push(arg.slice(name.length + 1));
      else if (name.length === 2 && arg.startsWith(name) && arg.length > 2 && !arg.startsWith("--")) found.push(arg.slice(2));
    }
  });
  return found;
}

function gitFacts(args: string[]): CommandFacts {
  const withoutGlobals = [...args];
  while (withoutGlobals[0] === "-C" || withoutGlobals[0] === "-c") withoutGlobals.splice(0, 2);
  const sub = withoutGlobals.find((arg) => !arg.startsWith("-")) ?? "";
  if (/^(status|log|diff|show|branch|remote|ls-files|ls-tree|blame|grep|rev-parse|describe|config|reflog|fsck|cat-file|rev-list|shortlog|tag|stash-list|count-objects|for-each-ref|show-ref|whatchanged)$/.test(sub)) {
    return facts("explore", "inspection");
  }
  if (sub === "clone") {
    const operands = operandsOf(withoutGlobals).slice(1);
    const target = operands[1] ?? (operands[0] ?? "").replace(/\.git$/, "").split("/").pop() ?? "";
    return facts("change", "environment_setup", { writes: target ? [target] : [] });
  }
  return facts("change", "implementation");
}

function curlFacts(args: string[]): CommandFacts {
  const output = outputOption(args, ["-o", "--output"]);
  if (output.length > 0 || args.includes("-O") || args.includes("--remote-name")) return facts("change", "environment_setup", { writes: output });
  // Calling a service the agent runs itself checks the result; anything else reads the outside world.
  if (args.some((arg) => /^(https?:\/\/)?(localhost|127\.0\.0\.1|0\.0\.0\.0)\b/.test(arg))) return facts("verify", "verification");
  return facts("explore", "inspection");
}

function sqliteFacts(args: string[]): CommandFacts {
  const sql = args.slice(1).join(" ");
  if (/\b(insert|update|delete|create|drop|alter|replace|vacuum|pragma\s+\w+\s*=)\b/i.test(sql)) return facts("change", "implementation", { writes: operandsOf(args).slice(0, 1) });
  return facts("explore", "inspection", { reads: operandsOf(args).slice(0, 1), interactive: args.length <= 1 });
}

function packageFacts(program: string, args: string[]): CommandFacts {
  const operands = operandsOf(args);
  const verb = operands[0] ?? "";
  if (verb === "test" || (program === "go" && verb === "vet")) return facts("verify", "verification");
  if ((program === "cargo" || program === "go" || program === "dotnet") && (verb === "build" || verb === "run")) return facts("change", "implementation");
  if ((program === "npm" || program === "yarn" || program === "pnpm") && (verb === "run" || verb === "start" || verb === "exec")) {
    return args.some((arg) => /test/.test(arg)) ? facts("verify", "verification") : facts("verify", "verification", { runs: operands.slice(1, 2) });
  }
  if (INSTALL_VERBS.has(verb)) {
    const packages = operands.slice(1).filter((name) => !/[<>=]=?$/.test(name) && !/^(\.|\/)/.test(name) && !name.includes("requirements"));
    return facts("change", "environment_setup", { installs: packages.map(packageName) });
  }
  return facts("explore", "environment_setup");
}

/** `numpy==1.26` → numpy; `torch[cuda]` → torch. */
function packageName(spec: string): string {
  return spec.replace(/\[.*$/, "").replace(/[<>=!~;].*$/, "").toLowerCase();
}

function isTestInvocation(program: string, args: string[]): boolean {
  const moduleIndex = args.indexOf("-m");
  if ((program.startsWith("python") || program === "uv") && moduleIndex >= 0) {
    const module = args[moduleIndex + 1] ?? "";
    if (TEST_RUNNERS.has(module)) return true;
  }
  return args.some((arg) => /(^|\/)(test_[^/]*|[^/]*_test|tests?)\.(py|sh|js|ts|rb|R)$/.test(arg)) || /^test[-_]|[-_]test$/.test(program);
}

function editorFacts(args: string[]): CommandFacts {
  const operands = operandsOf(args);
  // `vim -Es -c ... file` / `vim +cmd` run a script without a screen.
  const scripted = args.some((arg) => /^-[a-zA-Z]*[Ees]/.test(arg) || arg === "-c" || arg.startsWith("+") || arg === "-S");
  return facts("change", "implementation", { writes: operands.filter((arg) => !arg.startsWith("+")), interactive: !scripted });
}

function interpreterFacts(program: string, args: string[], piped: boolean): CommandFacts {
  const moduleIndex = args.indexOf("-m");
  if (moduleIndex >= 0) {
    const module = args[moduleIndex + 1] ?? "";
    if (module === "pip") return packageFacts("pip", args.slice(moduleIndex + 2));
    if (module === "venv" || module === "ensurepip") return facts("change", "environment_setup");
    if (module === "http.server") return facts("change", "implementation");
    return facts("verify", "verification", { runs: [module] });
  }
  const inline = args.findIndex((arg) => arg === "-c" || arg === "-e" || arg === "--eval");
  if (inline >= 0) return inlineCodeFacts(args[inline + 1] ?? "");
  const script = args.find((arg) => !arg.startsWith("-"));
  if (!script || script === "-") return facts("explore", "inspection", { interactive: !script && !piped });
  return facts("verify", "verification", { reads: [script], runs: [script] });
}

/** `python -c '...'`: it changes state only when the code opens a file for writing or runs a writer. */
export function inlineCodeFacts(code: string): CommandFacts {
  const writes = [...code.matchAll(/open\(\s*(?:f?["']([^"']+)["'])\s*,\s*["'](?:w|a|wb|ab|x|w\+)["']/g)].map((match) => match[1]!);
  const writers = [...code.matchAll(/\.(?:to_csv|to_json|to_parquet|savefig|save_model|save)\(\s*f?["']([^"']+)["']/g)].map((match) => match[1]!);
  const all = [...writes, ...writers];
  if (all.length > 0 || /\b(json\.dump|pickle\.dump|torch\.save|np\.save|shutil\.(copy|move)|os\.(remove|rename|makedirs))\b/.test(code)) {
    return facts("change", "implementation", { writes: all });
  }
  return facts("explore", "inspection");
}
