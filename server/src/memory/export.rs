//! The memory's export format: JSON lines, a header naming the embedder that made the vectors,
//! then one artifact with its vector per line. Read whole and checked before anything is stored.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Artifact, EmbeddingInfo};

/// The header line: which embedder made the vectors.
#[derive(Serialize, Deserialize)]
struct Header {
    code_evolver_memory: u32,
    model: String,
    dimension: usize,
}

/// One artifact line.
#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(flatten)]
    artifact: Artifact,
    vector: Vec<f32>,
}

/// Writes `items` to `file`, beside it first and renamed at the end: a failed export leaves no
/// half file.
pub fn write(file: &Path, info: Option<&EmbeddingInfo>, items: &[(Artifact, Vec<f32>)]) -> std::io::Result<()> {
    let tmp = file.with_extension("jsonl.partial");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    if let Some(info) = info {
        let header = Header { code_evolver_memory: 1, model: info.model.clone(), dimension: info.dimension };
        writeln!(out, "{}", serde_json::to_string(&header)?)?;
    }
    for (artifact, vector) in items {
        writeln!(out, "{}", serde_json::to_string(&Line { artifact: artifact.clone(), vector: vector.clone() })?)?;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, file)
}

/// What an export holds: its embedder (when the header names it) and its artifacts. Err says
/// which line of which file is wrong (nothing is half-read).
pub type Exported = (Option<EmbeddingInfo>, Vec<(Artifact, Vec<f32>)>);

pub fn read(file: &Path) -> Result<Exported, String> {
    let reader = std::io::BufReader::new(std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?);
    let mut header = None;
    let mut items = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        if n == 0
            && let Ok(h) = serde_json::from_str::<Header>(&line)
        {
            header = Some(EmbeddingInfo { model: h.model, dimension: h.dimension });
            continue;
        }
        let l: Line = serde_json::from_str(&line).map_err(|e| {
            format!("{}:{}: not an exported artifact: {e}; nothing was imported", file.display(), n + 1)
        })?;
        items.push((l.artifact, l.vector));
    }
    Ok((header, items))
}
