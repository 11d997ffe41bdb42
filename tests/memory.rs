//! Memory on a real SQLite file and on a real Qdrant server (QDRANT_URL, or one the tests start
//! from `../shared/tools/qdrant`): round trips, filters, faults (down, killed mid-batch, restarted),
//! idempotent upserts, re-embedding on a model change, durability under SIGKILL, the CLI, and the
//! pipeline reusing a stored solution without calling the generator.

mod support;

use code_evolver::memory::qdrant::QdrantStore;
use code_evolver::memory::sqlite::SqliteStore;
use code_evolver::memory::{Artifact, ArtifactKind, EmbeddingInfo, Filter, Memory, Payload, VectorStore};
use serde_json::json;
use std::sync::Arc;
use support::TestEnv;
use testkit::scripted_model::fixtures;
use testkit::scripted_model::{Rule, Script, ScriptedServer, embed_text};

fn artifact(kind: ArtifactKind, task: &str, language: &str, tags: &[&str]) -> Artifact {
    Artifact::new(
        kind,
        task,
        Payload {
            task: task.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            language: language.into(),
            quality: 1.0,
            content: json!({"code": format!("# {task} ({language})"), "function": "f"}),
            ..Default::default()
        },
    )
}

/// The same checks for any store: upsert, get, filtered search, count, pages, idempotence, delete.
async fn exercise(store: &dyn VectorStore) {
    let items: Vec<(Artifact, Vec<f32>)> = [
        (ArtifactKind::Function, "add two numbers", "python", &["arithmetic"][..]),
        (ArtifactKind::Function, "reverse a string", "python", &["strings"][..]),
        (ArtifactKind::Spec, "add two numbers", "python", &["arithmetic"][..]),
        (ArtifactKind::Fix, "NameError: name 'math' is not defined", "python", &[][..]),
        (ArtifactKind::Function, "add two numbers", "rust", &["arithmetic"][..]),
    ]
    .into_iter()
    .map(|(k, t, l, tags)| (artifact(k, t, l, tags), embed_text(t)))
    .collect();
    store.set_info(&EmbeddingInfo { model: "scripted".into(), dimension: 64 }).await.unwrap();
    assert_eq!(store.upsert(&items).await.unwrap(), 5);
    assert_eq!(store.count().await.unwrap(), 5);
    // Storing the same things again changes nothing.
    assert_eq!(store.upsert(&items).await.unwrap(), 0);
    assert_eq!(store.count().await.unwrap(), 5);
    let got = store.get(&items[1].0.id).await.unwrap().unwrap();
    assert_eq!(got, items[1].0);

    let query = embed_text("add two numbers");
    let functions =
        Filter { kinds: vec![ArtifactKind::Function], language: Some("python".into()), ..Default::default() };
    let hits = store.search(&query, 3, &functions).await.unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].artifact.payload.task, "add two numbers");
    assert!(hits[0].score > 0.999, "{}", hits[0].score);
    assert!(hits[0].score > hits[1].score);
    let tagged = Filter { tags: vec!["strings".into()], ..Default::default() };
    let hits = store.search(&query, 5, &tagged).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.artifact.payload.task.as_str()).collect::<Vec<_>>(), ["reverse a string"]);

    // Pages cover everything once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.iterate(cursor, 2).await.unwrap();
        assert!(page.iter().all(|(_, v)| v.len() == 64));
        seen.extend(page.into_iter().map(|(a, _)| a.id));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);

    assert!(store.delete(&items[0].0.id).await.unwrap());
    assert!(!store.delete(&items[0].0.id).await.unwrap());
    assert_eq!(store.count().await.unwrap(), 4);
    // A vector of another dimension is refused with both numbers named.
    let wrong = vec![(artifact(ArtifactKind::Pattern, "x", "python", &[]), vec![0.5f32; 384])];
    let error = store.upsert(&wrong).await.unwrap_err().to_string();
    assert!(error.contains("384") && error.contains("64"), "{error}");
}

#[tokio::test]
async fn the_sqlite_store_round_trips_filters_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        exercise(&store).await;
    }
    // Reopened: the index is rebuilt from the file.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.count().await.unwrap(), 4);
    assert_eq!(store.info().await.unwrap().unwrap(), EmbeddingInfo { model: "scripted".into(), dimension: 64 });
    let hits = store.search(&embed_text("reverse a string"), 1, &Filter::default()).await.unwrap();
    assert_eq!(hits[0].artifact.payload.task, "reverse a string");
}

async fn qdrant_or_skip() -> Option<support::qdrant::QdrantServer> {
    let server = support::qdrant::QdrantServer::start().await;
    if server.is_none() {
        eprintln!(
            "SKIPPED: no Qdrant server: set QDRANT_URL, put `qdrant` on PATH, or keep ../shared/tools/qdrant/qdrant.xz"
        );
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qdrant_store_round_trips_on_a_real_server() {
    let Some(server) = qdrant_or_skip().await else { return };
    let collection = format!("code_evolver_test_{}", std::process::id());
    let store = QdrantStore::connect(&server.url, std::env::var("QDRANT_API_KEY").ok(), &collection).unwrap();
    exercise(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qdrant_server_that_is_down_gives_a_clear_error() {
    let url = support::refused_url();
    let store = QdrantStore::connect(&url, None, "code_evolver_down").unwrap();
    let error = store.count().await.unwrap_err().to_string();
    assert!(error.contains(&url), "the error names the server: {error}");
}

/// Killed in the middle of a batch, then restarted: every batch that was acknowledged is there,
/// the one cut off is whole or absent per point, and the same store object works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qdrant_server_killed_mid_batch_keeps_committed_artifacts_and_the_store_reconnects() {
    let Some(mut server) = qdrant_or_skip().await else { return };
    if !server.owned() {
        eprintln!("SKIPPED: QDRANT_URL points at a server this test cannot kill");
        return;
    }
    let store = Arc::new(QdrantStore::connect(&server.url, None, "code_evolver_faults").unwrap());
    store.set_info(&EmbeddingInfo { model: "scripted".into(), dimension: 64 }).await.unwrap();
    let batch = |from: usize, to: usize| -> Vec<(Artifact, Vec<f32>)> {
        (from..to)
            .map(|i| {
                let task = format!("task number {i}");
                (artifact(ArtifactKind::Function, &task, "python", &[]), embed_text(&task))
            })
            .collect()
    };
    let mut committed = batch(0, 199);
    let distinct = "reverse the words in a sentence";
    committed.push((artifact(ArtifactKind::Function, distinct, "python", &[]), embed_text(distinct)));
    assert_eq!(store.upsert(&committed).await.unwrap(), 200);
    // A stream of big batches, cut by SIGKILL while they are being written.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut from = 200;
            loop {
                if store.upsert(&batch(from, from + 2000)).await.is_err() {
                    return from;
                }
                from += 2000;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    server.kill();
    let stopped_at = writer.await.unwrap();
    let error = store.count().await.unwrap_err().to_string();
    assert!(error.contains(&server.url), "a clear error while it is down: {error}");
    server.restart().await;
    // The same store reconnects; nothing acknowledged was lost.
    let mut count = None;
    for _ in 0..50 {
        if let Ok(n) = store.count().await {
            count = Some(n);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let count = count.expect("the store reconnects after the restart");
    assert!(count >= stopped_at, "{count} points, {stopped_at} acknowledged before the kill");
    for (a, _) in committed.iter().step_by(37) {
        assert!(store.get(&a.id).await.unwrap().is_some(), "committed {} is there", a.payload.task);
    }
    let hits = store.search(&embed_text(distinct), 1, &Filter::default()).await.unwrap();
    assert_eq!(hits[0].artifact.payload.task, distinct, "search works after the restart");
    assert_eq!(store.upsert(&batch(1_000_000, 1_000_010)).await.unwrap(), 10, "writes work again");
}

fn memory_on(server: &ScriptedServer, model: &str, path: &std::path::Path) -> Memory {
    let yaml = format!(
        "backends:\n  ollama: {{ kind: ollama, url: \"{}\", fallback: null }}\nroles:\n  embedding: {{ backend: ollama, model: {model} }}\n",
        server.url
    );
    let config = support::config_from_yaml(&yaml);
    let router = code_evolver::llm::Router::new(&config, path.parent().unwrap()).unwrap();
    Memory::new(Box::new(SqliteStore::open(path).unwrap()), Arc::new(router))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_embedding_model_reembeds_everything_instead_of_mixing_vectors() {
    let server = ScriptedServer::start(Script::new()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.db");
    let tasks = ["add two numbers", "reverse a string", "parse an ISO date"];
    {
        let memory = memory_on(&server, "embed-a", &path);
        let artifacts = tasks.iter().map(|t| artifact(ArtifactKind::Function, t, "python", &[])).collect();
        assert_eq!(memory.remember(artifacts).await.unwrap(), 3);
    }
    let memory = memory_on(&server, "embed-b", &path);
    let refused = memory.similar("add numbers", 1, &Filter::default()).await.unwrap_err().to_string();
    assert!(refused.contains("embed-a") && refused.contains("memory reembed"), "{refused}");
    let steps = std::sync::Mutex::new(Vec::new());
    let n = memory.reembed(&|done, total| steps.lock().unwrap().push((done, total))).await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(steps.lock().unwrap().last(), Some(&(3, 3)), "progress reaches the total");
    assert_eq!(memory.store().info().await.unwrap().unwrap().model, "embed-b");
    let hits = memory.similar("reverse a string", 1, &Filter::default()).await.unwrap();
    assert_eq!(hits[0].artifact.payload.task, "reverse a string");
    let embeds = server.requests().into_iter().filter(|r| r.path == "/api/embed").count();
    assert!(embeds >= 4, "the re-embedding went through the embedder ({embeds} calls)");
}

fn export_line(i: usize) -> String {
    let a = artifact(
        ArtifactKind::Pattern,
        &format!("pattern number {i} with some text to make it longer"),
        "python",
        &["bulk"],
    );
    let mut v = serde_json::to_value(&a).unwrap();
    v["vector"] = json!(embed_text(&a.text));
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_a_batch_leaves_every_committed_artifact_and_no_half_one() {
    let env = TestEnv::new().set("CODE_EVOLVER_MEMORY__STORE", "embedded");
    let small = env.workspace.path().join("small.jsonl");
    let big = env.workspace.path().join("big.jsonl");
    std::fs::write(&small, (0..100).map(export_line).collect::<Vec<_>>().join("\n")).unwrap();
    std::fs::write(&big, (100..60_100).map(export_line).collect::<Vec<_>>().join("\n")).unwrap();
    let first = env.run(&["memory", "import", small.to_str().unwrap()]).await;
    first.assert_ok();
    assert!(first.stdout.contains("imported 100 artifacts (100 new)"), "{}", first.all());

    // The big import runs in one transaction; it is killed once its pages reach the WAL.
    let db = env.data_path().join("memory.db");
    let wal = env.data_path().join("memory.db-wal");
    let base = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let mut child = env.command(&["memory", "import", big.to_str().unwrap()]).spawn().unwrap();
    let started = std::time::Instant::now();
    let mut killed_mid_write = false;
    while started.elapsed() < std::time::Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > base + 2_000_000 {
            child.start_kill().unwrap();
            killed_mid_write = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.wait().await.unwrap();
    assert!(killed_mid_write, "the import finished before it could be killed mid-write");

    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.count().await.unwrap(), 100, "only the committed batch is there");
    let id_of = |i: usize| {
        serde_json::from_str::<serde_json::Value>(&export_line(i)).unwrap()["id"].as_str().unwrap().to_string()
    };
    assert!(store.get(&id_of(42)).await.unwrap().is_some(), "a committed artifact is there");
    assert!(store.get(&id_of(105)).await.unwrap().is_none(), "an artifact of the killed batch is not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_identical_task_reuses_the_stored_solution_without_the_generator() {
    let script = fixtures::arithmetic_script().rule(Rule {
        stage: Some("judge".into()),
        replies: vec![json!({"verdict": "RELATED", "reason": "both add numbers"})],
        ..Default::default()
    });
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let first = env.run(&["evolve", "add 10 and 20"]).await;
    first.assert_ok();
    let code_calls = || server.requests().iter().filter(|r| r.stage == "code").count();
    assert_eq!(code_calls(), 1);

    let second = env.run(&["evolve", "Add 10 and 20."]).await;
    second.assert_ok();
    assert_eq!(second.result().as_deref(), Some("30"), "{}", second.all());
    assert_eq!(code_calls(), 1, "the generator was not called again:\n{}", second.all());
    assert!(second.stdout.contains("recalled `add` for \"add 10 and 20\" (similarity 1.000)"), "{}", second.all());
    assert!(second.stdout.contains("reused verified code from memory"), "{}", second.all());
    let show = env.run(&["show", &second.node_id()]).await;
    assert!(show.stdout.contains("recalled"), "the version's origin says so:\n{}", show.all());

    // A related task (similarity between 0.90 and 0.98 on these embeddings): the model judges it,
    // and RELATED code goes to the generator as a template.
    let related = ["add 10 and 20 together", "add 10 and 20 now", "please add 10 and 20", "add the 10 and 20"]
        .into_iter()
        .find(|t| {
            let s = code_evolver::llm::sentence::cosine(&embed_text(t), &embed_text("add 10 and 20"));
            (0.90..0.98).contains(&s)
        })
        .expect("a task in the judged band");
    let third = env.run(&["evolve", related]).await;
    third.assert_ok();
    assert!(third.stdout.contains("judged RELATED"), "{}", third.all());
    let last_code = server.requests().into_iter().rfind(|r| r.stage == "code").unwrap();
    assert!(last_code.body.to_string().contains("A related verified solution"), "the template reached the generator");

    // The memory commands see what was learned.
    let stats = env.run(&["memory", "stats"]).await;
    stats.assert_ok();
    assert!(stats.stdout.contains("embedding: ") && stats.stdout.contains("function"), "{}", stats.all());
    let search = env.run(&["memory", "search", "add numbers", "--kind", "function"]).await;
    search.assert_ok();
    assert!(search.stdout.contains("def add"), "{}", search.all());
    let bad_kind = env.run(&["memory", "search", "x", "--kind", "nonsense"]).await;
    assert_eq!(bad_kind.code, 2, "{}", bad_kind.all());

    // Export, then import into an empty memory: the same artifacts.
    let file = env.workspace.path().join("memory.jsonl");
    env.run(&["memory", "export", file.to_str().unwrap()]).await.assert_ok();
    let other = TestEnv::with_ollama(&server.url);
    let imported = other.run(&["memory", "import", file.to_str().unwrap()]).await;
    imported.assert_ok();
    let before = stats.stdout.lines().find(|l| l.starts_with("artifacts:")).unwrap().to_string();
    let after = other.run(&["memory", "stats"]).await;
    assert!(after.stdout.contains(&before), "{}\nvs\n{}", stats.stdout, after.stdout);
    // A damaged line is named and nothing is imported.
    let broken = env.workspace.path().join("broken.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&broken, format!("{text}{{not json\n")).unwrap();
    let third_env = TestEnv::with_ollama(&server.url);
    let refused = third_env.run(&["memory", "import", broken.to_str().unwrap()]).await;
    assert_eq!(refused.code, 2, "{}", refused.all());
    let line = text.lines().count() + 1;
    assert!(
        refused.stderr.contains(&format!("broken.jsonl:{line}:")) && refused.stderr.contains("nothing was imported"),
        "{}",
        refused.all()
    );
    let empty = third_env.run(&["memory", "stats"]).await;
    assert!(empty.stdout.contains("artifacts: 0"), "{}", empty.all());
}
