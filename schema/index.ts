export * from "./step.js";
export * from "./trace.js";
export * from "./diagnosis.js";
export * from "./replay.js";
