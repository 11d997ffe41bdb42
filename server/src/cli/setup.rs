//! `code-evolver setup`: the venv, then the embedded models, with a progress display.

use super::{CliResult, Global};
use crate::failed;
use crate::setup::models::{self, Purpose};
use crate::setup::{SetupEvent, venv};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, Default)]
pub struct SetupOptions {
    pub no_powerful: bool,
    pub test_models: bool,
    pub no_models: bool,
}

pub async fn run(global: &Global, options: SetupOptions) -> CliResult {
    let data = global.data_dir();
    let tty = std::io::stderr().is_terminal();
    let bar: Mutex<Option<(String, ProgressBar)>> = Mutex::new(None);
    let last_percent: Mutex<(String, u64)> = Mutex::new((String::new(), 0));
    let progress = |event: SetupEvent| match event {
        SetupEvent::Step(text) => {
            if let Some((_, b)) = bar.lock().unwrap().take() {
                b.finish_and_clear();
            }
            println!("[setup] {text}");
        }
        SetupEvent::Bytes { label, done, total } => {
            if tty {
                let mut guard = bar.lock().unwrap();
                if guard.as_ref().map(|(l, _)| l != &label).unwrap_or(true) {
                    let b = ProgressBar::new(total);
                    b.set_style(
                        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                            .unwrap()
                            .progress_chars("=> "),
                    );
                    b.set_message(label.clone());
                    *guard = Some((label, b));
                }
                if let Some((_, b)) = guard.as_ref() {
                    b.set_position(done);
                }
            } else if let Some(percent) = (done * 100).checked_div(total) {
                // Without a terminal, a line every 25%.
                let mut last = last_percent.lock().unwrap();
                if last.0 != label || percent / 25 != last.1 / 25 {
                    println!("[setup] {label}: {percent}%");
                }
                *last = (label, percent);
            }
        }
    };
    let python = match venv::ensure(&data, &progress) {
        Ok(p) => p,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    if options.no_models {
        println!("[setup] done (models skipped)");
        return Ok(());
    }
    for spec in models::catalogue() {
        let wanted = match spec.purpose {
            Purpose::Fast | Purpose::Embeddings => true,
            Purpose::Powerful => !options.no_powerful,
            Purpose::Test => options.test_models,
        };
        if !wanted {
            continue;
        }
        if let Err(e) = models::install(&data, &python, &spec, &progress) {
            return Err(failed!("{e}"));
        }
    }
    warm_prompts(global).await;
    println!("[setup] done: models in {}", models::models_dir(&data).display());
    Ok(())
}

/// Decodes the prompts every evolve starts with on the embedded models that serve them, so that
/// the first evolve after setup finds their prefixes saved. Never fails the setup: a model that
/// cannot load now says so again, with its cause, on the first evolve.
async fn warm_prompts(global: &Global) {
    // An invalid config was printed by `config()`; the first evolve says it again.
    let Ok(config) = global.config() else {
        println!("[setup] prompts not warmed: the configuration did not load");
        return;
    };
    let router = match crate::llm::Router::new(&config, &global.data_dir()) {
        Ok(r) => r,
        Err(e) => {
            println!("[setup] prompts not warmed: {e}");
            return;
        }
    };
    let _ = router.check_reachability().await;
    for result in crate::pipeline::warm::warm_prompts(&router, &config).await {
        match result {
            Ok(w) => println!("[setup] warmed the {} prompt on {} ({} ms)", w.stage, w.model, w.ms),
            Err(e) => println!("[setup] prompt not warmed: {e}"),
        }
    }
}
