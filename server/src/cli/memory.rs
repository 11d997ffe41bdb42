//! `code-evolver memory …`: search, stats, export / import (JSONL), migrate between the embedded
//! store and Qdrant, and re-embed with a new embedding model.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{EXIT_FAILED, EXIT_USAGE, Global};
use crate::memory::qdrant::QdrantStore;
use crate::memory::sqlite::SqliteStore;
use crate::memory::{Artifact, ArtifactKind, EmbeddingInfo, Filter, Memory, VectorStore};

/// One line of an export.
#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(flatten)]
    artifact: Artifact,
    vector: Vec<f32>,
}

/// The header line of an export: which embedder made the vectors.
#[derive(Serialize, Deserialize)]
struct Header {
    code_evolver_memory: u32,
    model: String,
    dimension: usize,
}

fn open(global: &Global) -> Result<Memory, i32> {
    let config = global.config()?;
    let data = global.data_dir();
    let store = match crate::memory::open_store(&config, &data) {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: memory is off (memory.store: off)");
            return Err(EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Err(EXIT_FAILED);
        }
    };
    let router = crate::llm::Router::new(&config, &data).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    Ok(Memory::new(store, Arc::new(router)))
}

async fn prepare(memory: &Memory) {
    // Unreachable embedders move to their fallback before the first embedding.
    let _ = memory.router().check_reachability().await;
}

pub async fn search(global: &Global, query: &str, k: usize, kind: Option<String>, json: bool) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let mut filter = Filter::default();
    if let Some(kind) = kind {
        match ArtifactKind::parse(&kind) {
            Some(k) => filter.kinds.push(k),
            None => {
                let known: Vec<&str> = ArtifactKind::ALL.iter().map(|k| k.as_str()).collect();
                eprintln!("error: --kind {kind}: not a kind ({})", known.join(", "));
                return EXIT_USAGE;
            }
        }
    }
    prepare(&memory).await;
    let hits = match memory.similar(query, k, &filter).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&hits).unwrap_or_default());
        return 0;
    }
    if hits.is_empty() {
        println!("nothing in {}", memory.store().describe());
    }
    for hit in hits {
        let a = &hit.artifact;
        println!("{:.3}  {:<8} {}  {}", hit.score, a.kind.as_str(), &a.id[..8], a.payload.task);
        if let Some(code) = a.payload.content.get("code").and_then(|c| c.as_str()) {
            for line in code.lines().take(6) {
                println!("         | {line}");
            }
        }
    }
    0
}

pub async fn stats(global: &Global) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let store = memory.store();
    println!("store: {}", store.describe());
    match store.info().await {
        Ok(Some(info)) => println!("embedding: {} ({}-d)", info.model, info.dimension),
        Ok(None) => println!("embedding: none yet (the first artifact decides)"),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
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
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        }
    }
    let total: usize = counts.values().sum();
    println!("artifacts: {total}");
    for (kind, n) in counts {
        println!("  {kind:<9} {n}");
    }
    0
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

pub async fn export(global: &Global, file: &Path) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let store = memory.store();
    let all = match everything(store).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let info = store.info().await.ok().flatten();
    // Written beside the target and renamed at the end: a failed export leaves no half file.
    let write = || -> std::io::Result<()> {
        let tmp = file.with_extension("jsonl.partial");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        if let Some(info) = &info {
            let header = Header { code_evolver_memory: 1, model: info.model.clone(), dimension: info.dimension };
            writeln!(out, "{}", serde_json::to_string(&header)?)?;
        }
        for (artifact, vector) in &all {
            writeln!(out, "{}", serde_json::to_string(&Line { artifact: artifact.clone(), vector: vector.clone() })?)?;
        }
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, file)
    };
    if let Err(e) = write() {
        eprintln!("error: {}: {e}", file.display());
        return EXIT_FAILED;
    }
    println!("exported {} artifacts to {}", all.len(), file.display());
    0
}

pub async fn import(global: &Global, file: &Path) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let reader = match std::fs::File::open(file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return EXIT_USAGE;
        }
    };
    // Everything is read and checked first: a bad line imports nothing.
    let mut header: Option<Header> = None;
    let mut items = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {}:{}: {e}", file.display(), n + 1);
                return EXIT_USAGE;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        if n == 0
            && let Ok(h) = serde_json::from_str::<Header>(&line)
        {
            header = Some(h);
            continue;
        }
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => items.push((l.artifact, l.vector)),
            Err(e) => {
                eprintln!("error: {}:{}: not an exported artifact: {e}; nothing was imported", file.display(), n + 1);
                return EXIT_USAGE;
            }
        }
    }
    let store = memory.store();
    let stored = store.info().await.ok().flatten();
    match (&header, &stored) {
        (Some(h), Some(s)) if h.model != s.model || h.dimension != s.dimension => {
            eprintln!(
                "error: {} holds vectors of `{}` ({}-d), the store `{}` ({}-d); nothing was imported",
                file.display(),
                h.model,
                h.dimension,
                s.model,
                s.dimension
            );
            return EXIT_FAILED;
        }
        (Some(h), None) => {
            if let Err(e) = store.set_info(&EmbeddingInfo { model: h.model.clone(), dimension: h.dimension }).await {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        }
        _ => {}
    }
    match store.upsert(&items).await {
        Ok(new) => {
            println!("imported {} artifacts ({new} new) into {}", items.len(), store.describe());
            0
        }
        Err(e) => {
            eprintln!("error: {e}; nothing was imported");
            EXIT_FAILED
        }
    }
}

pub async fn migrate(
    global: &Global,
    to: &str,
    target: &str,
    collection: Option<String>,
    api_key: Option<String>,
) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let destination: Box<dyn VectorStore> = match to {
        "qdrant" => match QdrantStore::connect(target, api_key, collection.as_deref().unwrap_or("code_evolver")) {
            Ok(s) => Box::new(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        },
        "sqlite" | "embedded" => match SqliteStore::open(Path::new(target)) {
            Ok(s) => Box::new(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        },
        other => {
            eprintln!("error: --to {other}: give qdrant URL or sqlite PATH");
            return EXIT_USAGE;
        }
    };
    let source = memory.store();
    let all = match everything(source).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    if let Ok(Some(info)) = source.info().await {
        if let Ok(Some(there)) = destination.info().await
            && there != info
        {
            eprintln!(
                "error: {} holds `{}` ({}-d) vectors, this memory `{}` ({}-d): nothing was copied",
                destination.describe(),
                there.model,
                there.dimension,
                info.model,
                info.dimension
            );
            return EXIT_FAILED;
        }
        if let Err(e) = destination.set_info(&info).await {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    }
    let mut copied = 0;
    for chunk in all.chunks(256) {
        if let Err(e) = destination.upsert(chunk).await {
            eprintln!("error: {e} (after {copied} of {}); the source is unchanged", all.len());
            return EXIT_FAILED;
        }
        copied += chunk.len();
    }
    println!("copied {copied} artifacts from {} to {}", source.describe(), destination.describe());
    println!("(the source is unchanged; point memory.store / memory.path / memory.qdrant_url at the new one)");
    0
}

pub async fn reembed(global: &Global) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    prepare(&memory).await;
    let progress = |done: usize, total: usize| eprint!("\rre-embedding {done}/{total}");
    match memory.reembed(&progress).await {
        Ok(n) => {
            eprintln!();
            println!("re-embedded {n} artifacts in {}", memory.store().describe());
            0
        }
        Err(e) => {
            eprintln!("\nerror: {e}; the store is unchanged");
            EXIT_FAILED
        }
    }
}

/// `memory delete ID`: one artifact; an unknown id is refused (exit 2), nothing else changes.
pub async fn delete(global: &Global, id: &str) -> i32 {
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    match memory.store().delete(id).await {
        Ok(true) => {
            println!("deleted artifact {id}");
            0
        }
        Ok(false) => {
            eprintln!("error: no artifact with id `{id}` (ids are shown by `memory search --json`)");
            EXIT_USAGE
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

/// `memory clear --kind K`: every artifact of one kind (the prototype's `clear_rag`, by kind).
pub async fn clear(global: &Global, kind: &str) -> i32 {
    let Some(kind) = ArtifactKind::parse(kind) else {
        eprintln!("error: --kind {kind}: give spec, function, workflow, pattern or fix");
        return EXIT_USAGE;
    };
    let memory = match open(global) {
        Ok(m) => m,
        Err(code) => return code,
    };
    match memory.forget_where(|a| a.kind == kind).await {
        Ok(n) => {
            println!("deleted {n} {} artifact(s)", kind.as_str());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
