//! `code-evolver tools list | search TEXT | show NAME`: the configured tools and the verified
//! nodes callable through `call_tool`, found by meaning and ranked by fitness (terms shown).

use super::{CliResult, Global};
use crate::pipeline::toolbox::{RankedTool, ToolInfo};
use crate::{failed, usage};

fn measured(t: &ToolInfo) -> String {
    if t.calls == 0 {
        return "no runs yet".into();
    }
    format!(
        "{} run(s), {:.0}% ok, p50 {}",
        t.calls,
        t.success_rate.unwrap_or(0.0) * 100.0,
        t.p50_ms.map(|ms| format!("{ms:.1} ms")).unwrap_or_else(|| "-".into())
    )
}

fn tiers(t: &ToolInfo) -> String {
    [("cost", &t.cost_tier), ("speed", &t.speed_tier), ("quality", &t.quality_tier)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list(global: &Global, json: bool) -> CliResult {
    let evolver = global.evolver()?;
    match evolver.tool_catalogue() {
        Ok(tools) if json => {
            println!("{}", serde_json::to_string_pretty(&tools).unwrap_or_default());
            Ok(())
        }
        Ok(tools) => {
            println!("{} tool(s): configured tools, then verified nodes (call_tool by name or id)", tools.len());
            for t in &tools {
                println!(
                    "  {:<28} {:<10} {} · {}{}",
                    t.name,
                    t.kind,
                    t.signature.clone().unwrap_or_else(|| t.description.chars().take(60).collect()),
                    measured(t),
                    if tiers(t).is_empty() { String::new() } else { format!(" · {}", tiers(t)) }
                );
            }
            Ok(())
        }
        Err(e) => Err(failed!("{e}")),
    }
}

fn print_ranked(r: &RankedTool) {
    println!(
        "  {:>6.1}  {:<28} {:<10} similarity {:.2} · {}",
        r.fitness,
        r.tool.name,
        r.tool.kind,
        r.similarity,
        r.terms.iter().map(|(n, v)| format!("{n} {v:+.1}")).collect::<Vec<_>>().join(", ")
    );
}

pub async fn search(global: &Global, text: &str, k: usize, json: bool) -> CliResult {
    if text.trim().is_empty() {
        return Err(usage!("say what the tool should do: tools search \"parse a date\""));
    }
    let evolver = global.evolver()?;
    let _ = evolver.router().check_reachability().await;
    match evolver.search_tools(text, k).await {
        Ok(ranked) if json => {
            println!("{}", serde_json::to_string_pretty(&ranked).unwrap_or_default());
            Ok(())
        }
        Ok(ranked) => {
            println!("fitness  tool (best first; terms after their weights in tool_fitness)");
            ranked.iter().for_each(print_ranked);
            Ok(())
        }
        Err(e) => Err(failed!("{e}")),
    }
}

pub async fn show(global: &Global, name: &str) -> CliResult {
    let evolver = global.evolver()?;
    let tools = match evolver.tool_catalogue() {
        Ok(t) => t,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    let found = tools.iter().find(|t| t.name == name).or_else(|| {
        let matching: Vec<&ToolInfo> = tools.iter().filter(|t| t.name.starts_with(name)).collect();
        (matching.len() == 1).then(|| matching[0])
    });
    let Some(t) = found else {
        return Err(usage!("no tool named `{name}` (see `code-evolver tools list`)"));
    };
    println!("{} ({})", t.name, t.kind);
    println!("  {}", t.description);
    if let Some(sig) = &t.signature {
        println!("  call: call_tool(\"{}\", a=..., ...)  — {sig}", t.name);
    }
    if !t.tags.is_empty() {
        println!("  tags: {}", t.tags.join(", "));
    }
    if !tiers(t).is_empty() {
        println!("  declared: {}", tiers(t));
    }
    println!("  measured: {}", measured(t));
    if t.manual_weight != 0.0 {
        println!("  manual weight: {:+}", t.manual_weight);
    }
    Ok(())
}
