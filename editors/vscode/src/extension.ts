// Code Evolver for VS Code: starts `code-evolver lsp` over stdio and gives its capabilities
// commands, a status bar item, an output channel and a report view. Everything it does goes through
// LSP and the server's commands; code actions, diagnostics, hover and code lens come from the server.

import type { JobDone, JobStarted, StageEvent, StatusResult } from "./protocol";
import * as fs from "fs";
import * as os from "os";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import { findServer } from "./discovery";
import { Report, reportHtml } from "./report";
import { toServerSettings } from "./settings";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let running = 0;
let backendLabel = "";
let lastReport: Report | undefined;

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function settings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("codeEvolver");
  return toServerSettings({
    get: <T>(key: string) => config.get<T>(key),
    isSet: (key: string) => {
      const inspected = config.inspect(key);
      return (
        inspected !== undefined &&
        (inspected.globalValue !== undefined ||
          inspected.workspaceValue !== undefined ||
          inspected.workspaceFolderValue !== undefined)
      );
    },
  });
}

function showStatus(text?: string): void {
  if (running > 0) {
    status.text = `$(sync~spin) Code Evolver: ${text ?? "working"}`;
    status.tooltip = "Click to cancel the running evolve";
    status.command = "code-evolver.cancel";
  } else {
    status.text = `$(beaker) Code Evolver${backendLabel ? `: ${backendLabel}` : ""}`;
    status.tooltip = "Code Evolver — click for status";
    status.command = "code-evolver.status";
  }
  status.show();
}

async function refreshBackend(): Promise<void> {
  if (!client) return;
  try {
    const result = (await client.sendRequest(ExecuteCommandRequest.type, {
      command: "codeEvolver.status",
      arguments: [],
    })) as { roles?: { role: string; model: string; backend: string }[] };
    const generator = result?.roles?.find((r) => r.role === "generator.fast");
    backendLabel = generator ? `${generator.model} @ ${generator.backend}` : "";
  } catch (e) {
    output.appendLine(`status: ${String(e)}`);
  }
  showStatus();
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("codeEvolver");
  const found = findServer({
    setting: config.get<string>("server.path") ?? "",
    pathEnv: process.env.PATH ?? "",
    extensionDir: context.extensionPath,
    home: os.homedir(),
    isExecutable,
    platform: process.platform,
  });
  if (!found.ok) {
    output.appendLine(found.message);
    void vscode.window.showErrorMessage(found.message);
    return;
  }
  output.appendLine(`server: ${found.path} (from ${found.source})`);
  const args = [...(config.get<string[]>("server.extraArgs") ?? []), "lsp"];
  const serverOptions: ServerOptions = {
    run: { command: found.path, args, transport: TransportKind.stdio },
    debug: { command: found.path, args, transport: TransportKind.stdio },
  };
  let restarts = 0;
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel: output,
    initializationOptions: settings(),
    middleware: { executeCommand: (command, args, next) => throughServer(command, args, next) },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        // The server's jobs died with it.
        pendingJobs.clear();
        running = 0;
        showStatus();
        restarts += 1;
        if (restarts > 5) {
          return { action: CloseAction.DoNotRestart, message: "The code-evolver server crashed 5 times; not restarting. See the Code Evolver output." };
        }
        return { action: CloseAction.Restart, message: "The code-evolver server stopped unexpectedly; restarting it." };
      },
    },
  };
  client = new LanguageClient("codeEvolver", "Code Evolver", serverOptions, clientOptions);
  client.onNotification("codeEvolver/stage", onStage);
  client.onNotification("codeEvolver/jobDone", onJobDone);
  await client.start();
  void refreshBackend();
}

const LONG_COMMANDS = new Set(["codeEvolver.evolve", "codeEvolver.optimize", "codeEvolver.writeTests"]);

/** Model calls and tokens per running job, for the status bar. */
const jobCalls = new Map<string, { calls: number; tokens: number }>();

/** `codeEvolver/stage`: one engine event; the typed detail, when there is one, is rendered here. */
function onStage(event: StageEvent): void {
  const detail = event.detail;
  if (detail?.type === "model_call") {
    const seen = jobCalls.get(event.token) ?? { calls: 0, tokens: 0 };
    seen.calls += 1;
    seen.tokens += detail.prompt_tokens + detail.completion_tokens;
    jobCalls.set(event.token, seen);
    output.appendLine(`[${event.stage}]   ${detail.role}: ${detail.model} @ ${detail.backend}, ${detail.prompt_tokens}+${detail.completion_tokens} tokens, ${(detail.duration_ms / 1000).toFixed(1)} s`);
  } else if (detail?.type === "attempt") {
    output.appendLine(`[${event.stage}] attempt ${detail.number}/${detail.of}: ${detail.model} (${detail.role}, temperature ${detail.temperature.toFixed(1)})`);
  } else if (detail?.type === "verdict") {
    output.appendLine(`[${event.stage}] ${detail.abnormal ? `the test run ${detail.abnormal}` : `${detail.passed}/${detail.total} tests pass`}`);
  } else {
    output.appendLine(`[${event.stage}] ${event.level === "warning" ? "! " : ""}${event.message}`);
  }
  const calls = jobCalls.get(event.token);
  showStatus(`${event.stage} ${event.percent}%${calls ? ` · ${calls.calls} model call${calls.calls === 1 ? "" : "s"}` : ""}`);
}

/** Jobs started from this window that have not ended yet. */
const pendingJobs = new Set<string>();

function onJobDone(done: JobDone): void {
  jobCalls.delete(done.token);
  if (!pendingJobs.delete(done.token)) return;
  running = pendingJobs.size;
  showStatus();
  if (done.ok) {
    if (done.result?.report) lastReport = done.result.report as Report;
    void vscode.window.showInformationMessage(`Code Evolver: ${done.message}`);
  }
  // Failures and cancels: the server has shown them already (window/showMessage).
}

/** Every server command (from the palette, a code action or a code lens) passes here: long ones
 * answer at once with a job token and count in the status bar until `codeEvolver/jobDone`;
 * results are shown, errors too (except a cancel). */
async function throughServer(command: string, args: unknown[], next: (command: string, args: unknown[]) => unknown): Promise<unknown> {
  const long = LONG_COMMANDS.has(command);
  try {
    const result = (await next(command, args)) as (Partial<JobStarted> & { markdown?: string }) | undefined;
    if (long && result?.token) {
      pendingJobs.add(result.token);
      running = pendingJobs.size;
      showStatus("starting");
    }
    if (command === "codeEvolver.showReport" && result?.markdown) {
      lastReport = result as Report;
      await showReport();
    }
    return result;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!/cancel/i.test(message)) {
      void vscode.window.showErrorMessage(`Code Evolver: ${message}`);
    }
    return undefined;
  }
}

/** Runs a server command (it goes through `throughServer`). */
async function run(command: string, argument: unknown): Promise<unknown> {
  if (!client) {
    void vscode.window.showErrorMessage("The code-evolver server is not running (see the Code Evolver output).");
    return undefined;
  }
  return vscode.commands.executeCommand(command, argument);
}

function editorTarget(): { editor: vscode.TextEditor; uri: string } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) {
    void vscode.window.showErrorMessage("Code Evolver: open a Python file first.");
    return undefined;
  }
  return { editor, uri: client.code2ProtocolConverter.asUri(editor.document.uri) };
}

async function evolveTask(): Promise<void> {
  const target = editorTarget();
  if (!target || !client) return;
  // Unsaved typing must reach the server before it reads the comment.
  const range = client.code2ProtocolConverter.asRange(target.editor.selection);
  await run("codeEvolver.evolve", { uri: target.uri, range });
}

async function functionCommand(command: string): Promise<void> {
  const target = editorTarget();
  if (!target) return;
  await run(command, { uri: target.uri, line: target.editor.selection.active.line });
}

async function showStatusDocument(): Promise<void> {
  if (!client) return;
  const result = (await run("codeEvolver.status", {})) as StatusResult | undefined;
  if (!result) return;
  const lines = [
    `# Code Evolver ${result.version}`,
    "",
    `Data: ${result.data_dir}`,
    "",
    "## Roles",
    "",
    ...result.roles.map((r) => `- ${r.role}: ${r.model} @ ${r.backend} (${r.kind})`),
    "",
    "## Memory",
    "",
    `- store: ${result.memory.store}`,
    `- artifacts: ${result.memory.artifacts ?? 0}`,
    `- embedding: ${result.memory.embedding ?? "none yet"}`,
    ...(result.memory.error ? [`- error: ${result.memory.error}`] : []),
    "",
    `Registry: ${result.registry.nodes} nodes; running jobs: ${result.jobs.length}`,
  ];
  const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: lines.join("\n") });
  await vscode.window.showTextDocument(doc, { preview: true });
}

async function showReport(): Promise<void> {
  let report = lastReport;
  if (!report && client) {
    report = (await client.sendRequest(ExecuteCommandRequest.type, { command: "codeEvolver.showReport", arguments: [] }).then(
      (r) => r as Report,
      () => undefined,
    ));
  }
  if (!report) {
    void vscode.window.showInformationMessage("Code Evolver: no evolve has finished yet in this session.");
    return;
  }
  const panel = vscode.window.createWebviewPanel("codeEvolverReport", `Evolve report: ${report.node_id ?? ""}`, vscode.ViewColumn.Beside, {});
  const nonce = Math.random().toString(36).slice(2);
  panel.webview.html = reportHtml(report, nonce);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Code Evolver");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  context.subscriptions.push(output, status);
  showStatus();
  context.subscriptions.push(
    vscode.commands.registerCommand("code-evolver.evolveTask", evolveTask),
    vscode.commands.registerCommand("code-evolver.evolveFunction", () => functionCommand("codeEvolver.optimize")),
    vscode.commands.registerCommand("code-evolver.writeTests", () => functionCommand("codeEvolver.writeTests")),
    vscode.commands.registerCommand("code-evolver.cancel", async () => {
      const result = (await client?.sendRequest(ExecuteCommandRequest.type, { command: "codeEvolver.cancel", arguments: [] })) as
        | { cancelled?: unknown[] }
        | undefined;
      const n = result?.cancelled?.length ?? 0;
      void vscode.window.showInformationMessage(n === 0 ? "Code Evolver: nothing is running." : `Code Evolver: cancelled ${n} job(s).`);
    }),
    vscode.commands.registerCommand("code-evolver.status", showStatusDocument),
    vscode.commands.registerCommand("code-evolver.showReport", showReport),
    vscode.commands.registerCommand("code-evolver.restartServer", async () => {
      await client?.stop();
      client = undefined;
      await startClient(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("codeEvolver")) return;
      if (event.affectsConfiguration("codeEvolver.server")) {
        await client?.stop();
        client = undefined;
        await startClient(context);
        return;
      }
      await client?.sendNotification("workspace/didChangeConfiguration", { settings: settings() });
      void refreshBackend();
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
