/**
 * Errors as types (mini-SWE-agent style): the CLI maps each to an exit code and a one-line message.
 */

/** The run could not be analyzed (unreadable, truncated, binary, unknown format…). Exit code 1. */
export class RunError extends Error {
  override name = "RunError";
}

/** The command line was wrong. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
