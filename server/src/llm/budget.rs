//! The bound on one evolve: model tokens (prompt + completion) and wall-clock time.

use super::CallRecord;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Budget {
    max_tokens: u64,
    used_tokens: AtomicU64,
    calls: Mutex<Vec<CallRecord>>,
    started: Instant,
    max_time: Duration,
    /// The budget this one is a part of: every call counts there too, and its bounds hold here.
    parent: Option<Arc<Budget>>,
}

impl Budget {
    pub fn new(max_tokens: u64, max_time: Duration) -> Self {
        Budget {
            max_tokens,
            used_tokens: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            started: Instant::now(),
            max_time,
            parent: None,
        }
    }

    pub fn unlimited() -> Self {
        Budget::new(u64::MAX, Duration::from_secs(60 * 60 * 24 * 365))
    }

    /// Fails when nothing is left, here or in the budget this is a part of, saying which bound
    /// was reached.
    pub fn check(&self) -> Result<(), String> {
        if let Some(parent) = &self.parent {
            parent.check()?;
        }
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
        if let Some(parent) = &self.parent {
            parent.spend(call);
        }
    }

    /// Tokens left (0 when spent).
    pub fn tokens_left(&self) -> u64 {
        self.max_tokens.saturating_sub(self.tokens_used())
    }

    /// A budget of `share` of what is left here, starting now: its calls count here too (a
    /// workflow's steps share one; what they do not spend stays here).
    pub fn part(self: &Arc<Self>, share: f64) -> Budget {
        Budget {
            parent: Some(self.clone()),
            ..Budget::new((self.tokens_left() as f64 * share) as u64, self.time_left().mul_f64(share))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tokens: u64) -> CallRecord {
        CallRecord {
            role: "overseer".into(),
            backend: "b".into(),
            endpoint: "e".into(),
            model: "m".into(),
            prompt_tokens: tokens,
            completion_tokens: 0,
            duration_ms: 1,
            failovers: Vec::new(),
        }
    }

    #[test]
    fn a_parts_calls_count_in_the_whole_and_the_wholes_bounds_hold_in_the_part() {
        let whole = Arc::new(Budget::new(100, Duration::from_secs(60)));
        whole.spend(&call(20));
        let part = Arc::new(whole.part(0.5));
        assert_eq!(part.tokens_left(), 40, "half of what is left");
        part.spend(&call(30));
        assert_eq!((whole.tokens_used(), whole.calls().len()), (50, 2));
        assert!(part.check().is_ok());
        // A part of the part spends from all three; the whole's bound stops it.
        let rest = Arc::new(part.part(1.0));
        rest.spend(&call(10));
        assert_eq!(part.tokens_used(), 40);
        assert!(part.check().is_err(), "the part's own 40 are spent");
        whole.spend(&call(45));
        assert!(Arc::new(whole.part(1.0)).check().is_err(), "the whole's 100 are spent");
    }
}
