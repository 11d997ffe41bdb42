//! Pattern memory: a helper function that several verified nodes define word for word, or a fix
//! made for the same kind of error in several evolves, is stored as a Pattern artifact; the
//! generator sees the patterns of similar tasks in its prompt. A pattern is stored only once it
//! recurs: one node's helper is that node's business.

use super::events::Stage;
use super::evolver::Ctx;
use super::learned::{self, PatternContent, PatternKind};
use crate::memory::{Artifact, ArtifactKind, Filter, Memory, Payload};
use crate::registry::Registry;

/// The top-level helper functions of `code` (every function but `entry`), each with its source
/// normalised (trailing spaces and blank lines dropped), from the parser.
pub fn helpers(code: &str, entry: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = code.lines().collect();
    crate::python::source_definitions(code)
        .into_iter()
        .filter(|d| d.kind == crate::python::DefKind::Function && d.column == 0 && d.name != entry)
        .map(|d| {
            let source = lines[d.start..d.end.min(lines.len())]
                .iter()
                .map(|l| l.trim_end())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            (d.name, source)
        })
        .collect()
}

/// What one verified evolve may add to pattern memory.
pub struct Seen<'a> {
    pub node_id: &'a str,
    pub task: &'a str,
    pub code: &'a str,
    pub entry: &'a str,
    /// The error a repair fixed and the code that fixed it.
    pub fixed: Option<(&'a str, &'a str)>,
}

/// Stores the helpers of `seen` that other verified nodes define too, and its fix when memory
/// holds a fix for a similar error from another task. Never fails the evolve: a warning at most.
pub async fn learn(ctx: &Ctx<'_>, memory: &Memory, registry: &Registry, seen: &Seen<'_>) {
    let mut found = Vec::new();
    for (name, source) in helpers(seen.code, seen.entry) {
        let others = match registry.nodes_defining(&name) {
            Ok(o) => o,
            Err(e) => {
                ctx.warn(Stage::Remember, 97, format!("patterns: {e}"));
                return;
            }
        };
        let sharing: Vec<(String, String)> = others
            .into_iter()
            .filter(|(id, _, code)| {
                id != seen.node_id && helpers(code, "").iter().any(|h| h.0 == name && h.1 == source)
            })
            .map(|(id, task, _)| (id, task))
            .collect();
        if sharing.is_empty() {
            continue;
        }
        let mut nodes = vec![seen.node_id.to_string()];
        nodes.extend(sharing.iter().map(|(id, _)| id.clone()));
        let mut tasks = vec![seen.task.to_string()];
        tasks.extend(sharing.into_iter().map(|(_, task)| task));
        let text = format!("{name}: {}", tasks.join("; "));
        let content = PatternContent { kind: PatternKind::Helper, name: name.clone(), code: source.clone(), nodes };
        found.push((format!("helper\n{source}"), text, content));
    }
    if let Some((error, after)) = seen.fixed
        && let Some(content) = recurring_fix(ctx, memory, seen, error, after).await
    {
        found.push((format!("fix\n{}", content.name), format!("fix for {}", content.name), content));
    }
    if found.is_empty() {
        return;
    }
    let names: Vec<String> = found.iter().map(|(_, _, c)| format!("`{}` ({} nodes)", c.name, c.nodes.len())).collect();
    let artifacts: Vec<Artifact> = found
        .into_iter()
        .map(|(key, text, content)| {
            let payload = Payload {
                task: seen.task.to_string(),
                tags: vec!["pattern".into()],
                language: "python".into(),
                quality: 1.0,
                content: serde_json::to_value(&content).unwrap_or_default(),
                ..Default::default()
            };
            Artifact::keyed(ArtifactKind::Pattern, &key, text, payload)
        })
        .collect();
    match memory.remember(artifacts).await {
        Ok(_) => ctx.emit(Stage::Remember, 97, format!("patterns that recur: {}", names.join(", "))),
        Err(e) => ctx.warn(Stage::Remember, 97, format!("patterns not remembered: {e}")),
    }
}

/// A stored fix for a similar error made for another task: the same kind of mistake, fixed
/// twice, is a pattern.
async fn recurring_fix(
    ctx: &Ctx<'_>,
    memory: &Memory,
    seen: &Seen<'_>,
    error: &str,
    after: &str,
) -> Option<PatternContent> {
    let hits = memory.similar(error, 3, &Filter::kind(ArtifactKind::Fix)).await.ok()?;
    let other = hits
        .iter()
        .filter(|h| h.score >= ctx.config.memory.fix_threshold)
        .find(|h| learned::fix_of(&h.artifact).is_some_and(|f| f.task != seen.task))?;
    let first_line = error.lines().find(|l| !l.trim().is_empty()).unwrap_or(error).trim().to_string();
    let previous = learned::fix_of(&other.artifact)?;
    Some(PatternContent {
        kind: PatternKind::Fix,
        name: first_line,
        code: format!("{}\n\n# fixed the same way before, for: {}", after.trim_end(), previous.task),
        nodes: vec![seen.node_id.to_string()],
    })
}

/// The patterns of tasks like `task`, as one text for the generation prompt (None: none close).
pub async fn for_task(ctx: &Ctx<'_>, memory: &Memory, task: &str) -> Option<(String, Vec<String>)> {
    let hits = memory.similar(task, 3, &Filter::kind(ArtifactKind::Pattern)).await.ok()?;
    let close: Vec<PatternContent> = hits
        .iter()
        .filter(|h| h.score >= ctx.config.memory.related_threshold)
        .filter_map(|h| learned::pattern_of(&h.artifact))
        .filter(|p| p.kind == PatternKind::Helper)
        .collect();
    if close.is_empty() {
        return None;
    }
    let names = close.iter().map(|p| p.name.clone()).collect();
    Some((close.iter().map(|p| p.code.as_str()).collect::<Vec<_>>().join("\n\n\n"), names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_are_the_top_level_functions_but_the_entry() {
        let code = "import math\n\ndef square(x):\n    return x * x  \n\n    # done\n\ndef total(xs):\n    def inner(y):\n        return y\n    return sum(square(x) for x in xs)\n";
        assert_eq!(
            helpers(code, "total"),
            vec![("square".to_string(), "def square(x):\n    return x * x\n    # done".to_string())]
        );
    }
}
