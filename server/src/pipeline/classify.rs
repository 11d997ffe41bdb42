//! classify: the task's kind and complexity, from the classifier role's structured answer, or from
//! keywords when that answer is unusable (the event says so).

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Classification, Complexity, TaskKind};
use super::{prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};

pub async fn classify(ctx: &Ctx<'_>, task: &str) -> Result<Classification, EvolveError> {
    ctx.emit(Stage::Classify, 2, "classifying the task");
    let answer = ctx.ask(Stage::Classify, 4, Role::Classifier, None, request(task)).await?;
    match parse(&answer.text) {
        Ok(c) => Ok(sanity_checked(c, task, ctx)),
        Err(why) => {
            if !ctx.config.pipeline.classify_fallback_keywords {
                return Err(EvolveError::Model(format!("the classifier's answer was unusable: {why}")));
            }
            let c = by_keywords(task);
            ctx.warn(
                Stage::Classify,
                5,
                format!("the classifier's answer was unusable ({why}); the keyword classifier decided"),
            );
            Ok(c)
        }
    }
}

/// The classifier's request for `task` (also what `setup` warms, warm.rs).
pub(crate) fn request(task: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(prompts::CLASSIFY_SYSTEM), Message::user(prompts::classify_user(task))],
        schema: Some(schema::classify()),
        ..Default::default()
    }
}

/// Small models call "add 10 and 20" writing now and then. Content needs a writing word in the
/// task (joke, poem, story, ...); without one the keyword classifier's kind wins, and says so.
fn sanity_checked(c: Classification, task: &str, ctx: &Ctx<'_>) -> Classification {
    let keywords = by_keywords(task);
    if c.kind.is_content() != keywords.kind.is_content() && ctx.config.pipeline.classify_fallback_keywords {
        ctx.warn(
            Stage::Classify,
            5,
            format!(
                "the classifier said {}, but the task {}: {} wins",
                c.kind.as_str(),
                if keywords.kind.is_content() { "asks for writing" } else { "asks for no writing" },
                keywords.kind.as_str()
            ),
        );
        return Classification {
            kind: keywords.kind,
            complexity: c.complexity,
            reason: keywords.reason,
            by_keywords: true,
        };
    }
    c
}

fn parse(text: &str) -> Result<Classification, String> {
    let value = schema::parse_json_answer(text).ok_or_else(|| format!("not JSON: {:?}", snip(text)))?;
    let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or("");
    let kind = match kind.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
        "arithmetic" => TaskKind::Arithmetic,
        "simple_content" => TaskKind::SimpleContent,
        "complex_content" => TaskKind::ComplexContent,
        "algorithm" => TaskKind::Algorithm,
        other => return Err(format!("unknown kind {other:?}")),
    };
    let complexity = match value.get("complexity").and_then(|v| v.as_str()).unwrap_or("simple").trim() {
        "moderate" => Complexity::Moderate,
        "complex" => Complexity::Complex,
        _ => Complexity::Simple,
    };
    let reason = value.get("reason").and_then(|v| v.as_str()).unwrap_or("").trim().to_string();
    Ok(Classification { kind, complexity, reason, by_keywords: false })
}

fn snip(text: &str) -> String {
    text.chars().take(60).collect()
}

const LONG_CONTENT: &[&str] = &["story", "article", "essay", "novel", "blog post", "report", "chapter", "screenplay"];
const SHORT_CONTENT: &[&str] = &[
    "joke",
    "poem",
    "haiku",
    "limerick",
    "slogan",
    "tagline",
    "greeting",
    "pun",
    "riddle",
    "quote",
    "one-liner",
    "tweet",
];
const ARITHMETIC: &[&str] = &[
    "add", "sum", "plus", "subtract", "minus", "multiply", "times", "divide", "product", "percent", "square", "power",
    "average", "mean",
];

/// The deterministic fallback: whole-word matches, content before arithmetic.
pub fn by_keywords(task: &str) -> Classification {
    let lower = task.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
    let has = |list: &[&'static str]| -> Option<&'static str> {
        list.iter().copied().find(|k| {
            if k.contains(' ') {
                lower.contains(k)
            } else {
                words.iter().any(|w| w == k || w.strip_suffix('s') == Some(k))
            }
        })
    };
    let digits = lower.chars().any(|c| c.is_ascii_digit());
    let (kind, reason) = if let Some(k) = has(LONG_CONTENT) {
        (TaskKind::ComplexContent, format!("mentions \"{k}\""))
    } else if let Some(k) = has(SHORT_CONTENT) {
        (TaskKind::SimpleContent, format!("mentions \"{k}\""))
    } else if let Some(k) = has(ARITHMETIC).filter(|_| digits) {
        (TaskKind::Arithmetic, format!("\"{k}\" with numbers"))
    } else {
        (TaskKind::Algorithm, "no content or arithmetic keyword".to_string())
    };
    let complexity = match words.len() {
        0..=8 => Complexity::Simple,
        9..=25 => Complexity::Moderate,
        _ => Complexity::Complex,
    };
    Classification { kind, complexity, reason: format!("keywords: {reason}"), by_keywords: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_fallback() {
        assert_eq!(by_keywords("add 10 and 20").kind, TaskKind::Arithmetic);
        assert_eq!(by_keywords("write me a joke about programmers").kind, TaskKind::SimpleContent);
        assert_eq!(by_keywords("write a short story about a robot").kind, TaskKind::ComplexContent);
        assert_eq!(by_keywords("parse ISO dates from a log line").kind, TaskKind::Algorithm);
        assert_eq!(by_keywords("address book lookup").kind, TaskKind::Algorithm);
    }

    #[test]
    fn parses_model_answer() {
        let c = parse("{\"kind\": \"algorithm\", \"complexity\": \"moderate\", \"reason\": \"x\"}").unwrap();
        assert_eq!(c.kind, TaskKind::Algorithm);
        assert!(parse("ARITHMETIC").is_err());
    }
}
