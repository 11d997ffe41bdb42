//! A small LSP client for the tests: the real binary over stdio, Content-Length framing, and the
//! editor's side of the protocol — it answers `window/workDoneProgress/create`, applies
//! `workspace/applyEdit` to its own copy of the document (refusing a stale version, as VS Code
//! does) and then sends `didChange`, like an editor.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

/// The client's copy of an open document.
#[derive(Debug, Clone)]
pub struct OpenDoc {
    pub text: String,
    pub version: i32,
}

struct Shared {
    /// None once the test closed it.
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    docs: Mutex<HashMap<String, OpenDoc>>,
    /// Every message from the server, in order.
    log: Mutex<Vec<Value>>,
    /// When false, applyEdit is refused (to test that the server copes).
    accept_edits: Mutex<bool>,
    /// Never answer workspace/applyEdit (an editor that hangs).
    ignore_edits: Mutex<bool>,
}

pub struct LspClient {
    child: Child,
    shared: Arc<Shared>,
    incoming: mpsc::UnboundedReceiver<Value>,
    unseen: std::collections::VecDeque<Value>,
    next_id: i64,
}

async fn write_frame(stdin: &tokio::sync::Mutex<Option<ChildStdin>>, message: &Value) {
    let body = message.to_string();
    let mut guard = stdin.lock().await;
    let Some(stdin) = guard.as_mut() else { return };
    // A server that has exited cannot read: the test asserts on what it saw before.
    if stdin.write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes()).await.is_ok() {
        let _ = stdin.flush().await;
    }
}

/// Offsets in a string of ASCII or BMP text, counted in UTF-16 units as the protocol does.
fn offset_of(text: &str, line: u64, character: u64) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 == line {
            let mut units = 0;
            for (byte, c) in l.char_indices() {
                if units >= character || c == '\n' {
                    return offset + byte;
                }
                units += c.len_utf16() as u64;
            }
            return offset + l.trim_end_matches('\n').len();
        }
        offset += l.len();
    }
    text.len()
}

fn apply_text_edits(text: &str, edits: &[Value]) -> String {
    let mut ranges: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let r = &e["range"];
            let start =
                offset_of(text, r["start"]["line"].as_u64().unwrap(), r["start"]["character"].as_u64().unwrap());
            let end = offset_of(text, r["end"]["line"].as_u64().unwrap(), r["end"]["character"].as_u64().unwrap());
            (start, end, e["newText"].as_str().unwrap().to_string())
        })
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out = text.to_string();
    for (start, end, new) in ranges {
        out.replace_range(start..end, &new);
    }
    out
}

impl LspClient {
    /// Starts `code-evolver lsp` with `command`'s environment.
    pub fn start(mut command: tokio::process::Command) -> LspClient {
        command.arg("lsp").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = command.spawn().expect("the server starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let shared = Arc::new(Shared {
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            docs: Mutex::default(),
            log: Mutex::default(),
            accept_edits: Mutex::new(true),
            ignore_edits: Mutex::new(false),
        });
        let (tx, incoming) = mpsc::unbounded_channel();
        let reader_shared = shared.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let message: Value = serde_json::from_slice(&body).unwrap();
                reader_shared.log.lock().unwrap().push(message.clone());
                let ignored = message["method"] == "workspace/applyEdit" && *reader_shared.ignore_edits.lock().unwrap();
                if message.get("method").is_some() && message.get("id").is_some() && !ignored {
                    let reply = answer(&reader_shared, &message).await;
                    write_frame(&reader_shared.stdin, &reply).await;
                }
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        LspClient { child, shared, incoming, unseen: Default::default(), next_id: 1 }
    }

    pub async fn notify(&self, method: &str, params: Value) {
        write_frame(&self.shared.stdin, &json!({"jsonrpc": "2.0", "method": method, "params": params})).await;
    }

    /// Sends a request; returns its id (the response arrives through `response`).
    pub async fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        write_frame(&self.shared.stdin, &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        id
    }

    /// A request and its response (the whole message: `result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        self.response(id, Duration::from_secs(600)).await
    }

    pub async fn response(&mut self, id: i64, within: Duration) -> Value {
        self.wait_for(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none(), within).await
    }

    /// A long job's outcome, in the shape of a response: the command answers at once with the
    /// job's token (or an error, returned as it is); the job ends with `codeEvolver/jobDone`,
    /// whose `result` becomes the result (null when the job failed or was cancelled; the whole
    /// notice is under `job`).
    pub async fn job_result(&mut self, id: i64, within: Duration) -> Value {
        let answer = self.response(id, within).await;
        let Some(token) = answer["result"]["token"].as_str().map(str::to_string) else {
            return answer;
        };
        let done = self
            .wait_for(|m| m["method"] == "codeEvolver/jobDone" && m["params"]["token"] == token.as_str(), within)
            .await;
        json!({"id": id, "result": done["params"]["result"], "job": done["params"]})
    }

    /// The next message from the server that `matches`, waiting at most `within`.
    /// Messages not consumed by an earlier wait stay available to later ones.
    pub async fn wait_for(&mut self, matches: impl Fn(&Value) -> bool, within: Duration) -> Value {
        if let Some(i) = self.unseen.iter().position(&matches) {
            return self.unseen.remove(i).unwrap();
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .unwrap_or_else(|_| panic!("no matching message within {within:?}; got:\n{}", self.log_text()))
                .expect("the server closed its output");
            if matches(&message) {
                return message;
            }
            self.unseen.push_back(message);
        }
    }

    pub fn log(&self) -> Vec<Value> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn log_text(&self) -> String {
        self.log().iter().map(|m| m.to_string()).collect::<Vec<_>>().join("\n")
    }

    pub async fn initialize(&mut self, root: &std::path::Path, options: Value) -> Value {
        let root_uri = format!("file://{}", root.display());
        let response = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": root_uri,
                    "capabilities": {
                        "window": {"workDoneProgress": true},
                        "workspace": {"workspaceEdit": {"documentChanges": true}, "applyEdit": true}
                    },
                    "initializationOptions": options
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        response
    }

    pub async fn open(&self, uri: &str, text: &str) {
        self.shared.docs.lock().unwrap().insert(uri.into(), OpenDoc { text: text.into(), version: 1 });
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
    }

    /// The user types: a whole-document change, as the client sees it.
    pub async fn edit(&self, uri: &str, text: &str) {
        let version = {
            let mut docs = self.shared.docs.lock().unwrap();
            let doc = docs.get_mut(uri).unwrap();
            doc.text = text.into();
            doc.version += 1;
            doc.version
        };
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        )
        .await;
    }

    pub fn doc(&self, uri: &str) -> OpenDoc {
        self.shared.docs.lock().unwrap()[uri].clone()
    }

    pub fn ignore_edits(&self) {
        *self.shared.ignore_edits.lock().unwrap() = true;
    }

    pub fn refuse_edits(&self) {
        *self.shared.accept_edits.lock().unwrap() = false;
    }

    /// Bytes as they are, framed or not (for malformed-input tests).
    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut guard = self.shared.stdin.lock().await;
        let stdin = guard.as_mut().expect("stdin is open");
        stdin.write_all(bytes).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Closes the server's stdin, then waits for it to exit: its exit code, None if it did not.
    pub async fn close_and_wait(self, within: Duration) -> Option<i32> {
        let LspClient { mut child, shared, .. } = self;
        shared.stdin.lock().await.take();
        tokio::time::timeout(within, child.wait()).await.ok()?.ok()?.code()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// Waits for the server to exit on its own: its exit code.
    pub async fn wait_exit(mut self, within: Duration) -> Option<i32> {
        tokio::time::timeout(within, self.child.wait()).await.ok()?.ok()?.code()
    }

    pub async fn shutdown(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.request("shutdown", Value::Null)).await;
        self.notify("exit", Value::Null).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// The editor's answer to a request from the server.
async fn answer(shared: &Shared, message: &Value) -> Value {
    let id = message["id"].clone();
    let result = match message["method"].as_str().unwrap_or("") {
        "workspace/applyEdit" => apply_edit(shared, &message["params"]["edit"]).await,
        "window/showDocument" => json!({"success": true}),
        "workspace/configuration" => json!([null]),
        _ => Value::Null,
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

async fn apply_edit(shared: &Shared, edit: &Value) -> Value {
    if !*shared.accept_edits.lock().unwrap() {
        return json!({"applied": false, "failureReason": "refused by the test"});
    }
    let mut changes: Vec<(String, Option<i64>, Vec<Value>)> = Vec::new();
    if let Some(doc_changes) = edit["documentChanges"].as_array() {
        for c in doc_changes {
            let uri = c["textDocument"]["uri"].as_str().unwrap().to_string();
            changes.push((uri, c["textDocument"]["version"].as_i64(), c["edits"].as_array().unwrap().clone()));
        }
    } else if let Some(map) = edit["changes"].as_object() {
        for (uri, edits) in map {
            changes.push((uri.clone(), None, edits.as_array().unwrap().clone()));
        }
    }
    let mut notifications = Vec::new();
    {
        let mut docs = shared.docs.lock().unwrap();
        for (uri, version, _) in &changes {
            let Some(doc) = docs.get(uri) else {
                return json!({"applied": false, "failureReason": format!("{uri} is not open")});
            };
            if version.is_some_and(|v| v != doc.version as i64) {
                return json!({"applied": false, "failureReason": format!("version {} is stale (now {})", version.unwrap(), doc.version)});
            }
        }
        for (uri, _, edits) in changes {
            let doc = docs.get_mut(&uri).unwrap();
            doc.text = apply_text_edits(&doc.text, &edits);
            doc.version += 1;
            notifications.push(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": doc.version}, "contentChanges": [{"text": doc.text}]}}));
        }
    }
    for n in notifications {
        write_frame(&shared.stdin, &n).await;
    }
    json!({"applied": true})
}
