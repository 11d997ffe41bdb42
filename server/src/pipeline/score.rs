//! Statistics for timing decisions: medians, the spread that counts as noise, and the acceptance
//! rule (faster beyond the measured noise, memory not worse beyond a bound).

use serde::Serialize;

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Interquartile range relative to the median: the run-to-run noise of one set of timings.
pub fn relative_spread(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    let m = median(&v);
    if m <= 0.0 { 0.0 } else { (q(0.75) - q(0.25)) / m }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub baseline_ns: f64,
    pub candidate_ns: f64,
    /// baseline time / candidate time: 1.0 = unchanged, 2.0 = twice as fast.
    pub speedup: f64,
    pub noise: f64,
    pub baseline_rss_kb: u64,
    pub candidate_rss_kb: u64,
    pub baseline_cpu_ms: f64,
    pub candidate_cpu_ms: f64,
    pub accepted: bool,
    pub reason: String,
}

pub struct Rule {
    pub min_speedup: f64,
    pub noise_factor: f64,
    pub max_memory_growth: f64,
}

/// Per-call times (ns) of each run, and each run's peak RSS and CPU time.
pub struct Samples {
    pub per_call_ns: Vec<f64>,
    pub rss_kb: Vec<u64>,
    pub cpu_ms: Vec<f64>,
}

pub fn compare(baseline: &Samples, candidate: &Samples, rule: &Rule) -> Comparison {
    let b = median(&baseline.per_call_ns);
    let c = median(&candidate.per_call_ns);
    let speedup = if c > 0.0 { b / c } else { f64::INFINITY };
    let noise = relative_spread(&baseline.per_call_ns).max(relative_spread(&candidate.per_call_ns));
    let b_rss = baseline.rss_kb.iter().copied().max().unwrap_or(0);
    let c_rss = candidate.rss_kb.iter().copied().max().unwrap_or(0);
    let needed = rule.min_speedup.max(1.0 + rule.noise_factor * noise);
    let memory_ok = (c_rss as f64) <= (b_rss as f64) * (1.0 + rule.max_memory_growth);
    let (accepted, reason) = if speedup < needed {
        (false, format!("{speedup:.2}× is not beyond the needed {needed:.2}× (noise ±{:.1}%)", noise * 100.0))
    } else if !memory_ok {
        (false, format!("{speedup:.2}× faster but peak RSS grew from {b_rss} kB to {c_rss} kB"))
    } else {
        (true, format!("{speedup:.2}× faster (needed {needed:.2}×, noise ±{:.1}%)", noise * 100.0))
    };
    Comparison {
        baseline_ns: b,
        candidate_ns: c,
        speedup,
        noise,
        baseline_rss_kb: b_rss,
        candidate_rss_kb: c_rss,
        baseline_cpu_ms: median(&baseline.cpu_ms),
        candidate_cpu_ms: median(&candidate.cpu_ms),
        accepted,
        reason,
    }
}

/// "1.2 µs", "35 ms"
pub fn human_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ns: &[f64]) -> Samples {
        Samples { per_call_ns: ns.to_vec(), rss_kb: vec![1000; ns.len()], cpu_ms: vec![1.0; ns.len()] }
    }

    #[test]
    fn accepts_only_beyond_noise() {
        let rule = Rule { min_speedup: 1.05, noise_factor: 2.0, max_memory_growth: 0.25 };
        let fast =
            compare(&samples(&[100.0, 101.0, 99.0, 100.0, 102.0]), &samples(&[50.0, 51.0, 49.0, 50.0, 50.0]), &rule);
        assert!(fast.accepted, "{}", fast.reason);
        let same =
            compare(&samples(&[100.0, 101.0, 99.0, 100.0, 102.0]), &samples(&[99.0, 100.0, 101.0, 98.0, 100.0]), &rule);
        assert!(!same.accepted);
        let noisy =
            compare(&samples(&[100.0, 150.0, 60.0, 100.0, 140.0]), &samples(&[80.0, 85.0, 70.0, 90.0, 80.0]), &rule);
        assert!(!noisy.accepted, "{}", noisy.reason);
    }
}
