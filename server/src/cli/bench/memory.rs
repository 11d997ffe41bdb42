//! `code-evolver bench memory`: insert throughput, open time, search p50/p99 and recall@10 against
//! exact search, at 10k and 100k artifacts of 384 dimensions, for the embedded store (and for
//! Qdrant when QDRANT_URL is set). The vectors are clustered, like embeddings of related tasks.

use crate::failed;
use std::time::Instant;

use crate::cli::CliResult;
use crate::memory::qdrant::QdrantStore;
use crate::memory::sqlite::SqliteStore;
use crate::memory::{Artifact, ArtifactKind, EmbeddingInfo, Filter, Payload, VectorStore};

const DIMENSION: usize = 384;

/// xorshift64* with Box-Muller: reproducible Gaussian noise without a dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.next_f64().max(1e-12), self.next_f64());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }

    fn unit(&mut self) -> Vec<f32> {
        crate::memory::index::normalised(&(0..DIMENSION).map(|_| self.gaussian()).collect::<Vec<_>>())
    }

    fn near(&mut self, centre: &[f32], spread: f32) -> Vec<f32> {
        crate::memory::index::normalised(&centre.iter().map(|c| c + spread * self.gaussian()).collect::<Vec<_>>())
    }
}

fn dataset(n: usize, rng: &mut Rng) -> Vec<(Artifact, Vec<f32>)> {
    let clusters: Vec<Vec<f32>> = (0..(n / 50).max(1)).map(|_| rng.unit()).collect();
    (0..n)
        .map(|i| {
            let kind = ArtifactKind::ALL[i % ArtifactKind::ALL.len()];
            let payload = Payload {
                task: format!("task {i}"),
                tags: vec![format!("t{}", i % 7)],
                language: "python".into(),
                quality: 1.0,
                content: serde_json::json!({"code": format!("def f_{i}(x):\n    return x + {i}\n")}),
                ..Default::default()
            };
            let vector = rng.near(&clusters[i % clusters.len()], 0.05);
            (Artifact::new(kind, format!("task {i}"), payload), vector)
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize).min(sorted.len() - 1)]
}

async fn insert(store: &dyn VectorStore, data: &[(Artifact, Vec<f32>)]) -> Result<f64, String> {
    store.set_info(&EmbeddingInfo { model: "bench".into(), dimension: DIMENSION }).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    for chunk in data.chunks(1000) {
        store.upsert(chunk).await.map_err(|e| e.to_string())?;
    }
    Ok(data.len() as f64 / started.elapsed().as_secs_f64())
}

async fn searches(store: &dyn VectorStore, queries: &[Vec<f32>]) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        store.search(q, 10, &Filter::default()).await.map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times)
}

pub async fn run(sizes: &[usize], queries: usize) -> CliResult {
    println!("bench memory: {DIMENSION}-d clustered vectors, k = 10, {queries} queries per size");
    for &n in sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let data = dataset(n, &mut rng);
        let probes: Vec<Vec<f32>> = (0..queries).map(|i| rng.near(&data[(i * 7919) % n].1, 0.02)).collect();
        let Ok(dir) = tempfile::tempdir() else {
            return Err(failed!("no temp dir"));
        };
        let path = dir.path().join("memory.db");
        let rate = {
            let store = match SqliteStore::open(&path) {
                Ok(s) => s,
                Err(e) => {
                    return Err(failed!("{e}"));
                }
            };
            match insert(&store, &data).await {
                Ok(r) => r,
                Err(e) => {
                    return Err(failed!("{e}"));
                }
            }
        };
        let started = Instant::now();
        let store = match SqliteStore::open(&path) {
            Ok(s) => s,
            Err(e) => {
                return Err(failed!("{e}"));
            }
        };
        let open_ms = started.elapsed().as_secs_f64() * 1000.0;
        // Index alone (what the in-memory scan costs) and the whole search (with payloads read).
        let mut index_times = Vec::new();
        let mut recall_hits = 0usize;
        store.with_index(|index| {
            for q in &probes {
                let t = Instant::now();
                let approx: Vec<String> =
                    index.search(q, 10, &Filter::default()).into_iter().map(|(m, _)| m.id.clone()).collect();
                index_times.push(t.elapsed().as_secs_f64() * 1000.0);
                let exact: Vec<String> =
                    index.search_exact(q, 10, &Filter::default()).into_iter().map(|(m, _)| m.id.clone()).collect();
                recall_hits += approx.iter().filter(|id| exact.contains(id)).count();
            }
        });
        index_times.sort_by(|a, b| a.total_cmp(b));
        let full = match searches(&store, &probes).await {
            Ok(t) => t,
            Err(e) => {
                return Err(failed!("{e}"));
            }
        };
        let recall = recall_hits as f64 / (probes.len() * 10) as f64;
        let avx2 = cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx2");
        println!(
            "  SQLite + int8 index{}, {n} artifacts: insert {rate:.0}/s · open {open_ms:.0} ms · search p50 {:.2} ms p99 {:.2} ms (index alone p50 {:.2} p99 {:.2}) · recall@10 {recall:.4}",
            if avx2 { " (AVX2)" } else { "" },
            percentile(&full, 50.0),
            percentile(&full, 99.0),
            percentile(&index_times, 50.0),
            percentile(&index_times, 99.0),
        );
        match std::env::var("QDRANT_URL") {
            Ok(url) => {
                let collection = format!("code_evolver_bench_{n}_{}", std::process::id());
                let result = async {
                    let q = QdrantStore::connect(&url, std::env::var("QDRANT_API_KEY").ok(), &collection)
                        .map_err(|e| e.to_string())?;
                    let rate = insert(&q, &data).await?;
                    let times = searches(&q, &probes).await?;
                    Ok::<_, String>((rate, times))
                }
                .await;
                match result {
                    Ok((rate, times)) => println!(
                        "  Qdrant {url}, {n} artifacts: insert {rate:.0}/s · search p50 {:.2} ms p99 {:.2} ms",
                        percentile(&times, 50.0),
                        percentile(&times, 99.0)
                    ),
                    Err(e) => println!("  Qdrant {url}: {e}"),
                }
            }
            Err(_) => println!("  Qdrant: skipped (set QDRANT_URL to measure a server)"),
        }
    }
    Ok(())
}
