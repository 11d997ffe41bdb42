//! Memory: verified specs, functions, workflows, patterns and fixes, found again by meaning.
//! Two stores behind one trait — SQLite (embedded, no server) and Qdrant (a server, for more than
//! one machine) — and `Memory`, which embeds text through the router's embedding role and
//! records which embedding model filled the store.

pub mod export;
pub(crate) mod index;
pub mod qdrant;
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::config::{Config, MemoryStoreKind};
use crate::llm::Router;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// A spec the overseer wrote and the tests confirmed.
    Spec,
    /// Verified code with its tests and metrics (only verified code is stored).
    Function,
    /// The steps one evolve took.
    Workflow,
    /// A reusable approach.
    Pattern,
    /// An error and the change that fixed it.
    Fix,
}

impl ArtifactKind {
    pub const ALL: [ArtifactKind; 5] =
        [ArtifactKind::Spec, ArtifactKind::Function, ArtifactKind::Workflow, ArtifactKind::Pattern, ArtifactKind::Fix];

    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Spec => "spec",
            ArtifactKind::Function => "function",
            ArtifactKind::Workflow => "workflow",
            ArtifactKind::Pattern => "pattern",
            ArtifactKind::Fix => "fix",
        }
    }

    pub fn parse(s: &str) -> Option<ArtifactKind> {
        ArtifactKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What is stored besides the vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Payload {
    pub task: String,
    pub tags: Vec<String>,
    pub language: String,
    /// 0..1: tests passed / total, times whatever else the kind knows.
    pub quality: f64,
    pub metrics: Value,
    pub lineage: Value,
    /// Unix seconds.
    pub created: i64,
    /// The kind's own content: a spec; {code, tests, spec, function}; workflow steps; a fix.
    pub content: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub id: String,
    pub kind: ArtifactKind,
    /// The text whose embedding finds it (a task, an error message).
    pub text: String,
    pub payload: Payload,
}

/// The namespace of artifact ids (UUIDv5).
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c0d_e7e5_9a1b_4c8e_9d3f_2b4a_17c0_e001);

impl Artifact {
    /// An artifact whose id is the UUIDv5 of its kind and a hash of its content and text, so the
    /// same thing stored twice is one artifact.
    pub fn new(kind: ArtifactKind, text: impl Into<String>, payload: Payload) -> Artifact {
        let text = text.into();
        let mut hasher = Sha256::new();
        hasher.update(kind.as_str());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
        hasher.update(payload.content.to_string().as_bytes());
        let digest = hasher.finalize();
        let id = uuid::Uuid::new_v5(&ID_NAMESPACE, &digest).to_string();
        Artifact { id, kind, text, payload }
    }
}

impl Artifact {
    /// An artifact whose id is the UUIDv5 of its kind and `key`: storing it again with other
    /// content (a pattern seen in one more node) replaces it.
    pub fn keyed(kind: ArtifactKind, key: &str, text: impl Into<String>, payload: Payload) -> Artifact {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_str());
        hasher.update([1]);
        hasher.update(key.as_bytes());
        let id = uuid::Uuid::new_v5(&ID_NAMESPACE, &hasher.finalize()).to_string();
        Artifact { id, kind, text: text.into(), payload }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Any of these kinds (empty: all).
    pub kinds: Vec<ArtifactKind>,
    pub language: Option<String>,
    /// Any of these tags (empty: no condition).
    pub tags: Vec<String>,
}

impl Filter {
    pub fn kind(kind: ArtifactKind) -> Filter {
        Filter { kinds: vec![kind], ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && self.language.is_none() && self.tags.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub artifact: Artifact,
    /// Cosine similarity, -1..1.
    pub score: f32,
}

/// The embedding model a store's vectors come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingInfo {
    pub model: String,
    pub dimension: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("{0}")]
    Store(String),
    #[error(
        "the memory holds {stored}-dimensional vectors from `{model}`, the embedder gives {given}: run `code-evolver memory reembed` or point memory.path elsewhere"
    )]
    Dimension { model: String, stored: usize, given: usize },
    #[error("embedding failed: {0}")]
    Embed(String),
}

pub type MemoryResult<T> = Result<T, MemoryError>;

/// A page of `iterate`: artifacts with their vectors, and where the next page starts.
pub type Page = (Vec<(Artifact, Vec<f32>)>, Option<String>);

#[async_trait]
pub trait VectorStore: Send + Sync {
    /// Where it is (a file, a URL and collection), for messages.
    fn describe(&self) -> String;
    async fn info(&self) -> MemoryResult<Option<EmbeddingInfo>>;
    async fn set_info(&self, info: &EmbeddingInfo) -> MemoryResult<()>;
    /// Stores artifacts and their vectors, all or none; an id already stored keeps its payload
    /// and takes the new vector. Returns how many were new.
    async fn upsert(&self, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<usize>;
    async fn get(&self, id: &str) -> MemoryResult<Option<Artifact>>;
    async fn delete(&self, id: &str) -> MemoryResult<bool>;
    async fn search(&self, vector: &[f32], k: usize, filter: &Filter) -> MemoryResult<Vec<Hit>>;
    async fn count(&self) -> MemoryResult<usize>;
    /// Up to `limit` artifacts after `cursor` (None: from the start), in a stable order.
    async fn iterate(&self, cursor: Option<String>, limit: usize) -> MemoryResult<Page>;
    /// Replaces every artifact and the embedding info at once (re-embedding). SQLite does it in
    /// one transaction; Qdrant recreates the collection.
    async fn replace_all(&self, info: &EmbeddingInfo, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<()>;
}

/// A store plus the embedder that fills it.
pub struct Memory {
    store: Box<dyn VectorStore>,
    router: Arc<Router>,
    model: String,
}

/// The store `config.memory` names, or None when memory is off.
pub fn open_store(config: &Config, data_dir: &std::path::Path) -> MemoryResult<Option<Box<dyn VectorStore>>> {
    let m = &config.memory;
    Ok(match m.store {
        MemoryStoreKind::Off => None,
        MemoryStoreKind::Embedded => {
            let path = if m.path.is_empty() { data_dir.join("memory.db") } else { std::path::PathBuf::from(&m.path) };
            Some(Box::new(sqlite::SqliteStore::open(&path)?))
        }
        MemoryStoreKind::Qdrant => {
            let key = crate::llm::router::expand_env(&m.qdrant_api_key);
            Some(Box::new(qdrant::QdrantStore::connect(
                &m.qdrant_url,
                (!key.is_empty()).then_some(key),
                &m.collection,
            )?))
        }
    })
}

impl Memory {
    pub fn new(store: Box<dyn VectorStore>, router: Arc<Router>) -> Memory {
        let model = router.route(crate::config::Role::Embedding).model;
        Memory { store, router, model }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn store(&self) -> &dyn VectorStore {
        self.store.as_ref()
    }

    /// The embedding model in use now (the role's, or its fallback's once that serves).
    fn model_now(&self) -> String {
        let now = self.router.route(crate::config::Role::Embedding).model;
        if now.is_empty() { self.model.clone() } else { now }
    }

    pub async fn embed(&self, texts: &[String]) -> MemoryResult<Vec<Vec<f32>>> {
        let vectors = self.router.embed(texts).await.map_err(|e| MemoryError::Embed(e.to_string()))?;
        if vectors.len() != texts.len() {
            return Err(MemoryError::Embed(format!("{} texts gave {} vectors", texts.len(), vectors.len())));
        }
        Ok(vectors)
    }

    /// Checks that vectors from `model` with `dimension` may go into (or query) the store; the
    /// first ones decide. A different model is refused with the way out (`reembed`).
    async fn check(&self, dimension: usize) -> MemoryResult<()> {
        let model = self.model_now();
        match self.store.info().await? {
            None => self.store.set_info(&EmbeddingInfo { model, dimension }).await,
            Some(info) if info.dimension != dimension => {
                Err(MemoryError::Dimension { model: info.model, stored: info.dimension, given: dimension })
            }
            Some(info) if info.model != model => Err(MemoryError::Store(format!(
                "the memory was embedded with `{}`, the embedder now is `{model}`: run `code-evolver memory reembed` to convert it",
                info.model
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Embeds and stores artifacts (one batch, all or none). Returns how many were new.
    pub async fn remember(&self, artifacts: Vec<Artifact>) -> MemoryResult<usize> {
        if artifacts.is_empty() {
            return Ok(0);
        }
        let texts: Vec<String> = artifacts.iter().map(|a| a.text.clone()).collect();
        let vectors = self.embed(&texts).await?;
        self.check(vectors[0].len()).await?;
        let items: Vec<(Artifact, Vec<f32>)> = artifacts.into_iter().zip(vectors).collect();
        self.store.upsert(&items).await
    }

    /// Deletes the artifacts `matching` selects (ids collected first, then deleted one by one);
    /// returns how many went.
    pub async fn forget_where(&self, matching: impl Fn(&Artifact) -> bool) -> MemoryResult<usize> {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.store.iterate(cursor, 512).await?;
            ids.extend(page.into_iter().filter(|(a, _)| matching(a)).map(|(a, _)| a.id));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut removed = 0;
        for id in ids {
            if self.store.delete(&id).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Artifacts learned from a node (their lineage names it).
    pub async fn forget_node(&self, node_id: &str) -> MemoryResult<usize> {
        self.forget_where(|a| a.payload.lineage.get("node_id").and_then(Value::as_str) == Some(node_id)).await
    }

    /// The `k` stored artifacts most similar to `text`.
    pub async fn similar(&self, text: &str, k: usize, filter: &Filter) -> MemoryResult<Vec<Hit>> {
        if self.store.count().await? == 0 {
            return Ok(Vec::new());
        }
        let vector = self.embed(&[text.to_string()]).await?.remove(0);
        self.check(vector.len()).await?;
        self.store.search(&vector, k, filter).await
    }

    /// Re-embeds every artifact with the current embedder, reporting progress as (done, total).
    /// Vectors are computed first and swapped in at the end, so a failed embedding leaves the old
    /// ones.
    pub async fn reembed(&self, progress: &(dyn Fn(usize, usize) + Send + Sync)) -> MemoryResult<usize> {
        let total = self.store.count().await?;
        let mut artifacts = Vec::with_capacity(total);
        let mut cursor = None;
        loop {
            let (page, next) = self.store.iterate(cursor, 256).await?;
            artifacts.extend(page.into_iter().map(|(a, _)| a));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut items = Vec::with_capacity(artifacts.len());
        for chunk in artifacts.chunks(32) {
            let texts: Vec<String> = chunk.iter().map(|a| a.text.clone()).collect();
            let vectors = self.embed(&texts).await?;
            items.extend(chunk.iter().cloned().zip(vectors));
            progress(items.len(), total);
        }
        let dimension = items.first().map(|(_, v)| v.len()).unwrap_or(0);
        self.store.replace_all(&EmbeddingInfo { model: self.model_now(), dimension }, &items).await?;
        Ok(items.len())
    }
}

/// Runs blocking work (SQLite, a scan of the index) from async code: on a multi-threaded runtime
/// the worker hands its other tasks to the rest first (`block_in_place`), so a language server's
/// requests are not held behind a disk write; elsewhere it simply runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
