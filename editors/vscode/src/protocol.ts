/**
 * The code-evolver server's commands and notifications, as the server declares them in
 * server/src/lsp/protocol.rs (a Rust test checks that every field it sends is named here).
 */

/** Where `codeEvolver.evolve` / `optimize` / `writeTests` work: a range, a position or a line. */
export interface TargetArgs {
  uri: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  position?: { line: number; character: number };
  line?: number;
}

/** `codeEvolver.cancel`: no token cancels every job. */
export interface CancelArgs {
  token?: string;
}

/** `codeEvolver.showReport`: a node's report, or the last job's. */
export interface ShowReportArgs {
  node_id?: string;
}

/** What a long command answers at once: the job runs on in the server. */
export interface JobStarted {
  token: string;
  title: string;
  started: boolean;
}

/** `codeEvolver/jobDone`: how a long job ended. */
export interface JobDone {
  token: string;
  title: string;
  ok: boolean;
  cancelled: boolean;
  message: string;
  result: { message?: string; node_id?: string; version?: number; report?: unknown } | null;
  error: string | null;
  error_kind: "stopped" | "document_closed" | "no_engine" | "engine" | "edit" | "unsupported" | "file" | null;
}

/** The typed detail of an engine event. */
export type Detail =
  | { type: "model_call"; role: string; model: string; backend: string; endpoint: string; prompt_tokens: number; completion_tokens: number; duration_ms: number }
  | { type: "attempt"; number: number; of: number; role: string; model: string; backend: string; temperature: number }
  | { type: "verdict"; passed: number; total: number; wall_ms: number; abnormal: string | null }
  | { type: "classified"; kind: string; complexity: string; by_keywords: boolean }
  | { type: "spec"; signature: string; cases: number }
  | { type: "saved"; node_id: string; version: number }
  | { type: "step"; number: number; of: number; name: string; task: string };

/** `codeEvolver/stage`: one engine event of a job. */
export interface StageEvent {
  token: string;
  stage: string;
  percent: number;
  level: "info" | "model" | "warning";
  message: string;
  detail: Detail | null;
}

/** A job in `codeEvolver.cancel`'s answer and in the status. */
export interface JobRef {
  token: string;
  title: string;
  uri?: string;
}

/** `codeEvolver.cancel`'s answer. */
export interface CancelResult {
  cancelled: JobRef[];
}

/** A role's route in the status. */
export interface RoleRoute {
  role: string;
  backend: string;
  kind: string;
  model: string;
  endpoints: string[];
}

/** `codeEvolver.status`'s answer. */
export interface StatusResult {
  version: string;
  data_dir: string;
  roles: RoleRoute[];
  registry: { nodes: number };
  memory: {
    store: string;
    artifacts?: number;
    embedding?: string;
    error?: string;
  };
  jobs: JobRef[];
}
