//! The embedded store: one SQLite file (bundled, WAL) is the durable copy — artifacts, payloads
//! and vectors written in the same transaction — and an in-memory index, built at open and kept in
//! step with each committed write, answers searches. The SQLite work and the scan run as blocking
//! sections (`memory::blocking`), so the async workers that serve the editor move on meanwhile.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::blocking;
use super::index::{EntryMeta, Index};
use super::{
    Artifact, ArtifactKind, EmbeddingInfo, Filter, Hit, MemoryError, MemoryResult, Page, Payload, VectorStore,
};

pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    index: RwLock<Index>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Store(format!("{}: {e}", path.display()))
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn meta_of(a: &Artifact) -> EntryMeta {
    EntryMeta { id: a.id.clone(), kind: a.kind, language: a.payload.language.clone(), tags: a.payload.tags.clone() }
}

type Row = (String, String, String, String, Vec<u8>);

fn artifact_from(path: &Path, (id, kind, text, payload, _): &Row) -> MemoryResult<Artifact> {
    let kind =
        ArtifactKind::parse(kind).ok_or_else(|| err(path, format!("artifact {id} has unknown kind `{kind}`")))?;
    let payload: Payload =
        serde_json::from_str(payload).map_err(|e| err(path, format!("artifact {id}: bad payload: {e}")))?;
    Ok(Artifact { id: id.clone(), kind, text: text.clone(), payload })
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` and loads its index.
    pub fn open(path: &Path) -> MemoryResult<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        }
        let conn = Connection::open(path).map_err(|e| err(path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS artifacts (
                 id TEXT PRIMARY KEY,
                 kind TEXT NOT NULL,
                 text TEXT NOT NULL,
                 payload TEXT NOT NULL,
                 vector BLOB NOT NULL,
                 created INTEGER NOT NULL
             );",
        )
        .map_err(|e| err(path, e))?;
        let dimension: Option<usize> = conn
            .query_row("SELECT value FROM meta WHERE key = 'dimension'", [], |r| r.get::<_, String>(0))
            .optional()
            .map_err(|e| err(path, e))?
            .and_then(|v| v.parse().ok());
        let mut index = Index::new(dimension.unwrap_or(0));
        {
            let mut stmt =
                conn.prepare("SELECT id, kind, text, payload, vector FROM artifacts").map_err(|e| err(path, e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .map_err(|e| err(path, e))?;
            for row in rows {
                let row: Row = row.map_err(|e| err(path, e))?;
                let artifact = artifact_from(path, &row)?;
                let vector = from_blob(&row.4);
                if index.dimension() == 0 {
                    index = Index::new(vector.len());
                }
                if vector.len() != index.dimension() {
                    return Err(err(
                        path,
                        format!(
                            "artifact {} has a {}-d vector in a {}-d store",
                            row.0,
                            vector.len(),
                            index.dimension()
                        ),
                    ));
                }
                index.put(meta_of(&artifact), &vector);
            }
        }
        Ok(SqliteStore { path: path.to_path_buf(), conn: Mutex::new(conn), index: RwLock::new(index) })
    }

    /// The `k` nearest ids and scores; Err(the stored dimension) when `vector` has another.
    fn search_index(&self, vector: &[f32], k: usize, filter: &Filter) -> Result<Vec<(String, f32)>, usize> {
        let index = self.index.read().unwrap();
        if !index.is_empty() && vector.len() != index.dimension() {
            return Err(index.dimension());
        }
        Ok(index.search(vector, k, filter).into_iter().map(|(m, s)| (m.id.clone(), s)).collect())
    }

    /// The hits' artifacts: one lock and one cached statement for their payloads.
    fn hits(&self, found: Vec<(String, f32)>) -> MemoryResult<Vec<Hit>> {
        let conn = self.conn.lock().unwrap();
        let mut stmt = conn
            .prepare_cached("SELECT id, kind, text, payload, x'' FROM artifacts WHERE id = ?1")
            .map_err(|e| err(&self.path, e))?;
        let mut hits = Vec::with_capacity(found.len());
        for (id, score) in found {
            let row: Option<Row> = stmt
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .optional()
                .map_err(|e| err(&self.path, e))?;
            if let Some(row) = row {
                hits.push(Hit { artifact: artifact_from(&self.path, &row)?, score });
            }
        }
        Ok(hits)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_items(&self, tx: &rusqlite::Transaction<'_>, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<usize> {
        let mut new = 0;
        let mut stmt = tx
            .prepare(
                "INSERT INTO artifacts (id, kind, text, payload, vector, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET vector = excluded.vector",
            )
            .map_err(|e| err(&self.path, e))?;
        let mut exists = tx.prepare("SELECT 1 FROM artifacts WHERE id = ?1").map_err(|e| err(&self.path, e))?;
        for (artifact, vector) in items {
            let payload = serde_json::to_string(&artifact.payload).map_err(|e| err(&self.path, e))?;
            if !exists.exists([&artifact.id]).map_err(|e| err(&self.path, e))? {
                new += 1;
            }
            stmt.execute(params![
                artifact.id,
                artifact.kind.as_str(),
                artifact.text,
                payload,
                to_blob(vector),
                artifact.payload.created
            ])
            .map_err(|e| err(&self.path, e))?;
        }
        Ok(new)
    }

    fn check_dimension(&self, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<()> {
        let index = self.index.read().unwrap();
        let expected =
            if index.dimension() == 0 { items.first().map(|(_, v)| v.len()).unwrap_or(0) } else { index.dimension() };
        if let Some((a, v)) = items.iter().find(|(_, v)| v.len() != expected) {
            return Err(err(
                &self.path,
                format!("artifact {} has a {}-d vector; the store holds {expected}-d", a.id, v.len()),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl VectorStore for SqliteStore {
    fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }

    async fn info(&self) -> MemoryResult<Option<EmbeddingInfo>> {
        blocking(|| {
            let conn = self.conn.lock().unwrap();
            let get = |key: &str| -> MemoryResult<Option<String>> {
                conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()
                    .map_err(|e| err(&self.path, e))
            };
            match (get("model")?, get("dimension")?) {
                (Some(model), Some(dimension)) => Ok(Some(EmbeddingInfo {
                    model,
                    dimension: dimension.parse().map_err(|e| err(&self.path, format!("meta.dimension: {e}")))?,
                })),
                _ => Ok(None),
            }
        })
    }

    async fn set_info(&self, info: &EmbeddingInfo) -> MemoryResult<()> {
        blocking(|| {
            let conn = self.conn.lock().unwrap();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('model', ?1), ('dimension', ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![info.model, info.dimension.to_string()],
            )
            .map_err(|e| err(&self.path, e))?;
            let mut index = self.index.write().unwrap();
            if index.is_empty() {
                *index = Index::new(info.dimension);
            }
            Ok(())
        })
    }

    async fn upsert(&self, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<usize> {
        blocking(|| {
            if items.is_empty() {
                return Ok(0);
            }
            self.check_dimension(items)?;
            let new = {
                let mut conn = self.conn.lock().unwrap();
                let tx = conn.transaction().map_err(|e| err(&self.path, e))?;
                let new = self.write_items(&tx, items)?;
                tx.commit().map_err(|e| err(&self.path, e))?;
                new
            };
            // Committed: the index follows.
            let mut index = self.index.write().unwrap();
            if index.dimension() == 0 {
                *index = Index::new(items[0].1.len());
            }
            for (artifact, vector) in items {
                index.put(meta_of(artifact), vector);
            }
            Ok(new)
        })
    }

    async fn get(&self, id: &str) -> MemoryResult<Option<Artifact>> {
        blocking(|| {
            let conn = self.conn.lock().unwrap();
            let row: Option<Row> = conn
                .query_row("SELECT id, kind, text, payload, vector FROM artifacts WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
                .map_err(|e| err(&self.path, e))?;
            row.as_ref().map(|r| artifact_from(&self.path, r)).transpose()
        })
    }

    async fn delete(&self, id: &str) -> MemoryResult<bool> {
        blocking(|| {
            let removed = {
                let conn = self.conn.lock().unwrap();
                conn.execute("DELETE FROM artifacts WHERE id = ?1", [id]).map_err(|e| err(&self.path, e))? > 0
            };
            if removed {
                self.index.write().unwrap().remove(id);
            }
            Ok(removed)
        })
    }

    async fn search(&self, vector: &[f32], k: usize, filter: &Filter) -> MemoryResult<Vec<Hit>> {
        let found = blocking(|| self.search_index(vector, k, filter));
        match found {
            Ok(found) => blocking(|| self.hits(found)),
            Err(stored) => {
                let model = self.info().await.ok().flatten().map(|i| i.model).unwrap_or_default();
                Err(MemoryError::Dimension { model, stored, given: vector.len() })
            }
        }
    }

    async fn count(&self) -> MemoryResult<usize> {
        Ok(self.index.read().unwrap().len())
    }

    async fn iterate(&self, cursor: Option<String>, limit: usize) -> MemoryResult<Page> {
        blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt = conn
                .prepare("SELECT id, kind, text, payload, vector FROM artifacts WHERE id > ?1 ORDER BY id LIMIT ?2")
                .map_err(|e| err(&self.path, e))?;
            let rows = stmt
                .query_map(params![cursor.unwrap_or_default(), limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| err(&self.path, e))?;
            let mut page = Vec::new();
            for row in rows {
                let row: Row = row.map_err(|e| err(&self.path, e))?;
                page.push((artifact_from(&self.path, &row)?, from_blob(&row.4)));
            }
            let next = (page.len() == limit).then(|| page.last().map(|(a, _)| a.id.clone())).flatten();
            Ok((page, next))
        })
    }

    async fn replace_all(&self, info: &EmbeddingInfo, items: &[(Artifact, Vec<f32>)]) -> MemoryResult<()> {
        blocking(|| {
            {
                let mut conn = self.conn.lock().unwrap();
                let tx = conn.transaction().map_err(|e| err(&self.path, e))?;
                tx.execute("DELETE FROM artifacts", []).map_err(|e| err(&self.path, e))?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('model', ?1), ('dimension', ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![info.model, info.dimension.to_string()],
                )
                .map_err(|e| err(&self.path, e))?;
                self.write_items(&tx, items)?;
                tx.commit().map_err(|e| err(&self.path, e))?;
            }
            let mut index = Index::new(info.dimension);
            for (artifact, vector) in items {
                index.put(meta_of(artifact), vector);
            }
            *self.index.write().unwrap() = index;
            Ok(())
        })
    }
}

impl SqliteStore {
    /// The index, for the benchmark's exact-search reference.
    pub fn with_index<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        f(&self.index.read().unwrap())
    }
}
