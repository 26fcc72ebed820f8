import type { EvalResult } from "./run.js";
export async function writeEvalReport(_file: string, _result: EvalResult): Promise<void> {}
