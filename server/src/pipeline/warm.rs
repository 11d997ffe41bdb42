//! Warms the prompts every evolve starts with. The embedded backend saves a stage's decoded
//! prompt prefix (its fixed system prompt) on disk the first time the stage runs and loads it in
//! later processes; without this, the first evolve after `setup` decodes the 1.5B overseer's
//! whole plan prompt (≈ 780 tokens, ≈ 8 s on 2 cores). `setup` calls this once per install.
//!
//! The sample task is deliberately not one a user is likely to type first: only the stage's fixed
//! part is meant to be reused, not a task's own words.

use super::prompts;
use super::spec::{Classification, Complexity, TaskKind};
use crate::config::{BackendKind, Config, Role};
use crate::llm::Router;
use crate::llm::budget::Budget;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SAMPLE_TASK: &str = "reverse the order of the words in a sentence";

/// One stage's prompt, decoded on the model that serves it.
#[derive(Debug, Clone)]
pub struct Warmed {
    pub stage: &'static str,
    pub model: String,
    pub ms: u64,
}

/// The stages on every evolve's path (classify, plan), as they will be sent, each decoded once
/// with one token generated. Roles served by a model server are skipped (Ollama keeps its own
/// cache); a failure only costs the first evolve its speed, so it is returned, not raised.
pub async fn warm_prompts(router: &Router, config: &Config) -> Vec<Result<Warmed, String>> {
    let sample = Classification {
        kind: TaskKind::Algorithm,
        complexity: Complexity::Simple,
        reason: String::new(),
        by_keywords: false,
    };
    let tools = prompts::tools_text(&config.tools);
    let stages = [
        ("classify", Role::Classifier, super::classify::request(SAMPLE_TASK)),
        ("plan", Role::Overseer, super::plan::request(SAMPLE_TASK, &sample, &tools, None, None, 0)),
    ];
    let budget = Budget::new(u64::MAX / 4, Duration::from_secs(600));
    let cancel = CancellationToken::new();
    let mut warmed = Vec::new();
    for (stage, role, mut request) in stages {
        let route = router.route(role);
        if route.kind != BackendKind::Embedded {
            continue;
        }
        request.max_tokens = Some(1);
        let started = Instant::now();
        let result = router
            .chat(role, None, request, &budget, &cancel)
            .await
            .map(|_| Warmed { stage, model: route.model.clone(), ms: started.elapsed().as_millis() as u64 })
            .map_err(|e| format!("{stage} on {}: {e}", route.model));
        warmed.push(result);
    }
    warmed
}
