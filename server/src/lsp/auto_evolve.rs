//! The auto-evolution loop of the language server: when `auto_evolution.enabled`, every
//! `check_interval_minutes` the due nodes are re-evolved as one background job (progress shown,
//! cancellable like any job, never holding a request). The engine decides what is due and what
//! is kept; this only schedules it.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{MessageType, Uri};

use super::{State, jobs};

/// The first check waits this long after start (the editor is busy opening files then).
const FIRST_CHECK: Duration = Duration::from_secs(60);

pub fn start(state: Arc<State>) {
    tokio::spawn(async move {
        let mut wait = FIRST_CHECK;
        loop {
            tokio::time::sleep(wait).await;
            let Ok(engine) = state.engine().await else { return };
            let settings = engine.config().auto_evolution.clone();
            if !settings.enabled {
                return;
            }
            wait = Duration::from_secs_f64(settings.check_interval_minutes * 60.0);
            // The check reads the whole registry (334 ms at 10,000 nodes): off the async workers
            // that serve requests.
            let checking = engine.clone();
            let due = match tokio::task::spawn_blocking(move || checking.due_nodes()).await {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => {
                    state.client.log_message(MessageType::WARNING, format!("auto-evolution: {e}")).await;
                    continue;
                }
                Err(e) => {
                    state.client.log_message(MessageType::WARNING, format!("auto-evolution: {e}")).await;
                    continue;
                }
            };
            if due.is_empty() {
                continue;
            }
            let uri: Uri = "untitled:code-evolver-auto-evolution".parse().expect("a valid URI");
            let title = format!("auto-evolution: {} node(s) due", due.len());
            let (ended, wait_for_end) = tokio::sync::oneshot::channel::<()>();
            let log = state.clone();
            jobs::start(
                &state,
                &uri,
                title,
                move || {
                    let _ = ended.send(());
                },
                move |job| async move {
                    let mut lines = Vec::new();
                    for d in &due {
                        if job.cancel.is_cancelled() {
                            break;
                        }
                        match engine.reevolve(d, job.events.clone(), job.cancel.clone()).await {
                            Ok(r) => lines.push(format!("{} v{}: {}", r.node_id, r.from_version, r.outcome)),
                            Err(e) => lines.push(format!("{}: {e}", d.node_id)),
                        }
                    }
                    let message = lines.join("; ");
                    log.client.log_message(MessageType::INFO, format!("auto-evolution: {message}")).await;
                    Ok(serde_json::json!({ "message": message }))
                },
            );
            // One auto-evolution job at a time: the next check waits for this one to end.
            let _ = wait_for_end.await;
        }
    });
}
