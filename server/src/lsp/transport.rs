//! The stdio transport in front of tower-lsp-server. The framework's reader stops at the first
//! frame it cannot decode (and the server exits), so every frame is checked here first: only a
//! well-formed JSON-RPC request, notification or response reaches the framework. Anything else
//! gets the error reply JSON-RPC prescribes (Parse error, Invalid Request), written between the
//! server's own frames, and reading goes on. A header that announces more than `MAX_MESSAGE`
//! bytes is refused and the reader resynchronises on the next `Content-Length` header instead of
//! swallowing the rest of the stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The largest message accepted (a whole 100,000-line file is ~4 MB).
pub const MAX_MESSAGE: usize = 64 << 20;
const MAX_HEADER_LINE: usize = 8 << 10;

/// What the client said about the session's end, for the exit code (0 only after `shutdown`).
#[derive(Debug, Default)]
pub struct Lifecycle {
    pub shutdown: AtomicBool,
    pub exit: AtomicBool,
    /// Notified when the client is gone: `exit`, or the end of its input.
    pub gone: tokio::sync::Notify,
}

/// One frame as the reader found it.
#[derive(Debug, PartialEq)]
enum Frame {
    Body(Vec<u8>),
    /// A frame that cannot be read; the reply says why.
    Broken(String),
}

/// Reads the next frame; None at the end of input.
async fn next_frame<R: AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<Option<Frame>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *input).take(MAX_HEADER_LINE as u64).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(if saw_header { Some(Frame::Broken("the input ended inside a header".into())) } else { None });
        }
        if !line.ends_with(b"\n") {
            // A header line longer than any real one: skip the rest of it.
            skip_line(input).await?;
            saw_header = true;
            length = Some(Err("a header line over 8 KiB".into()));
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                continue; // stray blank lines between frames
            }
            break;
        }
        saw_header = true;
        // Resynchronising after a broken frame: the header may follow the rest of a body.
        let lower = text.to_ascii_lowercase();
        let text = match lower.find("content-length") {
            Some(at) if at > 0 => &text[at..],
            _ => text,
        };
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(match value.trim().parse::<u64>() {
                Ok(n) if n as usize <= MAX_MESSAGE && n <= MAX_MESSAGE as u64 => Ok(n as usize),
                Ok(n) => Err(format!("a message of {n} bytes is over the {} MiB limit", MAX_MESSAGE >> 20)),
                Err(_) => Err(format!("Content-Length `{}` is not a number", value.trim())),
            });
        }
    }
    match length {
        None => Ok(Some(Frame::Broken("a header without Content-Length".into()))),
        Some(Err(why)) => Ok(Some(Frame::Broken(why))),
        Some(Ok(n)) => {
            let mut body = vec![0; n];
            match input.read_exact(&mut body).await {
                Ok(_) => Ok(Some(Frame::Body(body))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    Ok(Some(Frame::Broken("the input ended inside a message".into())))
                }
                Err(e) => Err(e),
            }
        }
    }
}

async fn skip_line<R: AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = buf.len();
                input.consume(len);
            }
        }
    }
}

/// What to do with a body: pass it on, or the error reply it gets.
fn check(body: &[u8]) -> Result<Option<String>, serde_json::Value> {
    let error = |code: i64, message: String, id: serde_json::Value| serde_json::json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id});
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(error(-32700, "Parse error: the message is not UTF-8".into(), serde_json::Value::Null));
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(error(-32700, format!("Parse error: {e}"), serde_json::Value::Null)),
    };
    let id = match value.get("id") {
        Some(id @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => id.clone(),
        _ => serde_json::Value::Null,
    };
    if value.is_array() {
        return Err(error(-32600, "Invalid Request: batches are not part of LSP".into(), serde_json::Value::Null));
    }
    let method = value.get("method").and_then(|m| m.as_str()).map(String::from);
    let is_request = value.get("method").is_some();
    if serde_json::from_value::<Request>(value.clone()).is_ok() || serde_json::from_value::<Response>(value).is_ok() {
        return Ok(method);
    }
    Err(error(
        -32600,
        "Invalid Request: not a JSON-RPC 2.0 request, notification or response".into(),
        if is_request { id } else { serde_json::Value::Null },
    ))
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Checks what the client sends and forwards the good frames to `to_server`; errors go to
/// `replies`. Ends at the end of input or after `exit`.
async fn read_client<R: AsyncRead + Unpin>(
    input: R,
    mut to_server: DuplexStream,
    replies: mpsc::UnboundedSender<Vec<u8>>,
    lifecycle: Arc<Lifecycle>,
) {
    let mut input = BufReader::with_capacity(1 << 16, input);
    loop {
        let frame = match next_frame(&mut input).await {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => break,
        };
        match frame {
            Frame::Body(body) => match check(&body) {
                Ok(method) => {
                    if to_server.write_all(&framed(&body)).await.is_err() {
                        break;
                    }
                    match method.as_deref() {
                        Some("shutdown") => lifecycle.shutdown.store(true, Ordering::SeqCst),
                        Some("exit") => {
                            lifecycle.exit.store(true, Ordering::SeqCst);
                            break;
                        }
                        _ => {}
                    }
                }
                Err(reply) => {
                    tracing::warn!("refused a malformed message: {}", reply["error"]["message"]);
                    let _ = replies.send(framed(reply.to_string().as_bytes()));
                }
            },
            Frame::Broken(why) => {
                tracing::warn!("refused a malformed frame: {why}");
                let reply = serde_json::json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": format!("Parse error: {why}")}, "id": null});
                let _ = replies.send(framed(reply.to_string().as_bytes()));
            }
        }
    }
    let _ = to_server.shutdown().await;
    lifecycle.gone.notify_one();
}

/// Writes the server's frames and the transport's own replies to `output`, whole frames only.
async fn write_client<W: AsyncWrite + Unpin>(
    from_server: DuplexStream,
    mut replies: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: W,
) {
    let mut from_server = BufReader::new(from_server);
    let mut server_open = true;
    loop {
        tokio::select! {
            frame = next_frame(&mut from_server), if server_open => match frame {
                Ok(Some(Frame::Body(body))) => {
                    if output.write_all(&framed(&body)).await.is_err() || output.flush().await.is_err() {
                        return;
                    }
                }
                Ok(Some(Frame::Broken(_))) => {}
                Ok(None) | Err(_) => server_open = false,
            },
            reply = replies.recv() => match reply {
                Some(bytes) => {
                    if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                        return;
                    }
                }
                None if !server_open => return,
                None => {
                    // No more replies: copy the server's frames to the end.
                    while let Ok(Some(frame)) = next_frame(&mut from_server).await {
                        if let Frame::Body(body) = frame
                            && (output.write_all(&framed(&body)).await.is_err() || output.flush().await.is_err())
                        {
                            return;
                        }
                    }
                    return;
                }
            },
        }
    }
}

/// The streams the framework reads and writes, with the checking reader and the writer running.
pub fn wrap<R, W>(input: R, output: W) -> (DuplexStream, DuplexStream, Arc<Lifecycle>, tokio::task::JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_server, server_input) = tokio::io::duplex(1 << 20);
    let (server_output, from_server) = tokio::io::duplex(1 << 20);
    let (replies, replies_rx) = mpsc::unbounded_channel();
    let lifecycle = Arc::new(Lifecycle::default());
    tokio::spawn(read_client(input, to_server, replies, lifecycle.clone()));
    let writer = tokio::spawn(write_client(from_server, replies_rx, output));
    (server_input, server_output, lifecycle, writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(bytes: &[u8]) -> Vec<Frame> {
        let mut input = BufReader::new(bytes);
        let mut out = Vec::new();
        while let Some(f) = next_frame(&mut input).await.unwrap() {
            out.push(f);
        }
        out
    }

    #[tokio::test]
    async fn broken_frames_do_not_stop_the_reader() {
        let good = br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let mut stream = Vec::new();
        stream.extend_from_slice(b"Content-Length: 9999999999\r\n\r\n");
        stream.extend_from_slice(&framed(good));
        stream.extend_from_slice(b"Content-Type: x\r\n\r\n");
        stream.extend_from_slice(&framed(good));
        stream.extend_from_slice(b"Content-Length: abc\r\n\r\n");
        stream.extend_from_slice(&framed(good));
        // A body longer than announced: the rest runs into the next header, which is found.
        stream.extend_from_slice(b"Content-Length: 5\r\n\r\n{\"a\": 1}");
        stream.extend_from_slice(&framed(good));
        let got = frames(&stream).await;
        assert_eq!(got.len(), 8, "{got:?}");
        assert_eq!(got[6], Frame::Body(b"{\"a\":".to_vec()));
        assert_eq!(got[7], Frame::Body(good.to_vec()));
        assert!(matches!(&got[0], Frame::Broken(why) if why.contains("over the 64 MiB")));
        assert_eq!(got[1], Frame::Body(good.to_vec()));
        assert!(matches!(&got[2], Frame::Broken(why) if why.contains("without Content-Length")));
        assert_eq!(got[3], Frame::Body(good.to_vec()));
        assert!(matches!(&got[4], Frame::Broken(why) if why.contains("not a number")));
        assert_eq!(got[5], Frame::Body(good.to_vec()));
    }

    #[test]
    fn bodies_are_checked_as_json_rpc() {
        assert_eq!(check(br#"{"jsonrpc":"2.0","method":"shutdown","id":1}"#), Ok(Some("shutdown".into())));
        assert_eq!(check(br#"{"jsonrpc":"2.0","result":null,"id":3}"#), Ok(None));
        let e = check(b"{\"a\":").unwrap_err();
        assert_eq!(e["error"]["code"], -32700);
        let e = check(b"\xff\xfe").unwrap_err();
        assert_eq!(e["error"]["code"], -32700);
        let e = check(b"[]").unwrap_err();
        assert_eq!(e["error"]["code"], -32600);
        let e = check(b"{}").unwrap_err();
        assert_eq!(e["error"]["code"], -32600);
        let e = check(br#"{"jsonrpc":"2.0","method":5,"id":7}"#).unwrap_err();
        assert_eq!(e["error"]["code"], -32600);
    }
}
