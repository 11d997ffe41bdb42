//! `code-evolver lsp`: the language server over stdio. A thin adapter: it finds what the cursor is
//! on, runs the engine (`pipeline::Evolver`, which knows no LSP type) and turns its events into
//! `$/progress`, its results into `workspace/applyEdit`, linter findings into diagnostics.
//! One file per LSP method in `methods/`.

mod auto_evolve;
pub(crate) mod document;
mod edits;
mod jobs;
mod lint;
pub(crate) mod locate;
mod methods;
pub(crate) mod protocol;
mod report;
mod settings;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::global::Global;
use crate::pipeline::Evolver;
use document::{Document, Encoding};

/// The commands the server executes (`workspace/executeCommand`).
pub mod commands {
    pub const EVOLVE: &str = "codeEvolver.evolve";
    pub const OPTIMIZE: &str = "codeEvolver.optimize";
    pub const WRITE_TESTS: &str = "codeEvolver.writeTests";
    pub const CANCEL: &str = "codeEvolver.cancel";
    pub const STATUS: &str = "codeEvolver.status";
    pub const SHOW_REPORT: &str = "codeEvolver.showReport";
    pub const ALL: [&str; 6] = [EVOLVE, OPTIMIZE, WRITE_TESTS, CANCEL, STATUS, SHOW_REPORT];
}

/// What the client said it can do, read once at `initialize`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFlags {
    pub work_done_progress: bool,
    pub document_changes: bool,
    pub pull_diagnostics: bool,
}

/// A running evolve / optimize / write-tests job.
pub struct Job {
    pub title: String,
    pub uri: Uri,
    pub cancel: CancellationToken,
}

/// What the editor session holds and changes: behind one lock in `State`. Handlers take a
/// snapshot (`document`, `encoding`, `flags`) or make one short change through `session()`;
/// none holds it across an `.await`.
#[derive(Default)]
pub struct Session {
    /// Where config and data come from; `initialize` adds the workspace root.
    pub global: Global,
    pub documents: HashMap<Uri, Document>,
    pub encoding: Encoding,
    pub flags: ClientFlags,
    /// The editor's settings (initializationOptions, then didChangeConfiguration), a config layer.
    pub editor_settings: serde_json::Value,
    pub jobs: HashMap<String, Job>,
    /// (document, "Evolve: task") of the evolves running now: one per task comment.
    pub running_evolves: std::collections::HashSet<(Uri, String)>,
    /// The last configuration error shown, so that a burst of bad changes shows it once.
    pub last_config_error: Option<String>,
    /// Diagnostics last computed per document, with the version they belong to.
    pub diagnostics: HashMap<Uri, (i32, Vec<Diagnostic>)>,
    /// The last finished job's report (for `codeEvolver.showReport`).
    pub last_report: Option<serde_json::Value>,
    /// Documents whose syntax tree is being brought up to date.
    pub parsing: std::collections::HashSet<Uri>,
}

/// Everything the handlers share: the client, the session, the engine (built on first use), the
/// job counters and the lint queue.
pub struct State {
    pub client: Client,
    session: Mutex<Session>,
    /// The engine, built on first use and again after the settings change.
    pub engine: tokio::sync::Mutex<Option<Arc<Evolver>>>,
    /// Long jobs running (the cap is checked and taken in one step).
    pub active_jobs: std::sync::atomic::AtomicUsize,
    pub next_job: AtomicU64,
    /// Lint rounds: debounced, one per document, a global cap.
    pub lints: lint::LintQueue,
}

impl State {
    /// The session, locked for one short read or change (never across an `.await`).
    pub fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn encoding(&self) -> Encoding {
        self.session().encoding
    }

    pub fn flags(&self) -> ClientFlags {
        self.session().flags
    }

    /// A copy of an open document.
    pub fn document(&self, uri: &Uri) -> Option<Document> {
        self.session().documents.get(uri).cloned()
    }

    /// The engine on the current configuration (user, workspace, environment and editor layers).
    pub async fn engine(&self) -> std::result::Result<Arc<Evolver>, String> {
        let mut engine = self.engine.lock().await;
        if let Some(e) = engine.as_ref() {
            return Ok(e.clone());
        }
        let global = self.session().global.clone();
        let config = settings::load_config(&global, &self.session().editor_settings.clone())?;
        let evolver = Arc::new(Evolver::new(config, &global.data_dir()).map_err(|e| e.to_string())?);
        *engine = Some(evolver.clone());
        // Which backends answer decides where roles go; learn it once, off the request path.
        let (client, probe) = (self.client.clone(), evolver.clone());
        tokio::spawn(async move {
            for backend in probe.router().check_reachability().await {
                let fallback =
                    probe.config().backends.get(&backend).and_then(|b| b.fallback.clone()).unwrap_or_default();
                client
                    .log_message(
                        MessageType::INFO,
                        format!("{backend} cannot be reached: the {fallback} backend serves every role that uses it"),
                    )
                    .await;
            }
        });
        Ok(evolver)
    }

    /// Drops the engine so that the next request builds one on the new settings (running jobs
    /// keep theirs).
    pub async fn reset_engine(&self) {
        *self.engine.lock().await = None;
    }

    pub async fn show_error(&self, message: impl Into<String>) {
        self.client.show_message(MessageType::ERROR, message.into()).await;
    }
}

pub struct EvolverServer {
    state: Arc<State>,
}

impl LanguageServer for EvolverServer {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        methods::initialize::handle(&self.state, params).await
    }

    async fn initialized(&self, _: InitializedParams) {
        // A bad configuration or a missing Python is said at once, not at the first request.
        match self.state.engine().await {
            Ok(engine) => {
                if engine.config().auto_evolution.enabled {
                    auto_evolve::start(self.state.clone());
                }
                self.state.client.log_message(MessageType::INFO, "code-evolver language server ready").await
            }
            Err(e) => self.state.show_error(format!("code-evolver cannot start its engine: {e}")).await,
        }
    }

    async fn shutdown(&self) -> Result<()> {
        for job in self.state.session().jobs.values() {
            job.cancel.cancel();
        }
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        methods::did_open::handle(&self.state, params).await
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        methods::did_change::handle(&self.state, params).await
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        methods::did_save::handle(&self.state, params).await
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        methods::did_close::handle(&self.state, params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        methods::code_action::handle(&self.state, params).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        methods::execute_command::handle(&self.state, params).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        methods::hover::handle(&self.state, params).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        methods::completion::handle(&self.state, params).await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        methods::code_lens::handle(&self.state, params).await
    }

    async fn diagnostic(&self, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
        methods::diagnostic::handle(&self.state, params).await
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        methods::did_change_configuration::handle(&self.state, params).await
    }
}

impl EvolverServer {
    async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        methods::work_done_progress_cancel::handle(&self.state, params).await
    }
}

/// Serves LSP on stdin/stdout until the client exits, stdin closes, or SIGTERM/SIGINT comes;
/// then cancels every job and returns the exit code (0 only after `shutdown`, as LSP says).
/// Child processes go with the server: the jailed runners die with their parent (bubblewrap's
/// --die-with-parent) and linters get SIGKILL when it exits (PR_SET_PDEATHSIG).
pub async fn serve_stdio(global: Global) -> i32 {
    let shared: Arc<std::sync::OnceLock<Arc<State>>> = Arc::default();
    let slot = shared.clone();
    let (service, socket) = LspService::build(move |client| {
        let state = Arc::new(State {
            client,
            session: Mutex::new(Session { global, ..Session::default() }),
            engine: tokio::sync::Mutex::new(None),
            active_jobs: std::sync::atomic::AtomicUsize::new(0),
            next_job: AtomicU64::new(1),
            lints: lint::LintQueue::default(),
        });
        let _ = slot.set(state.clone());
        EvolverServer { state }
    })
    .custom_method("window/workDoneProgress/cancel", EvolverServer::work_done_progress_cancel)
    .finish();
    let (input, output, lifecycle, writer) = transport::wrap(tokio::io::stdin(), tokio::io::stdout());
    // Long jobs answer at once and run in the background; the level bounds the short requests
    // (hover, code action, diagnostics pulls) served at once.
    let serve = Server::new(input, output, socket).concurrency_level(64).serve(service);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let signalled = async {
        match terminate.as_mut() {
            Some(t) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(serve);
    let by_signal = tokio::select! {
        _ = &mut serve => false,
        _ = signalled => true,
        // The framework waits for requests in flight (an evolve) before it returns; the client
        // is gone, so they are cancelled and given a moment to answer, not minutes.
        _ = lifecycle.gone.notified() => {
            if let Some(state) = shared.get() {
                for job in state.session().jobs.values() {
                    job.cancel.cancel();
                }
            }
            let _ = tokio::time::timeout(std::time::Duration::from_millis(500), &mut serve).await;
            false
        }
    };
    if let Some(state) = shared.get() {
        for job in state.session().jobs.values() {
            job.cancel.cancel();
        }
    }
    // The last replies (the shutdown answer) reach the client before the process ends.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), writer).await;
    if lifecycle.shutdown.load(Ordering::SeqCst) || by_signal { 0 } else { 1 }
}

/// A fresh job token ("code-evolver/N").
/// Documents up to this size are parsed in the handler that changes them (under 5 ms); larger
/// ones off the request path.
pub(crate) const INLINE_PARSE_BYTES: usize = 256 * 1024;

/// Brings the document's syntax tree up to its text, off the async workers: parse a snapshot
/// (reusing the edited tree), store it if the text has not changed meanwhile, else go again. One
/// refresh per document runs at a time; a change during it is picked up by its next round.
pub(crate) fn refresh_tree(state: &Arc<State>, uri: &Uri) {
    if !state.session().parsing.insert(uri.clone()) {
        return;
    }
    let (state, uri) = (state.clone(), uri.clone());
    tokio::task::spawn_blocking(move || {
        loop {
            // Deciding to stop and leaving `parsing` happen under one lock, so that a change
            // made meanwhile either is seen here or starts a refresh of its own.
            let doc = {
                let mut session = state.session();
                match session.documents.get(&uri).filter(|d| d.needs_parse()).cloned() {
                    Some(doc) => doc,
                    None => {
                        session.parsing.remove(&uri);
                        return;
                    }
                }
            };
            let Some(tree) = doc.reparsed() else {
                state.session().parsing.remove(&uri);
                return;
            };
            if let Some(current) = state.session().documents.get_mut(&uri) {
                current.set_tree(doc.version, tree);
            }
        }
    });
}

pub(crate) fn next_token(state: &State) -> String {
    format!("code-evolver/{}", state.next_job.fetch_add(1, Ordering::Relaxed))
}
