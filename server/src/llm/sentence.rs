//! Embedded sentence embeddings: a BERT sentence model (all-MiniLM-L6-v2 by default) run in
//! process by candle. Mean pooling over the attention mask, then L2 normalisation, as
//! sentence-transformers does, so cosine similarity is a dot product. Used by the embedded
//! backend's `embed`, i.e. the same interface as Ollama's `/api/embed`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Longest input in tokens; all-MiniLM-L6-v2 was trained on 256 (longer text is cut).
const MAX_TOKENS: usize = 256;
/// Sentences per forward pass: bounds the padded batch's memory.
const BATCH: usize = 16;

/// A loaded sentence model.
pub struct SentenceModel {
    model: BertModel,
    tokenizer: Tokenizer,
    dimension: usize,
    dir: PathBuf,
}

/// Whether `dir` holds a sentence model (the three files the loader reads).
pub fn is_sentence_model(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "model.safetensors"].iter().all(|f| dir.join(f).is_file())
}

impl SentenceModel {
    /// Loads the model in `dir` (config.json, tokenizer.json, model.safetensors).
    pub fn load(dir: &Path) -> Result<SentenceModel, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e} (run `code-evolver setup`)", path.display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| format!("{}: not a BERT config: {e}", dir.join("config.json").display()))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| format!("{}: {e}", dir.join("tokenizer.json").display()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| format!("tokenizer truncation: {e}"))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is ours (installed and checksummed by `setup`) and not modified while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
            .map_err(|e| format!("{}: {e}", weights.display()))?;
        let model = BertModel::load(vb, &config).map_err(|e| format!("{}: {e}", weights.display()))?;
        Ok(SentenceModel { model, tokenizer, dimension: config.hidden_size, dir: dir.to_path_buf() })
    }

    /// The length of every vector this model returns.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// One unit-length vector per input, in order.
    pub fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(BATCH) {
            out.extend(self.embed_batch(chunk).map_err(|e| format!("{}: {e}", self.dir.display()))?);
        }
        Ok(out)
    }

    fn embed_batch(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error + Send + Sync>> {
        let encodings = self.tokenizer.encode_batch(inputs.to_vec(), true)?;
        let rows = encodings.len();
        let width = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let flat = |get: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| get(e).iter().copied()).collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, width), &Device::Cpu)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, width), &Device::Cpu)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (rows, width), &Device::Cpu)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // rows × width × dim
        // Mean over the real tokens only: padding must not move a sentence's vector.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// Sentence models loaded in this process, by folder: each is loaded once and shared.
pub fn shared(dir: &Path) -> Result<Arc<SentenceModel>, String> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<SentenceModel>>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    let mut map = loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(model) = map.get(dir) {
        return Ok(model.clone());
    }
    let model = Arc::new(SentenceModel::load(dir)?);
    map.insert(dir.to_path_buf(), model.clone());
    Ok(model)
}

/// Cosine similarity of two vectors (a dot product when both are unit length, as ours are).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}
