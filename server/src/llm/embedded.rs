//! The embedded backend: GGUF models run in process by llama.cpp (llama-cpp-2, no OpenMP). Each
//! model is loaded once and shared; calls are queued (one generation at a time in the process);
//! every stage's JSON schema becomes a grammar so the answer always parses; generation stops at
//! end-of-generation, at the token limit, and when the caller goes away (cancellation).

use super::{Backend, ChatRequest, Completion, Endpoint, LlmError, Message};
use async_trait::async_trait;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The embedded models' names (files in the models dir); `setup` installs them under these.
pub const FAST: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";
pub const POWERFUL: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m";

/// llama.cpp's process-wide state, initialised once, its logging silenced (it writes to stderr).
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| LlmError::Config(format!("llama.cpp did not start: {e}")))
}

pub struct LoadedModel {
    pub model: LlamaModel,
    template: Option<LlamaChatTemplate>,
    pub path: PathBuf,
    pub load_ms: u64,
}

/// Generation settings of the embedded backend.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    pub models_dir: PathBuf,
    pub threads: i32,
    pub context: u32,
}

/// Cheap to clone: clones share the loaded models.
#[derive(Clone)]
pub struct Embedded {
    inner: Arc<Inner>,
}

struct Inner {
    settings: EmbeddedSettings,
    loaded: Mutex<HashMap<PathBuf, Arc<LoadedModel>>>,
}

/// Sets the flag when dropped: a cancelled or timed-out call stops its generation loop.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Embedded {
    pub fn new(settings: EmbeddedSettings) -> Self {
        Embedded { inner: Arc::new(Inner { settings, loaded: Mutex::new(HashMap::new()) }) }
    }

    pub fn settings(&self) -> &EmbeddedSettings {
        &self.inner.settings
    }

    /// `name` is a file in the models dir (with or without `.gguf`) or a path to a GGUF file. When
    /// a Qwen2.5-Coder model of the catalogue is missing, the other one stands in (so
    /// `setup --no-powerful` still works), and the log says so.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, LlmError> {
        if let Some(path) = self.find(name) {
            return Ok(path);
        }
        let stand_in = match name {
            FAST => self.find(POWERFUL),
            POWERFUL => self.find(FAST),
            _ => None,
        };
        if let Some(path) = stand_in {
            tracing::warn!(wanted = name, using = %path.display(), "embedded model not installed; another stands in");
            return Ok(path);
        }
        Err(LlmError::Config(format!(
            "embedded model `{name}` is not installed in {}: run `code-evolver setup`",
            self.settings().models_dir.display()
        )))
    }

    fn find(&self, name: &str) -> Option<PathBuf> {
        let candidates = [
            Path::new(name).to_path_buf(),
            self.settings().models_dir.join(name),
            self.settings().models_dir.join(format!("{name}.gguf")),
        ];
        candidates.into_iter().find(|p| p.is_file() && p.extension().is_some_and(|e| e == "gguf"))
    }

    /// The folder of the sentence model `name` (a folder in the models dir, or a path).
    pub fn sentence_model_dir(&self, name: &str) -> Result<PathBuf, LlmError> {
        let candidates = [Path::new(name).to_path_buf(), self.settings().models_dir.join(name)];
        candidates.into_iter().find(|d| super::sentence::is_sentence_model(d)).ok_or_else(|| {
            LlmError::Config(format!(
                "embedded sentence model `{name}` is not installed in {} (a folder with config.json, \
                 tokenizer.json and model.safetensors): run `code-evolver setup`",
                self.settings().models_dir.display()
            ))
        })
    }

    /// Loads a model once; later calls share it.
    pub fn load(&self, name: &str) -> Result<Arc<LoadedModel>, LlmError> {
        let path = self.resolve(name)?;
        let mut loaded = self.inner.loaded.lock().unwrap();
        if let Some(model) = loaded.get(&path) {
            return Ok(model.clone());
        }
        let started = Instant::now();
        let model = LlamaModel::load_from_file(backend()?, &path, &LlamaModelParams::default())
            .map_err(|e| LlmError::Config(format!("cannot load {}: {e}", path.display())))?;
        let template = model.chat_template(None).ok();
        let entry = Arc::new(LoadedModel {
            model,
            template,
            path: path.clone(),
            load_ms: started.elapsed().as_millis() as u64,
        });
        loaded.insert(path, entry.clone());
        Ok(entry)
    }
}

/// ChatML, which Qwen2.5 and SmolLM2 use, for models whose GGUF carries no template.
fn chatml(messages: &[Message]) -> String {
    let mut text = String::new();
    for m in messages {
        text.push_str(&format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content));
    }
    text.push_str("<|im_start|>assistant\n");
    text
}

fn render_prompt(model: &LoadedModel, messages: &[Message]) -> String {
    if let Some(template) = &model.template {
        let chat: Result<Vec<LlamaChatMessage>, _> =
            messages.iter().map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone())).collect();
        if let Ok(chat) = chat
            && let Ok(text) = model.model.apply_chat_template(template, &chat, true)
        {
            return text;
        }
    }
    chatml(messages)
}

/// One generation's figures, for benchmarks.
#[derive(Debug, Clone, Default)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were already in the context (a shared prefix).
    pub reused_tokens: usize,
    pub completion_tokens: usize,
    pub prompt_ms: f64,
    pub generation_ms: f64,
}

/// Picks the next token. With a grammar, the unconstrained choice is tried first and kept when the
/// grammar allows it (most tokens); only otherwise is the grammar applied to the whole vocabulary.
fn pick(
    ctx: &llama_cpp_2::context::LlamaContext<'_>,
    idx: i32,
    main: &mut LlamaSampler,
    grammar: Option<&mut LlamaSampler>,
) -> LlamaToken {
    let Some(grammar) = grammar else {
        return main.sample(ctx, idx);
    };
    let mut all = ctx.token_data_array_ith(idx);
    all.apply_sampler(main);
    if let Some(token) = all.selected_token() {
        let mut single = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        single.apply_sampler(grammar);
        if single.data[0].logit().is_finite() {
            grammar.accept(token);
            main.accept(token);
            return token;
        }
    }
    let mut all = ctx.token_data_array_ith(idx);
    all.apply_sampler(grammar);
    all.apply_sampler(main);
    let token = all.selected_token().unwrap_or_else(|| all.sample_token_greedy());
    grammar.accept(token);
    main.accept(token);
    token
}

/// Runs one chat completion on a loaded model (blocking).
/// One llama.cpp context per model, kept between generations with the tokens it holds, so a
/// prompt that starts like the previous one (every stage has a fixed system prompt) decodes only
/// what differs.
struct CachedContext {
    ctx: LlamaContext<'static>,
    tokens: Vec<LlamaToken>,
    n_ctx: u32,
    threads: i32,
    _model: Arc<LoadedModel>,
}

// SAFETY: llama.cpp contexts have no thread affinity; every use is serialised by GENERATION and
// the CONTEXTS lock.
unsafe impl Send for CachedContext {}

static CONTEXTS: Mutex<Option<HashMap<PathBuf, CachedContext>>> = Mutex::new(None);

/// A prompt's first tokens name its saved prefix: the same stage (fixed system prompt) on the
/// same model finds the same file.
const PREFIX_KEY_TOKENS: usize = 48;
/// Shorter prompts decode in well under a second: not worth a file.
const PREFIX_MIN_TOKENS: usize = 160;
/// Saved prefixes kept per models folder (each a few MB to a few tens of MB); the least recently
/// used go first.
const PREFIX_FILES_KEPT: usize = 24;

fn prefix_file(settings: &EmbeddedSettings, model: &LoadedModel, tokens: &[LlamaToken]) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    if tokens.len() < PREFIX_MIN_TOKENS {
        return None;
    }
    let mut hash = Sha256::new();
    // The file, not the way to it: data dirs that link one models folder share its prefixes.
    let path = std::fs::canonicalize(&model.path).unwrap_or_else(|_| model.path.clone());
    hash.update(path.to_string_lossy().as_bytes());
    for t in &tokens[..PREFIX_KEY_TOKENS] {
        hash.update(t.0.to_le_bytes());
    }
    let key: String = hash.finalize().iter().take(10).map(|b| format!("{b:02x}")).collect();
    Some(settings.models_dir.join("prefix-cache").join(format!("{key}.state")))
}

/// Saves the context's keys and values for `tokens` (just decoded), and drops the oldest files
/// beyond the limit. Failures only cost speed.
fn save_prefix(ctx: &LlamaContext<'_>, file: &Path, tokens: &[LlamaToken]) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written aside and renamed: a concurrent process never loads half a file.
    let partial = file.with_extension(format!("partial-{}", std::process::id()));
    if ctx.state_seq_save_file(&partial, 0, tokens).is_err() || std::fs::rename(&partial, file).is_err() {
        let _ = std::fs::remove_file(&partial);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "state"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() > PREFIX_FILES_KEPT {
        files.sort();
        for (_, old) in &files[..files.len() - PREFIX_FILES_KEPT] {
            let _ = std::fs::remove_file(old);
        }
    }
}

/// Drops the kept context of every model (benches measure a cold prompt this way).
pub fn forget_prefixes() {
    if let Ok(mut contexts) = CONTEXTS.lock() {
        *contexts = None;
    }
}

pub fn generate(
    model: &Arc<LoadedModel>,
    settings: &EmbeddedSettings,
    request: &ChatRequest,
    stop: &AtomicBool,
) -> Result<(Completion, GenerationStats), String> {
    // One generation at a time in the whole process: llama.cpp's threads spin while waiting, and
    // two generations sharing the cores slow each other down many times over.
    static GENERATION: Mutex<()> = Mutex::new(());
    let _turn = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
    if stop.load(Ordering::Relaxed) {
        return Err("cancelled".into());
    }
    let backend = backend().map_err(|e| e.to_string())?;
    let prompt = render_prompt(model, &request.messages);
    let vocab = model.model.vocab();
    let tokens = vocab.tokenize(prompt.as_bytes(), vocab.should_add_bos(), true);
    let n_ctx = settings.context.min(model.model.n_ctx_train()).max(256);
    let max_new = request.max_tokens.unwrap_or(1024) as usize;
    if tokens.len() + 16 > n_ctx as usize {
        return Err(format!(
            "the prompt has {} tokens; the context holds {n_ctx} (raise backends.<embedded>.context)",
            tokens.len()
        ));
    }
    let max_new = max_new.min(n_ctx as usize - tokens.len());
    let n_batch = 512usize;
    let mut guard = CONTEXTS.lock().unwrap_or_else(|e| e.into_inner());
    let contexts = guard.get_or_insert_with(HashMap::new);
    let fits = |c: &CachedContext| c.n_ctx == n_ctx && c.threads == settings.threads;
    if !contexts.get(&model.path).is_some_and(fits) {
        contexts.remove(&model.path);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch as u32)
            .with_n_threads(settings.threads)
            .with_n_threads_batch(settings.threads);
        let ctx = model.model.new_context(backend, params).map_err(|e| format!("cannot create a context: {e}"))?;
        // SAFETY: the context borrows the model, which lives in the Arc kept beside it in the same
        // entry (declared after it, so dropped after it); the model is never moved out of the Arc.
        let ctx: LlamaContext<'static> = unsafe { std::mem::transmute(ctx) };
        contexts.insert(
            model.path.clone(),
            CachedContext { ctx, tokens: Vec::new(), n_ctx, threads: settings.threads, _model: model.clone() },
        );
    }
    let cached = contexts.get_mut(&model.path).expect("inserted above");
    // The prompt shares a prefix with what the context holds (the stage's fixed system prompt,
    // a retry's whole request): only the rest is decoded. At least the last token is, for its logits.
    let common = cached.tokens.iter().zip(&tokens).take_while(|(a, b)| a == b).count();
    let mut keep = common.min(tokens.len() - 1);
    let trimmed = keep > 0 && cached.ctx.clear_kv_cache_seq(Some(0), Some(keep as u32), None).unwrap_or(false);
    if !trimmed {
        cached.ctx.clear_kv_cache();
        keep = 0;
    }
    // A new process starts cold: the stage's prefix may be on disk from an earlier one.
    let saved = prefix_file(settings, model, &tokens);
    let mut save_after_prompt = false;
    if keep < PREFIX_KEY_TOKENS
        && let Some(file) = &saved
    {
        if file.is_file() {
            cached.ctx.clear_kv_cache();
            keep = 0;
            let loaded = cached.ctx.state_seq_load_file(file, 0, n_ctx as usize);
            if let Err(e) = &loaded {
                tracing::debug!(file = %file.display(), "saved prefix not loaded: {e}");
            }
            if let Ok((loaded, _)) = loaded {
                tracing::debug!(file = %file.display(), tokens = loaded.len(), "saved prefix loaded");
                // Kept by use, not by age: a stage's prefix loaded on every evolve must outlive
                // the one-task prefixes (a code prompt names its function) saved after it.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(file)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                let common = loaded.iter().zip(&tokens).take_while(|(a, b)| a == b).count();
                let usable = common.min(tokens.len() - 1);
                if usable > 0 && cached.ctx.clear_kv_cache_seq(Some(0), Some(usable as u32), None).unwrap_or(false) {
                    keep = usable;
                } else {
                    cached.ctx.clear_kv_cache();
                }
            }
        } else {
            save_after_prompt = true;
        }
    }
    // Until this generation ends well, the cache's content is unknown.
    cached.tokens.clear();
    let ctx = &mut cached.ctx;

    let mut stats = GenerationStats { prompt_tokens: tokens.len(), reused_tokens: keep, ..Default::default() };
    let started = Instant::now();
    let mut batch = LlamaBatch::new(n_batch, 1);
    let last_index = tokens.len() - 1;
    for (chunk_index, chunk) in tokens[keep..].chunks(n_batch).enumerate() {
        batch.clear();
        for (i, token) in chunk.iter().enumerate() {
            let pos = keep + chunk_index * n_batch + i;
            batch.add(*token, pos as i32, &[0], pos == last_index).map_err(|e| e.to_string())?;
        }
        ctx.decode(&mut batch).map_err(|e| format!("decoding the prompt failed: {e}"))?;
        if stop.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
    }
    stats.prompt_ms = started.elapsed().as_secs_f64() * 1000.0;
    if save_after_prompt && let Some(file) = &saved {
        save_prefix(ctx, file, &tokens);
    }

    let temperature = request.temperature.unwrap_or(0.0);
    let seed = request.seed.map(|s| s as u32).unwrap_or(0x5eed);
    let mut main = if temperature <= 0.0 {
        LlamaSampler::greedy()
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(0.95, 1),
            LlamaSampler::temp(temperature),
            LlamaSampler::dist(seed),
        ])
    };
    let mut grammar = match &request.schema {
        Some(schema) => {
            let gbnf = llama_cpp_2::json_schema_to_grammar(&schema.to_string())
                .map_err(|e| format!("the stage's JSON schema did not become a grammar: {e}"))?;
            Some(LlamaSampler::grammar(&model.model, &gbnf, "root").map_err(|e| format!("grammar: {e}"))?)
        }
        None => None,
    };

    let generation_started = Instant::now();
    let mut bytes: Vec<u8> = Vec::new();
    let mut decoded: Vec<LlamaToken> = tokens.clone();
    let mut position = tokens.len() as i32;
    let mut logits_index = batch.n_tokens() - 1;
    let mut produced = 0usize;
    while produced < max_new {
        if stop.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let token = pick(ctx, logits_index, &mut main, grammar.as_mut());
        if vocab.is_eog(token) {
            break;
        }
        produced += 1;
        vocab.token_to_piece_into(token, &mut bytes, false, None);
        batch.clear();
        batch.add(token, position, &[0], true).map_err(|e| e.to_string())?;
        position += 1;
        ctx.decode(&mut batch).map_err(|e| format!("decoding failed: {e}"))?;
        decoded.push(token);
        logits_index = 0;
    }
    cached.tokens = decoded;
    stats.completion_tokens = produced;
    stats.generation_ms = generation_started.elapsed().as_secs_f64() * 1000.0;
    let completion = Completion {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        prompt_tokens: tokens.len() as u64,
        completion_tokens: produced as u64,
    };
    Ok((completion, stats))
}

#[async_trait]
impl Backend for Embedded {
    async fn chat(&self, _endpoint: &Endpoint, model: &str, request: &ChatRequest) -> Result<Completion, LlmError> {
        let loaded = {
            let name = model.to_string();
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.load(&name))
                .await
                .map_err(|e| LlmError::Config(e.to_string()))??
        };
        let stop = Arc::new(AtomicBool::new(false));
        let _guard = StopOnDrop(stop.clone());
        let settings = self.settings().clone();
        let request = request.clone();
        let result = tokio::task::spawn_blocking(move || generate(&loaded, &settings, &request, &stop))
            .await
            .map_err(|e| LlmError::Config(format!("the generation thread failed: {e}")))?;
        result
            .map(|(c, stats)| {
                tracing::debug!(
                    model,
                    prompt_tokens = stats.prompt_tokens,
                    reused_tokens = stats.reused_tokens,
                    prompt_ms = stats.prompt_ms as u64,
                    completion_tokens = stats.completion_tokens,
                    generation_ms = stats.generation_ms as u64,
                    "embedded generation"
                );
                c
            })
            .map_err(|e| LlmError::Protocol { endpoint: "embedded".into(), detail: e })
    }

    async fn embed(&self, _endpoint: &Endpoint, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let dir = self.sentence_model_dir(model)?;
        let input = input.to_vec();
        tokio::task::spawn_blocking(move || super::sentence::shared(&dir)?.embed(&input))
            .await
            .map_err(|e| LlmError::Config(format!("the embedding thread failed: {e}")))?
            .map_err(|detail| LlmError::Protocol { endpoint: "embedded".into(), detail })
    }

    async fn models(&self, _endpoint: &Endpoint) -> Result<Vec<String>, LlmError> {
        let mut names = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.settings().models_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "gguf")
                    && let Some(stem) = path.file_stem()
                {
                    names.push(stem.to_string_lossy().into_owned());
                } else if super::sentence::is_sentence_model(&path) {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        if names.is_empty() {
            return Err(LlmError::Config(format!(
                "no models in {}: run `code-evolver setup`",
                self.settings().models_dir.display()
            )));
        }
        Ok(names)
    }

    async fn version(&self, _endpoint: &Endpoint) -> Result<Option<String>, LlmError> {
        Ok(Some("llama.cpp in process".into()))
    }
}
