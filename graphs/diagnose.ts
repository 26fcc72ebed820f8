import { END, START, StateGraph } from "@langchain/langgraph";
import { buildTree } from "../nodes/buildTree.js";
import { critique } from "../nodes/critique.js";
import { discover } from "../nodes/discover.js";
import { evolveExtractor } from "../nodes/evolveExtractor.js";
import { extract } from "../nodes/extract.js";
import { fingerprint } from "../nodes/fingerprint.js";
import { localize } from "../nodes/localize.js";
import { planReplay } from "../nodes/planReplay.js";
import { remember } from "../nodes/remember.js";
import { validate } from "../nodes/validate.js";
import { DiagnoseState, MAX_EVOLVE_ATTEMPTS, type DiagnoseStateType } from "./state.js";

/** known format → extract; unknown → synthesize an extractor first. */
const routeFormat = (state: DiagnoseStateType) => (state.extractorId ? "known" : "unknown");

/** A poor extraction goes back to extractor evolution, a bounded number of times. */
const routeValidation = (state: DiagnoseStateType) =>
  state.validation?.ok || state.evolveAttempts >= MAX_EVOLVE_ATTEMPTS ? "ok" : "poor";

/** The critic either accepted (a diagnosis exists) or sent the proposal back. */
const routeCritique = (state: DiagnoseStateType) => (state.diagnosis ? "accepted" : "rejected");

export const diagnoseGraph = new StateGraph(DiagnoseState)
  .addNode("discover", discover)
  .addNode("fingerprint", fingerprint)
  .addNode("evolveExtractor", evolveExtractor)
  .addNode("extract", extract)
  .addNode("validate", validate)
  .addNode("buildTree", buildTree)
  .addNode("localize", localize)
  .addNode("critique", critique)
  .addNode("planReplay", planReplay)
  .addNode("remember", remember)
  .addEdge(START, "discover")
  .addEdge("discover", "fingerprint")
  .addConditionalEdges("fingerprint", routeFormat, { known: "extract", unknown: "evolveExtractor" })
  .addEdge("evolveExtractor", "extract")
  .addEdge("extract", "validate")
  .addConditionalEdges("validate", routeValidation, { ok: "buildTree", poor: "evolveExtractor" })
  .addEdge("buildTree", "localize")
  .addEdge("localize", "critique")
  .addConditionalEdges("critique", routeCritique, { accepted: "planReplay", rejected: "localize" })
  .addEdge("planReplay", "remember")
  .addEdge("remember", END);

/** The compiled graph, as served by `langgraph.json`. */
export const graph = diagnoseGraph.compile();
