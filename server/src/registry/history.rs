//! What the registry knows about a node's life: run history per version (success rate, latency
//! percentiles, peak memory), inputs real runs failed on, and the changes auto-evolution makes
//! (current version, pruning, deletion). Every change is one transaction.

use super::{Registry, RegistryError};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// Runs that are real use of a node (not the verifying test run or a bench).
pub const USE_PURPOSES: &str = "('run', 'evolve', 'call', 'step', 'editor')";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VersionStats {
    pub version: i64,
    pub runs: usize,
    pub ok: usize,
    pub success_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub peak_rss_kb: Option<i64>,
}

/// One real run: (version, wall ms, ok), oldest first.
pub type Point = (i64, f64, bool);

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[rank.min(sorted.len() - 1)])
}

/// A node's due-check figures for its current version, in one query.
#[derive(Debug, Clone)]
pub struct UseFigures {
    pub node_id: String,
    pub current_version: i64,
    pub task: String,
    /// Real runs of the current version, newest first: (run id, ok, wall ms, input, error).
    pub recent: Vec<(i64, bool, f64, String, String)>,
    /// The run id of the last re-evolution attempt, if any.
    pub last_attempt_id: Option<i64>,
}

impl Registry {
    /// Success rate, p50/p95 latency and peak RSS of each version's real runs.
    pub fn version_stats(&self, id: &str) -> Result<Vec<VersionStats>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            stats_with(&conn, id).map_err(|e| self.sql(e))
        })
    }

    /// The last `limit` real runs of a node, oldest first (for the latency plot).
    pub fn latency_points(&self, id: &str, limit: usize) -> Result<Vec<Point>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT version, wall_ms, ok FROM runs WHERE node_id = ?1 AND purpose IN {USE_PURPOSES} ORDER BY id DESC LIMIT ?2"
                ))
                .map_err(|e| self.sql(e))?;
            let mut points: Vec<Point> = stmt
                .query_map(params![id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            points.reverse();
            Ok(points)
        })
    }

    /// Every node's current version and its last `window` real runs: what the due check reads.
    /// One pass over the runs index per node.
    pub fn use_figures(&self, window: usize) -> Result<Vec<UseFigures>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut nodes =
                conn.prepare("SELECT id, current_version, task FROM nodes ORDER BY id").map_err(|e| self.sql(e))?;
            let heads: Vec<(String, i64, String)> = nodes
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            let mut runs = conn
                .prepare(&format!(
                    "SELECT id, ok, wall_ms, input, COALESCE(error, output) FROM runs
                     WHERE node_id = ?1 AND version = ?2 AND purpose IN {USE_PURPOSES} ORDER BY id DESC LIMIT ?3"
                ))
                .map_err(|e| self.sql(e))?;
            let mut attempts = conn
                .prepare("SELECT MAX(id) FROM runs WHERE node_id = ?1 AND purpose = 'auto-evolve'")
                .map_err(|e| self.sql(e))?;
            let mut out = Vec::with_capacity(heads.len());
            for (node_id, current_version, task) in heads {
                let recent: Vec<(i64, bool, f64, String, String)> = runs
                    .query_map(params![node_id, current_version, window as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .map_err(|e| self.sql(e))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.sql(e))?;
                let last_attempt_id: Option<i64> =
                    attempts.query_row([&node_id], |r| r.get(0)).map_err(|e| self.sql(e))?;
                out.push(UseFigures { node_id, current_version, task, recent, last_attempt_id });
            }
            Ok(out)
        })
    }

    /// Real runs of versions before `version` (newest first, at most `limit`): wall ms and ok.
    pub fn earlier_use(&self, id: &str, version: i64, limit: usize) -> Result<Vec<(bool, f64)>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT ok, wall_ms FROM runs WHERE node_id = ?1 AND version < ?2 AND purpose IN {USE_PURPOSES} ORDER BY id DESC LIMIT ?3"
                ))
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map(params![id, version, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            Ok(rows)
        })
    }

    /// Nodes whose function has this name.
    /// The nodes whose current code defines a function `name` (at any place): (id, task, code).
    pub fn nodes_defining(&self, name: &str) -> Result<Vec<(String, String, String)>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt = conn
                .prepare(
                    "SELECT n.id, n.task, v.code FROM nodes n
                     JOIN versions v ON v.node_id = n.id AND v.version = n.current_version
                     WHERE instr(v.code, ?1) > 0 ORDER BY n.id",
                )
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map([format!("def {name}(")], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            Ok(rows)
        })
    }

    pub fn ids_with_function(&self, name: &str) -> Result<Vec<String>, RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let mut stmt =
                conn.prepare("SELECT id FROM nodes WHERE function_name = ?1 ORDER BY id").map_err(|e| self.sql(e))?;
            let ids = stmt
                .query_map([name], |r| r.get(0))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            Ok(ids)
        })
    }

    /// Replaces a node's spec and tests (its cases grew; the code stays).
    pub fn update_spec(&self, id: &str, spec_json: &str, tests: &str) -> Result<(), RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            conn.execute(
                "UPDATE nodes SET spec_json = ?2, tests = ?3, updated_at = strftime('%s','now') WHERE id = ?1",
                params![id, spec_json, tests],
            )
            .map_err(|e| self.sql(e))?;
            Ok(())
        })
    }

    /// Makes `version` the node's current one; it must exist.
    pub fn set_current(&self, id: &str, version: i64) -> Result<(), RegistryError> {
        crate::memory::blocking(|| {
            let conn = self.conn.lock().unwrap();
            let exists: Option<i64> = conn
                .query_row(
                    "SELECT version FROM versions WHERE node_id = ?1 AND version = ?2",
                    params![id, version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            if exists.is_none() {
                return Err(RegistryError::NoVersion(id.to_string(), version));
            }
            conn.execute(
                "UPDATE nodes SET current_version = ?2, updated_at = strftime('%s','now') WHERE id = ?1",
                params![id, version],
            )
            .map_err(|e| self.sql(e))?;
            Ok(())
        })
    }

    /// Removes versions (never the current one) and their runs. Children of a removed version
    /// keep their number; their parent link then names a version that is gone, which `show`
    /// says.
    pub fn delete_versions(&self, id: &str, versions: &[i64]) -> Result<usize, RegistryError> {
        crate::memory::blocking(|| {
            let mut conn = self.conn.lock().unwrap();
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            let current: i64 = tx
                .query_row("SELECT current_version FROM nodes WHERE id = ?1", [id], |r| r.get(0))
                .map_err(|e| self.sql(e))?;
            let mut removed = 0;
            for v in versions.iter().filter(|v| **v != current) {
                tx.execute("DELETE FROM runs WHERE node_id = ?1 AND version = ?2", params![id, v])
                    .map_err(|e| self.sql(e))?;
                tx.execute("DELETE FROM version_steps WHERE node_id = ?1 AND version = ?2", params![id, v])
                    .map_err(|e| self.sql(e))?;
                removed += tx
                    .execute("DELETE FROM versions WHERE node_id = ?1 AND version = ?2", params![id, v])
                    .map_err(|e| self.sql(e))?;
            }
            tx.commit().map_err(|e| self.sql(e))?;
            Ok(removed)
        })
    }

    /// Removes a node, its versions and its runs.
    pub fn delete_node(&self, id: &str) -> Result<(), RegistryError> {
        crate::memory::blocking(|| {
            let mut conn = self.conn.lock().unwrap();
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            tx.execute("DELETE FROM runs WHERE node_id = ?1", [id]).map_err(|e| self.sql(e))?;
            tx.execute("DELETE FROM version_steps WHERE node_id = ?1", [id]).map_err(|e| self.sql(e))?;
            tx.execute("DELETE FROM versions WHERE node_id = ?1", [id]).map_err(|e| self.sql(e))?;
            let gone = tx.execute("DELETE FROM nodes WHERE id = ?1", [id]).map_err(|e| self.sql(e))?;
            if gone == 0 {
                return Err(RegistryError::NotFound(id.to_string()));
            }
            tx.commit().map_err(|e| self.sql(e))?;
            Ok(())
        })
    }
}

/// `Registry::version_stats` on an open connection (also used inside `Registry::get`).
pub(super) fn stats_with(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Vec<VersionStats>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT version, ok, wall_ms, max_rss_kb FROM runs WHERE node_id = ?1 AND purpose IN {USE_PURPOSES} ORDER BY version, id"
    ))?;
    let rows: Vec<(i64, bool, f64, i64)> =
        stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    let mut out: Vec<VersionStats> = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
        let mut times: Vec<f64> = chunk.iter().map(|r| r.2).collect();
        times.sort_by(f64::total_cmp);
        let ok = chunk.iter().filter(|r| r.1).count();
        out.push(VersionStats {
            version: chunk[0].0,
            runs: chunk.len(),
            ok,
            success_rate: Some(ok as f64 / chunk.len() as f64),
            p50_ms: percentile(&times, 0.5),
            p95_ms: percentile(&times, 0.95),
            peak_rss_kb: chunk.iter().map(|r| r.3).max(),
        });
    }
    Ok(out)
}

/// A small plot of latency over runs, one character per run (▁ fast … █ slow, ✗ failed).
pub fn sparkline(points: &[Point]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let ok: Vec<f64> = points.iter().filter(|p| p.2).map(|p| p.1).collect();
    let (lo, hi) = ok.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    points
        .iter()
        .map(|(_, ms, ok)| {
            if !ok {
                return '✗';
            }
            if hi <= lo {
                return BARS[0];
            }
            BARS[(((ms - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_shows_slow_runs_high_and_failures_apart() {
        let points = vec![(1, 10.0, true), (1, 80.0, true), (1, 0.0, false), (2, 45.0, true)];
        assert_eq!(sparkline(&points), "▁█✗▅");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(3.0));
    }
}
