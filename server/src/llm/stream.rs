//! Reads a streamed HTTP body line by line, with a limit on the silence between chunks, so a server
//! that hangs mid-answer is noticed and a cut stream is told apart from a finished one.

use super::{LlmError, http_error};
use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::time::Duration;

pub(crate) struct LineReader {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: BytesMut,
    endpoint: String,
    idle: Duration,
    ended: bool,
}

impl LineReader {
    pub fn new(response: reqwest::Response, endpoint: &str, idle: Duration) -> Self {
        LineReader {
            body: response.bytes_stream().boxed(),
            buffer: BytesMut::new(),
            endpoint: endpoint.to_string(),
            idle,
            ended: false,
        }
    }

    /// The next non-empty line, or `None` at the end of the body.
    pub async fn next_line(&mut self) -> Result<Option<String>, LlmError> {
        loop {
            if let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let line = self.buffer.split_to(pos + 1);
                let text = String::from_utf8_lossy(&line).trim().to_string();
                if text.is_empty() {
                    continue;
                }
                return Ok(Some(text));
            }
            if self.ended {
                if self.buffer.has_remaining() {
                    let text = String::from_utf8_lossy(&self.buffer).trim().to_string();
                    self.buffer.clear();
                    if !text.is_empty() {
                        return Ok(Some(text));
                    }
                }
                return Ok(None);
            }
            match tokio::time::timeout(self.idle, self.body.next()).await {
                Err(_) => {
                    return Err(LlmError::Timeout {
                        endpoint: self.endpoint.clone(),
                        seconds: self.idle.as_secs_f64(),
                    });
                }
                Ok(None) => self.ended = true,
                Ok(Some(Ok(chunk))) => self.buffer.extend_from_slice(&chunk),
                Ok(Some(Err(e))) => {
                    return Err(if e.is_timeout() {
                        http_error(&self.endpoint, self.idle, e)
                    } else {
                        LlmError::Cut { endpoint: self.endpoint.clone() }
                    });
                }
            }
        }
    }
}
