//! The node registry: every evolved node with its task, spec, tests, versions (with lineage) and
//! every run's metrics, in SQLite (WAL) in the data dir.

mod history;
mod time;

pub use history::{Point, UseFigures, VersionStats, sparkline};
pub use time::format_unix;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {path}: {error}")]
    Sql { path: String, error: rusqlite::Error },
    #[error("no node matches `{0}` (see `code-evolver list`)")]
    NotFound(String),
    #[error("`{0}` matches several nodes: {1}")]
    Ambiguous(String, String),
    #[error("node {0} has no version {1} (see `code-evolver show {0}`)")]
    NoVersion(String, i64),
}

pub struct Registry {
    pub(crate) conn: Mutex<Connection>,
    path: String,
}

/// What a node is, as `save` writes it beside its new versions: the task, its classification,
/// the spec (JSON) and the tests every version passes.
#[derive(Debug, Clone, Copy)]
pub struct NodeRecord<'a> {
    pub id: &'a str,
    pub task: &'a str,
    pub kind: &'a str,
    pub complexity: &'a str,
    pub function_name: &'a str,
    pub spec_json: &'a str,
    pub tests: &'a str,
    pub uses_tools: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewVersion {
    pub origin: String,
    pub code: String,
    pub program: String,
    pub model: String,
    pub change: String,
    pub tests_passed: usize,
    pub tests_total: usize,
    pub per_call_ns: Option<f64>,
    pub peak_rss_kb: Option<u64>,
    pub score: Option<f64>,
    pub findings_json: String,
    /// How strong the tests are on this version: the mutation report, as JSON, and its score.
    pub mutation_json: Option<String>,
    pub mutation_score: Option<f64>,
    /// The verified steps this version calls, when it is a workflow's function.
    pub steps: Vec<StepLink>,
}

/// A workflow version's link to one of its steps: the step's node and the version it was built
/// on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepLink {
    pub name: String,
    pub node_id: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeSummary {
    pub id: String,
    pub task: String,
    pub kind: String,
    pub function_name: String,
    pub current_version: i64,
    pub versions: i64,
    pub runs: i64,
    pub updated_at: i64,
    pub tests_passed: i64,
    pub tests_total: i64,
    pub score: Option<f64>,
    pub mutation_score: Option<f64>,
    /// Share of the current version's real runs that succeeded (None: no real run yet).
    pub success_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    pub version: i64,
    pub parent_version: Option<i64>,
    pub origin: String,
    pub model: String,
    pub change: String,
    pub tests_passed: i64,
    pub tests_total: i64,
    pub per_call_ns: Option<f64>,
    pub peak_rss_kb: Option<i64>,
    pub score: Option<f64>,
    pub created_at: i64,
    pub mutation_score: Option<f64>,
    pub mutation_json: Option<String>,
    /// The steps this version calls (a workflow's function), in order.
    pub steps: Vec<StepLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub version: i64,
    pub purpose: String,
    pub input: String,
    pub output: String,
    pub ok: bool,
    pub wall_ms: f64,
    pub cpu_ms: f64,
    pub max_rss_kb: i64,
    pub at: i64,
    pub caller: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeDetail {
    pub id: String,
    pub task: String,
    pub kind: String,
    pub complexity: String,
    pub function_name: String,
    pub spec_json: String,
    pub tests: String,
    pub current_version: i64,
    pub program: String,
    pub code: String,
    pub uses_tools: bool,
    pub versions: Vec<VersionRow>,
    pub runs: Vec<RunRow>,
    /// Real use of each version (runs outside tests): success rate, latency, memory.
    pub stats: Vec<VersionStats>,
}

impl NodeDetail {
    /// The node as `save` takes it, unchanged (new versions of the same spec and tests).
    pub fn record(&self) -> NodeRecord<'_> {
        NodeRecord {
            id: &self.id,
            task: &self.task,
            kind: &self.kind,
            complexity: &self.complexity,
            function_name: &self.function_name,
            spec_json: &self.spec_json,
            tests: &self.tests,
            uses_tools: self.uses_tools,
        }
    }
}

pub struct RunMetrics<'a> {
    pub purpose: &'a str,
    pub input: &'a str,
    pub output: &'a str,
    pub ok: bool,
    pub wall_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub max_rss_kb: u64,
    pub exit_code: Option<i32>,
    pub error: Option<&'a str>,
    /// Who ran it, when a node or an evolve called this node as a tool.
    pub caller: Option<&'a str>,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    kind TEXT NOT NULL,
    complexity TEXT NOT NULL,
    function_name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    tests TEXT NOT NULL,
    uses_tools INTEGER NOT NULL DEFAULT 0,
    current_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    node_id TEXT NOT NULL REFERENCES nodes(id),
    version INTEGER NOT NULL,
    parent_version INTEGER,
    origin TEXT NOT NULL,
    code TEXT NOT NULL,
    program TEXT NOT NULL,
    model TEXT NOT NULL,
    change TEXT NOT NULL,
    tests_passed INTEGER NOT NULL,
    tests_total INTEGER NOT NULL,
    per_call_ns REAL,
    peak_rss_kb INTEGER,
    score REAL,
    findings_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (node_id, version)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id TEXT NOT NULL REFERENCES nodes(id),
    version INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    ok INTEGER NOT NULL,
    wall_ms REAL NOT NULL,
    user_ms REAL NOT NULL,
    sys_ms REAL NOT NULL,
    max_rss_kb INTEGER NOT NULL,
    exit_code INTEGER,
    error TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_node ON runs(node_id, id);
CREATE TABLE IF NOT EXISTS version_steps (
    node_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    step_node_id TEXT NOT NULL,
    step_version INTEGER NOT NULL,
    PRIMARY KEY (node_id, version, position),
    FOREIGN KEY (node_id, version) REFERENCES versions(node_id, version)
);
CREATE INDEX IF NOT EXISTS version_steps_by_step ON version_steps(step_node_id);
";

impl Registry {
    pub fn open(path: &Path) -> Result<Registry, RegistryError> {
        let name = path.display().to_string();
        let sql = |error| RegistryError::Sql { path: name.clone(), error };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        // Columns added after the first release: a registry written before gets them empty.
        for (table, column, kind) in
            [("versions", "mutation_score", "REAL"), ("versions", "mutation_json", "TEXT"), ("runs", "caller", "TEXT")]
        {
            let present: bool = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(sql)?
                > 0;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}")).map_err(sql)?;
            }
        }
        Ok(Registry { conn: Mutex::new(conn), path: name })
    }

    pub(crate) fn sql(&self, error: rusqlite::Error) -> RegistryError {
        RegistryError::Sql { path: self.path.clone(), error }
    }

    /// Saves a node and its new versions in one transaction; an existing node (same id) gets the
    /// versions appended, each one's parent being the previous current version. Returns the
    /// number of the last version written.
    pub fn save(&self, node: &NodeRecord<'_>, versions: &[NewVersion]) -> Result<i64, RegistryError> {
        crate::memory::blocking(|| {
            let NodeRecord { id, task, kind, complexity, function_name, spec_json, tests, uses_tools } = *node;
            let mut conn = self.conn.lock().unwrap();
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            let t = now();
            let current: Option<i64> = tx
                .query_row("SELECT current_version FROM nodes WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(|e| self.sql(e))?;
            // The node row first (versions refer to it), then the versions, then its current version.
            tx.execute(
                "INSERT INTO nodes (id, task, kind, complexity, function_name, spec_json, tests, uses_tools, current_version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT(id) DO UPDATE SET task = excluded.task, kind = excluded.kind, complexity = excluded.complexity,
                    function_name = excluded.function_name, spec_json = excluded.spec_json, tests = excluded.tests,
                    uses_tools = excluded.uses_tools, updated_at = excluded.updated_at",
                params![id, task, kind, complexity, function_name, spec_json, tests, uses_tools, current.unwrap_or(0), t],
            )
            .map_err(|e| self.sql(e))?;
            // After a rollback the current version is not the newest: new numbers follow the newest.
            let newest: Option<i64> = tx
                .query_row("SELECT MAX(version) FROM versions WHERE node_id = ?1", [id], |r| r.get(0))
                .map_err(|e| self.sql(e))?;
            let mut parent = current;
            let mut version = newest.or(current).unwrap_or(0);
            for v in versions {
                version += 1;
                tx.execute(
                    "INSERT INTO versions (node_id, version, parent_version, origin, code, program, model, change,
                        tests_passed, tests_total, per_call_ns, peak_rss_kb, score, findings_json, created_at, mutation_score, mutation_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                    params![
                        id,
                        version,
                        parent,
                        v.origin,
                        v.code,
                        v.program,
                        v.model,
                        v.change,
                        v.tests_passed as i64,
                        v.tests_total as i64,
                        v.per_call_ns,
                        v.peak_rss_kb.map(|x| x as i64),
                        v.score,
                        v.findings_json,
                        t,
                        v.mutation_score,
                        v.mutation_json
                    ],
                )
                .map_err(|e| self.sql(e))?;
                for (position, step) in v.steps.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO version_steps (node_id, version, position, name, step_node_id, step_version)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![id, version, position as i64, step.name, step.node_id, step.version],
                    )
                    .map_err(|e| self.sql(e))?;
                }
                parent = Some(version);
            }
            tx.execute("UPDATE nodes SET current_version = ?2 WHERE id = ?1", params![id, version])
                .map_err(|e| self.sql(e))?;
            tx.commit().map_err(|e| self.sql(e))?;
            Ok(version)
        })
    }

    pub fn record_run(&self, node_id: &str, version: i64, m: &RunMetrics<'_>) -> Result<(), RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            conn.execute(
                "INSERT INTO runs (node_id, version, purpose, input, output, ok, wall_ms, user_ms, sys_ms, max_rss_kb, exit_code, error, at, caller)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    node_id, version, m.purpose, m.input, m.output, m.ok, m.wall_ms, m.user_ms, m.sys_ms,
                    m.max_rss_kb as i64, m.exit_code, m.error, now(), m.caller
                ],
            )
            .map_err(|e| self.sql(e))?;
            Ok(())
        })
    }

    pub fn list(&self) -> Result<Vec<NodeSummary>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt = conn
                .prepare(
                    "SELECT n.id, n.task, n.kind, n.function_name, n.current_version,
                        (SELECT COUNT(*) FROM versions v WHERE v.node_id = n.id),
                        (SELECT COUNT(*) FROM runs r WHERE r.node_id = n.id),
                        n.updated_at, v.tests_passed, v.tests_total, v.score, v.mutation_score,
                        (SELECT AVG(r.ok) FROM runs r WHERE r.node_id = n.id AND r.version = n.current_version
                            AND r.purpose IN ('run', 'evolve', 'call', 'step', 'editor'))
                     FROM nodes n JOIN versions v ON v.node_id = n.id AND v.version = n.current_version
                     ORDER BY n.updated_at DESC, n.id",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(NodeSummary {
                        id: r.get(0)?,
                        task: r.get(1)?,
                        kind: r.get(2)?,
                        function_name: r.get(3)?,
                        current_version: r.get(4)?,
                        versions: r.get(5)?,
                        runs: r.get(6)?,
                        updated_at: r.get(7)?,
                        tests_passed: r.get(8)?,
                        tests_total: r.get(9)?,
                        score: r.get(10)?,
                        mutation_score: r.get(11)?,
                        success_rate: r.get(12)?,
                    })
                })
                .map_err(|e| self.sql(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql(e))?;
            Ok(rows)
        })
    }

    /// A node by id or unique id prefix.
    pub fn resolve(&self, id_or_prefix: &str) -> Result<String, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let pattern = format!("{}%", id_or_prefix.replace('%', "").replace('_', "\\_"));
            let mut stmt = conn
                .prepare("SELECT id FROM nodes WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' ORDER BY id")
                .map_err(|e| self.sql(e))?;
            let ids: Vec<String> = stmt
                .query_map(params![id_or_prefix, pattern], |r| r.get(0))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            if ids.iter().any(|i| i == id_or_prefix) {
                return Ok(id_or_prefix.to_string());
            }
            match ids.len() {
                0 => Err(RegistryError::NotFound(id_or_prefix.to_string())),
                1 => Ok(ids[0].clone()),
                _ => Err(RegistryError::Ambiguous(id_or_prefix.to_string(), ids.join(", "))),
            }
        })
    }

    pub fn get(&self, id_or_prefix: &str) -> Result<NodeDetail, RegistryError> {
        crate::memory::blocking(|| {
            let id = self.resolve(id_or_prefix)?;
            let conn = self.conn.lock().unwrap();
            let (task, kind, complexity, function_name, spec_json, tests, uses_tools, current_version): (
                String, String, String, String, String, String, bool, i64,
            ) = conn
                .query_row(
                    "SELECT task, kind, complexity, function_name, spec_json, tests, uses_tools, current_version FROM nodes WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
                )
                .map_err(|e| self.sql(e))?;
            let (program, code): (String, String) = conn
                .query_row(
                    "SELECT program, code FROM versions WHERE node_id = ?1 AND version = ?2",
                    params![id, current_version],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.sql(e))?;
            let mut stmt = conn
                .prepare(
                    "SELECT version, parent_version, origin, model, change, tests_passed, tests_total, per_call_ns, peak_rss_kb, score, created_at, mutation_score, mutation_json
                     FROM versions WHERE node_id = ?1 ORDER BY version",
                )
                .map_err(|e| self.sql(e))?;
            let versions = stmt
                .query_map([&id], |r| {
                    Ok(VersionRow {
                        version: r.get(0)?,
                        parent_version: r.get(1)?,
                        origin: r.get(2)?,
                        model: r.get(3)?,
                        change: r.get(4)?,
                        tests_passed: r.get(5)?,
                        tests_total: r.get(6)?,
                        per_call_ns: r.get(7)?,
                        peak_rss_kb: r.get(8)?,
                        score: r.get(9)?,
                        created_at: r.get(10)?,
                        mutation_score: r.get(11)?,
                        mutation_json: r.get(12)?,
                        steps: Vec::new(),
                    })
                })
                .map_err(|e| self.sql(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql(e))?;
            let mut versions = versions;
            let mut stmt = conn
                .prepare(
                    "SELECT version, name, step_node_id, step_version FROM version_steps WHERE node_id = ?1 ORDER BY version, position",
                )
                .map_err(|e| self.sql(e))?;
            let links = stmt
                .query_map([&id], |r| {
                    Ok((r.get::<_, i64>(0)?, StepLink { name: r.get(1)?, node_id: r.get(2)?, version: r.get(3)? }))
                })
                .map_err(|e| self.sql(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql(e))?;
            for (version, link) in links {
                if let Some(v) = versions.iter_mut().find(|v| v.version == version) {
                    v.steps.push(link);
                }
            }
            let mut stmt = conn
                .prepare(
                    "SELECT version, purpose, input, output, ok, wall_ms, user_ms + sys_ms, max_rss_kb, at, caller
                     FROM runs WHERE node_id = ?1 ORDER BY id DESC LIMIT 20",
                )
                .map_err(|e| self.sql(e))?;
            let runs = stmt
                .query_map([&id], |r| {
                    Ok(RunRow {
                        version: r.get(0)?,
                        purpose: r.get(1)?,
                        input: r.get(2)?,
                        output: r.get(3)?,
                        ok: r.get(4)?,
                        wall_ms: r.get(5)?,
                        cpu_ms: r.get(6)?,
                        max_rss_kb: r.get(7)?,
                        at: r.get(8)?,
                        caller: r.get(9)?,
                    })
                })
                .map_err(|e| self.sql(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql(e))?;
            let stats = history::stats_with(&conn, &id).map_err(|e| self.sql(e))?;
            Ok(NodeDetail {
                id,
                task,
                kind,
                complexity,
                function_name,
                spec_json,
                tests,
                current_version,
                program,
                code,
                uses_tools,
                versions,
                runs,
                stats,
            })
        })
    }
}
