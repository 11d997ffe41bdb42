//! The bound on one evolve: model tokens (prompt + completion) and wall-clock time.

use super::CallRecord;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Budget {
    max_tokens: u64,
    used_tokens: AtomicU64,
    calls: Mutex<Vec<CallRecord>>,
    started: Instant,
    max_time: Duration,
}

impl Budget {
    pub fn new(max_tokens: u64, max_time: Duration) -> Self {
        Budget {
            max_tokens,
            used_tokens: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            started: Instant::now(),
            max_time,
        }
    }

    pub fn unlimited() -> Self {
        Budget::new(u64::MAX, Duration::from_secs(60 * 60 * 24 * 365))
    }

    /// Fails when nothing is left, saying which bound was reached.
    pub fn check(&self) -> Result<(), String> {
        let used = self.tokens_used();
        if used >= self.max_tokens {
            return Err(format!("{used} of {} tokens spent (limits.evolve_tokens)", self.max_tokens));
        }
        let elapsed = self.started.elapsed();
        if elapsed >= self.max_time {
            return Err(format!(
                "{:.1} s of {:.1} s spent (limits.evolve_time_s)",
                elapsed.as_secs_f64(),
                self.max_time.as_secs_f64()
            ));
        }
        Ok(())
    }

    /// Counts a finished model call against the budget and keeps it for the report.
    pub fn spend(&self, call: &CallRecord) {
        self.used_tokens.fetch_add(call.prompt_tokens + call.completion_tokens, Ordering::Relaxed);
        self.calls.lock().unwrap().push(call.clone());
    }

    /// Tokens left (0 when spent).
    pub fn tokens_left(&self) -> u64 {
        self.max_tokens.saturating_sub(self.tokens_used())
    }

    /// A budget of `share` of what is left here, starting now (a workflow's steps share one;
    /// what they do not spend stays here). It does not count against this one by itself.
    pub fn part(&self, share: f64) -> Budget {
        Budget::new((self.tokens_left() as f64 * share) as u64, self.time_left().mul_f64(share))
    }

    pub fn tokens_used(&self) -> u64 {
        self.used_tokens.load(Ordering::Relaxed)
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.calls.lock().unwrap().clone()
    }

    pub fn time_left(&self) -> Duration {
        self.max_time.saturating_sub(self.started.elapsed())
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
