//! The codeEvolver.* commands and notifications as types: what editors send and what they read.
//! `editors/vscode/src/protocol.ts` declares the same shapes for TypeScript (a test below checks
//! that it names every field), and the Neovim plugin reads the same named fields.

use serde::{Deserialize, Deserializer, Serialize};
use tower_lsp_server::ls_types::{Position, Range};

/// Where a command works: `range`, or `position`, or `line` (the cursor at its start).
#[derive(Debug, Default, Deserialize)]
pub struct TargetArgs {
    pub uri: String,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default)]
    pub line: Option<u32>,
}

impl TargetArgs {
    /// The range the command works on; an inverted range or no place at all is refused.
    pub fn range(&self) -> Result<Range, String> {
        if let Some(range) = self.range {
            if (range.end.line, range.end.character) < (range.start.line, range.start.character) {
                return Err("the range ends before it starts".into());
            }
            return Ok(range);
        }
        if let Some(p) = self.position {
            return Ok(Range::new(p, p));
        }
        if let Some(line) = self.line {
            let p = Position::new(line, 0);
            return Ok(Range::new(p, p));
        }
        Err("give `range`, `position` or `line`".into())
    }
}

/// `codeEvolver.cancel`: no argument or `{}` cancels every job, `{"token": T}` that one.
#[derive(Debug, Default, Deserialize)]
pub struct CancelArgs {
    /// Present means a token string: `null` or a number is refused, never read as "all".
    #[serde(default, deserialize_with = "present_string")]
    pub token: Option<String>,
}

fn present_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// `codeEvolver.showReport`: a node's report, or the last job's.
#[derive(Debug, Default, Deserialize)]
pub struct ShowReportArgs {
    #[serde(default)]
    pub node_id: Option<String>,
}

/// What a long command answers at once.
#[derive(Debug, Serialize)]
pub struct JobStarted {
    pub token: String,
    pub title: String,
    pub started: bool,
}

/// `codeEvolver/jobDone`: how a long job ended.
#[derive(Debug, Serialize)]
pub struct JobDone {
    pub token: String,
    pub title: String,
    pub ok: bool,
    pub cancelled: bool,
    pub message: String,
    /// What the job produced (an evolve: node_id, version, report); null when it did not end well.
    pub result: serde_json::Value,
    pub error: Option<String>,
    pub error_kind: Option<&'static str>,
}

/// `codeEvolver/stage`: one engine event of a job.
#[derive(Debug, Serialize)]
pub struct StageNotice<'a> {
    pub token: &'a str,
    pub stage: &'a str,
    pub percent: u8,
    pub level: crate::pipeline::Level,
    pub message: &'a str,
    pub detail: Option<&'a crate::pipeline::Detail>,
}

/// One job in `codeEvolver.cancel`'s answer and in `codeEvolver.status`.
#[derive(Debug, Serialize)]
pub struct JobRef {
    pub token: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `codeEvolver.cancel`'s answer.
#[derive(Debug, Serialize)]
pub struct CancelResult {
    pub cancelled: Vec<JobRef>,
}

/// A role's route in `codeEvolver.status`.
#[derive(Debug, Serialize)]
pub struct RoleRoute {
    pub role: String,
    pub backend: String,
    pub kind: String,
    pub model: String,
    pub endpoints: Vec<String>,
}

/// `codeEvolver.status`'s answer.
#[derive(Debug, Serialize)]
pub struct StatusResult {
    pub version: String,
    pub data_dir: String,
    pub roles: Vec<RoleRoute>,
    pub registry: RegistryStatus,
    pub memory: MemoryStatus,
    pub jobs: Vec<JobRef>,
}

#[derive(Debug, Serialize)]
pub struct RegistryStatus {
    pub nodes: usize,
}

#[derive(Debug, Serialize)]
pub struct MemoryStatus {
    pub store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TypeScript declarations name every field the server sends or reads.
    #[test]
    fn the_typescript_protocol_names_every_field() {
        let ts = include_str!("../../../editors/vscode/src/protocol.ts");
        let interface = |name: &str| -> String {
            let start =
                ts.find(&format!("export interface {name} ")).unwrap_or_else(|| panic!("no {name} in protocol.ts"));
            let end = ts[start..].find("\n}").unwrap() + start;
            ts[start..end].to_string()
        };
        let sent: [(&str, serde_json::Value); 6] = [
            (
                "JobStarted",
                serde_json::to_value(JobStarted { token: "t".into(), title: "x".into(), started: true }).unwrap(),
            ),
            (
                "JobDone",
                serde_json::to_value(JobDone {
                    token: "t".into(),
                    title: "x".into(),
                    ok: true,
                    cancelled: false,
                    message: "m".into(),
                    result: serde_json::Value::Null,
                    error: None,
                    error_kind: None,
                })
                .unwrap(),
            ),
            (
                "StageEvent",
                serde_json::to_value(StageNotice {
                    token: "t",
                    stage: "plan",
                    percent: 1,
                    level: crate::pipeline::Level::Info,
                    message: "m",
                    detail: None,
                })
                .unwrap(),
            ),
            (
                "StatusResult",
                serde_json::to_value(StatusResult {
                    version: "v".into(),
                    data_dir: "d".into(),
                    roles: vec![],
                    registry: RegistryStatus { nodes: 0 },
                    memory: MemoryStatus {
                        store: "s".into(),
                        artifacts: Some(1),
                        embedding: Some("e".into()),
                        error: Some("x".into()),
                    },
                    jobs: vec![],
                })
                .unwrap(),
            ),
            (
                "RoleRoute",
                serde_json::to_value(RoleRoute {
                    role: "r".into(),
                    backend: "b".into(),
                    kind: "k".into(),
                    model: "m".into(),
                    endpoints: vec![],
                })
                .unwrap(),
            ),
            ("CancelResult", serde_json::to_value(CancelResult { cancelled: vec![] }).unwrap()),
        ];
        for (name, value) in sent {
            let declared = interface(name);
            for field in value.as_object().unwrap().keys() {
                assert!(declared.contains(&format!("  {field}")), "protocol.ts {name} lacks `{field}`:\n{declared}");
            }
        }
        for (name, fields) in [
            ("TargetArgs", &["uri", "range", "position", "line"][..]),
            ("CancelArgs", &["token"][..]),
            ("ShowReportArgs", &["node_id"][..]),
        ] {
            let declared = interface(name);
            for field in fields {
                assert!(declared.contains(&format!("  {field}")), "protocol.ts {name} lacks `{field}`:\n{declared}");
            }
        }
    }
}
