//! `code-evolver memory …`: search, stats, export / import (JSONL), migrate between the embedded
//! store and Qdrant, and re-embed with a new embedding model.

use crate::{failed, usage};
use std::path::Path;
use std::sync::Arc;

use super::{CliError, CliResult, Global};
use crate::memory::qdrant::QdrantStore;
use crate::memory::sqlite::SqliteStore;
use crate::memory::{Artifact, ArtifactKind, EmbeddingInfo, Filter, Memory, VectorStore};

fn open(global: &Global) -> Result<Memory, CliError> {
    let config = global.config()?;
    let data = global.data_dir();
    let store = match crate::memory::open_store(&config, &data) {
        Ok(Some(store)) => store,
        Ok(None) => return Err(usage!("memory is off (memory.store: off)")),
        Err(e) => return Err(failed!("{e}")),
    };
    let router = crate::llm::Router::new(&config, &data).map_err(|e| usage!("{e}"))?;
    Ok(Memory::new(store, Arc::new(router)))
}

async fn prepare(memory: &Memory) {
    // Unreachable embedders move to their fallback before the first embedding.
    let _ = memory.router().check_reachability().await;
}

pub async fn search(global: &Global, query: &str, k: usize, kind: Option<String>, json: bool) -> CliResult {
    let memory = open(global)?;
    let mut filter = Filter::default();
    if let Some(kind) = kind {
        match ArtifactKind::parse(&kind) {
            Some(k) => filter.kinds.push(k),
            None => {
                let known: Vec<&str> = ArtifactKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(usage!("--kind {kind}: not a kind ({})", known.join(", ")));
            }
        }
    }
    prepare(&memory).await;
    let hits = match memory.similar(query, k, &filter).await {
        Ok(h) => h,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&hits).unwrap_or_default());
        return Ok(());
    }
    if hits.is_empty() {
        println!("nothing in {}", memory.store().describe());
    }
    for hit in hits {
        let a = &hit.artifact;
        println!("{:.3}  {:<8} {}  {}", hit.score, a.kind.as_str(), &a.id[..8], a.payload.task);
        if let Some(stored) = crate::pipeline::learned::function_of(a) {
            for line in stored.code.lines().take(6) {
                println!("         | {line}");
            }
        }
    }
    Ok(())
}

pub async fn stats(global: &Global) -> CliResult {
    let memory = open(global)?;
    let store = memory.store();
    println!("store: {}", store.describe());
    match store.info().await {
        Ok(Some(info)) => println!("embedding: {} ({}-d)", info.model, info.dimension),
        Ok(None) => println!("embedding: none yet (the first artifact decides)"),
        Err(e) => {
            return Err(failed!("{e}"));
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    let mut cursor = None;
    loop {
        match store.iterate(cursor, 512).await {
            Ok((page, next)) => {
                for (a, _) in page {
                    *counts.entry(a.kind.as_str()).or_insert(0usize) += 1;
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            Err(e) => {
                return Err(failed!("{e}"));
            }
        }
    }
    let total: usize = counts.values().sum();
    println!("artifacts: {total}");
    for (kind, n) in counts {
        println!("  {kind:<9} {n}");
    }
    Ok(())
}

/// Every artifact of a store with its vector.
async fn everything(store: &dyn VectorStore) -> Result<Vec<(Artifact, Vec<f32>)>, String> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.iterate(cursor, 512).await.map_err(|e| e.to_string())?;
        all.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

pub async fn export(global: &Global, file: &Path) -> CliResult {
    let memory = open(global)?;
    let store = memory.store();
    let all = match everything(store).await {
        Ok(a) => a,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    let info = store.info().await.ok().flatten();
    crate::memory::export::write(file, info.as_ref(), &all).map_err(|e| failed!("{}: {e}", file.display()))?;
    println!("exported {} artifacts to {}", all.len(), file.display());
    Ok(())
}

pub async fn import(global: &Global, file: &Path) -> CliResult {
    let memory = open(global)?;
    // Everything is read and checked first: a bad line imports nothing.
    let (header, items) = crate::memory::export::read(file).map_err(|e| usage!("{e}"))?;
    let store = memory.store();
    let stored = store.info().await.ok().flatten();
    match (&header, &stored) {
        (Some(h), Some(s)) if h.model != s.model || h.dimension != s.dimension => {
            return Err(failed!(
                "{} holds vectors of `{}` ({}-d), the store `{}` ({}-d); nothing was imported",
                file.display(),
                h.model,
                h.dimension,
                s.model,
                s.dimension
            ));
        }
        (Some(h), None) => {
            if let Err(e) = store.set_info(&EmbeddingInfo { model: h.model.clone(), dimension: h.dimension }).await {
                return Err(failed!("{e}"));
            }
        }
        _ => {}
    }
    match store.upsert(&items).await {
        Ok(new) => {
            println!("imported {} artifacts ({new} new) into {}", items.len(), store.describe());
            Ok(())
        }
        Err(e) => Err(failed!("{e}; nothing was imported")),
    }
}

pub async fn migrate(
    global: &Global,
    to: &str,
    target: &str,
    collection: Option<String>,
    api_key: Option<String>,
) -> CliResult {
    let memory = open(global)?;
    let destination: Box<dyn VectorStore> = match to {
        "qdrant" => match QdrantStore::connect(target, api_key, collection.as_deref().unwrap_or("code_evolver")) {
            Ok(s) => Box::new(s),
            Err(e) => {
                return Err(failed!("{e}"));
            }
        },
        "sqlite" | "embedded" => match SqliteStore::open(Path::new(target)) {
            Ok(s) => Box::new(s),
            Err(e) => {
                return Err(failed!("{e}"));
            }
        },
        other => {
            return Err(usage!("--to {other}: give qdrant URL or sqlite PATH"));
        }
    };
    let source = memory.store();
    let all = match everything(source).await {
        Ok(a) => a,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    if let Ok(Some(info)) = source.info().await {
        if let Ok(Some(there)) = destination.info().await
            && there != info
        {
            return Err(failed!(
                "{} holds `{}` ({}-d) vectors, this memory `{}` ({}-d): nothing was copied",
                destination.describe(),
                there.model,
                there.dimension,
                info.model,
                info.dimension
            ));
        }
        if let Err(e) = destination.set_info(&info).await {
            return Err(failed!("{e}"));
        }
    }
    let mut copied = 0;
    for chunk in all.chunks(256) {
        if let Err(e) = destination.upsert(chunk).await {
            return Err(failed!("{e} (after {copied} of {}); the source is unchanged", all.len()));
        }
        copied += chunk.len();
    }
    println!("copied {copied} artifacts from {} to {}", source.describe(), destination.describe());
    println!("(the source is unchanged; point memory.store / memory.path / memory.qdrant_url at the new one)");
    Ok(())
}

pub async fn reembed(global: &Global) -> CliResult {
    let memory = open(global)?;
    prepare(&memory).await;
    let progress = |done: usize, total: usize| eprint!("\rre-embedding {done}/{total}");
    match memory.reembed(&progress).await {
        Ok(n) => {
            eprintln!();
            println!("re-embedded {n} artifacts in {}", memory.store().describe());
            Ok(())
        }
        Err(e) => {
            eprintln!();
            Err(failed!("{e}; the store is unchanged"))
        }
    }
}

/// `memory delete ID`: one artifact; an unknown id is refused (exit 2), nothing else changes.
pub async fn delete(global: &Global, id: &str) -> CliResult {
    let memory = open(global)?;
    match memory.store().delete(id).await {
        Ok(true) => {
            println!("deleted artifact {id}");
            Ok(())
        }
        Ok(false) => Err(usage!("no artifact with id `{id}` (ids are shown by `memory search --json`)")),
        Err(e) => Err(failed!("{e}")),
    }
}

/// `memory clear --kind K`: every artifact of one kind (the prototype's `clear_rag`, by kind).
pub async fn clear(global: &Global, kind: &str) -> CliResult {
    let Some(kind) = ArtifactKind::parse(kind) else {
        return Err(usage!("--kind {kind}: give spec, function, workflow, pattern or fix"));
    };
    let memory = open(global)?;
    match memory.forget_where(|a| a.kind == kind).await {
        Ok(n) => {
            println!("deleted {n} {} artifact(s)", kind.as_str());
            Ok(())
        }
        Err(e) => Err(failed!("{e}")),
    }
}
