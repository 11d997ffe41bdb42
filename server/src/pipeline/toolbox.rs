//! toolbox: every tool a node can call — the configured `llm` and `executable` tools and every
//! verified node (callable by id or function name through `call_tool`) — found by meaning and
//! ranked by fitness. Fitness is the prototype's formula: similarity × 100, then points for the
//! declared speed, cost and quality tiers, for the measured success rate and latency of the
//! tool's calls, for its usage, and its manual weight; each term is scaled by `tool_fitness` in
//! the configuration and shown.

use super::evolver::{EvolveError, Evolver};
use crate::config::{ToolFitnessConfig, ToolKind};
use crate::memory::{ArtifactKind, Filter};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// What `call_tool` takes: the configured name, or the node's id.
    pub name: String,
    /// llm | executable | node
    pub kind: String,
    pub description: String,
    pub tags: Vec<String>,
    pub cost_tier: Option<String>,
    pub speed_tier: Option<String>,
    pub quality_tier: Option<String>,
    pub manual_weight: f64,
    /// A node's call shape, e.g. `add(a: int, b: int) -> int`.
    pub signature: Option<String>,
    /// Measured: real runs of the current version (calls, `run`, the editor).
    pub calls: usize,
    pub success_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub peak_rss_kb: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankedTool {
    pub tool: ToolInfo,
    pub similarity: f64,
    pub fitness: f64,
    /// Each term's points after its weight, e.g. ("similarity", 83.0).
    pub terms: Vec<(String, f64)>,
}

fn tier_points(kind: &str, tier: Option<&str>) -> f64 {
    let tier = tier.unwrap_or("").to_lowercase().replace(['_', ' '], "-");
    match (kind, tier.as_str()) {
        ("speed", "very-fast") => 20.0,
        ("speed", "fast") => 10.0,
        ("speed", "slow") => -10.0,
        ("speed", "very-slow") => -20.0,
        ("cost", "free") => 15.0,
        ("cost", "low") => 10.0,
        ("cost", "high") => -10.0,
        ("cost", "very-high") => -15.0,
        ("quality", "excellent") => 15.0,
        ("quality", "very-good") => 10.0,
        ("quality", "poor") => -15.0,
        _ => 0.0,
    }
}

/// The fitness of `tool` at `similarity` (cosine, -1..1), with its terms.
pub fn fitness(tool: &ToolInfo, similarity: f64, weights: &ToolFitnessConfig) -> (f64, Vec<(String, f64)>) {
    let mut terms = vec![("similarity".to_string(), similarity * 100.0 * weights.similarity)];
    let tiers = tier_points("speed", tool.speed_tier.as_deref())
        + tier_points("cost", tool.cost_tier.as_deref())
        + tier_points("quality", tool.quality_tier.as_deref());
    if tiers != 0.0 {
        terms.push(("tiers".into(), tiers * weights.tiers));
    }
    // Measured success counts once there is enough of it: 100% ok +20, 50% 0, 0% -20.
    if tool.calls >= 3
        && let Some(rate) = tool.success_rate
    {
        terms.push(("success".into(), (rate - 0.5) * 40.0 * weights.success));
    }
    if let Some(ms) = tool.p50_ms {
        let points = if ms < 100.0 {
            15.0
        } else if ms < 500.0 {
            10.0
        } else if ms > 5000.0 {
            -10.0
        } else {
            0.0
        };
        terms.push(("latency".into(), points * weights.latency));
    }
    if tool.calls > 0 {
        terms.push(("usage".into(), (1.0 + tool.calls as f64).ln() * 3.0 * weights.usage));
    }
    if tool.manual_weight != 0.0 {
        terms.push(("manual".into(), tool.manual_weight * weights.manual));
    }
    (terms.iter().map(|(_, v)| v).sum(), terms)
}

/// Words of a text, for the similarity used when no embedder answers.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(String::from).collect()
}

fn word_overlap(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.iter().filter(|w| b.contains(w)).count();
    shared as f64 / a.len().max(b.len()) as f64
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { f64::from(dot / (na * nb)) }
}

impl Evolver {
    /// Every tool: configured ones, then each node whose current version passes all its tests.
    pub fn tool_catalogue(&self) -> Result<Vec<ToolInfo>, EvolveError> {
        let mut out: Vec<ToolInfo> = self
            .config()
            .tools
            .iter()
            .map(|(name, t)| ToolInfo {
                name: name.clone(),
                kind: match t.kind {
                    ToolKind::Llm => "llm".into(),
                    ToolKind::Executable => "executable".into(),
                },
                description: t.description.clone(),
                tags: t.tags.clone(),
                cost_tier: t.cost_tier.clone(),
                speed_tier: t.speed_tier.clone(),
                quality_tier: t.quality_tier.clone(),
                manual_weight: t.manual_weight,
                signature: None,
                calls: 0,
                success_rate: None,
                p50_ms: None,
                peak_rss_kb: None,
            })
            .collect();
        for n in self.registry().list()? {
            if n.tests_total == 0 || n.tests_passed < n.tests_total {
                continue;
            }
            let detail = self.registry().get(&n.id)?;
            let stats = detail.stats.iter().find(|s| s.version == detail.current_version);
            let signature = serde_json::from_str::<super::spec::Spec>(&detail.spec_json).ok().map(|s| s.signature());
            out.push(ToolInfo {
                name: n.id.clone(),
                kind: "node".into(),
                description: n.task.clone(),
                tags: vec![n.kind.clone()],
                cost_tier: Some("free".into()),
                speed_tier: None,
                quality_tier: None,
                manual_weight: 0.0,
                signature,
                calls: stats.map(|s| s.runs).unwrap_or(0),
                success_rate: stats.and_then(|s| s.success_rate),
                p50_ms: stats.and_then(|s| s.p50_ms),
                peak_rss_kb: stats.and_then(|s| s.peak_rss_kb),
            });
        }
        Ok(out)
    }

    /// The tools that fit `text`, best first: found by meaning (the embedder, or shared words
    /// when none answers), ranked by fitness.
    pub async fn search_tools(&self, text: &str, k: usize) -> Result<Vec<RankedTool>, EvolveError> {
        let catalogue = self.tool_catalogue()?;
        let weights = &self.config().tool_fitness;
        let descriptions: Vec<String> = catalogue
            .iter()
            .map(|t| format!("{} {} {}", t.description, t.tags.join(" "), t.signature.clone().unwrap_or_default()))
            .collect();
        // Nodes: similarity of their task from memory's index when it has them; every tool's
        // description embedded otherwise (configured tools are few).
        let mut similarity: BTreeMap<String, f64> = BTreeMap::new();
        if let Some(memory) = self.memory()
            && let Ok(hits) = memory.similar(text, 64, &Filter::kind(ArtifactKind::Function)).await
        {
            for hit in hits {
                if let Some(id) = hit.artifact.payload.lineage.get("node_id").and_then(|v| v.as_str()) {
                    let best = similarity.entry(id.to_string()).or_insert(f64::MIN);
                    *best = best.max(f64::from(hit.score));
                }
            }
        }
        let missing: Vec<usize> =
            (0..catalogue.len()).filter(|i| !similarity.contains_key(&catalogue[*i].name)).collect();
        let mut texts = vec![text.to_string()];
        texts.extend(missing.iter().map(|i| descriptions[*i].clone()));
        let embedded = match self.memory() {
            Some(memory) if texts.len() > 1 => memory.embed(&texts).await.ok(),
            _ => None,
        };
        for (n, i) in missing.iter().enumerate() {
            let s = match &embedded {
                Some(vectors) => cosine(&vectors[0], &vectors[n + 1]),
                None => word_overlap(text, &descriptions[*i]),
            };
            similarity.insert(catalogue[*i].name.clone(), s);
        }
        let mut ranked: Vec<RankedTool> = catalogue
            .into_iter()
            .map(|tool| {
                let s = similarity.get(&tool.name).copied().unwrap_or(0.0);
                let (fitness, terms) = fitness(&tool, s, weights);
                RankedTool { tool, similarity: s, fitness, terms }
            })
            .collect();
        ranked.sort_by(|a, b| b.fitness.total_cmp(&a.fitness));
        ranked.truncate(k);
        Ok(ranked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(calls: usize, rate: f64, p50: f64) -> ToolInfo {
        ToolInfo {
            name: "t".into(),
            kind: "node".into(),
            description: "parse dates".into(),
            tags: vec![],
            cost_tier: None,
            speed_tier: None,
            quality_tier: None,
            manual_weight: 0.0,
            signature: None,
            calls,
            success_rate: Some(rate),
            p50_ms: Some(p50),
            peak_rss_kb: None,
        }
    }

    #[test]
    fn a_faster_more_reliable_tool_with_the_same_meaning_wins_and_a_broken_one_sinks() {
        let w = ToolFitnessConfig::default();
        let (good, _) = fitness(&tool(20, 1.0, 40.0), 0.8, &w);
        let (slow, _) = fitness(&tool(20, 1.0, 6000.0), 0.8, &w);
        let (broken, terms) = fitness(&tool(20, 0.1, 40.0), 0.8, &w);
        assert!(good > slow && slow > broken, "{good} {slow} {broken}");
        assert!(terms.iter().any(|(n, v)| n == "success" && *v < 0.0));
        // A clearly better meaning still beats small measured differences.
        let (other, _) = fitness(&tool(20, 1.0, 40.0), 0.3, &w);
        assert!(good - other >= 45.0);
    }
}
