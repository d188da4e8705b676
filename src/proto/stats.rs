//! Load-mode bookkeeping shared by the calculator clients: counts, rate and
//! latency percentiles, printed the same way for UDP and TCP.

use std::time::Duration;

/// What one load run measured.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    /// Requests sent.
    pub sent: u64,
    /// Correct replies.
    pub ok: u64,
    /// Replies with a wrong value.
    pub wrong: u64,
    /// Requests that got no reply in time (or failed).
    pub missing: u64,
    /// Replies that came after their request was counted missing.
    pub late: u64,
    /// Latency of each correct reply, microseconds.
    pub latencies_us: Vec<u32>,
    /// First error seen, for the report.
    pub first_error: Option<String>,
}

impl LoadStats {
    /// Add another thread's figures.
    pub fn merge(&mut self, o: LoadStats) {
        self.sent += o.sent;
        self.ok += o.ok;
        self.wrong += o.wrong;
        self.missing += o.missing;
        self.late += o.late;
        self.latencies_us.extend(o.latencies_us);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    /// Record a latency.
    pub fn latency(&mut self, d: Duration) {
        self.latencies_us
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    /// The report lines, for `elapsed` of wall time.
    pub fn report(&mut self, elapsed: Duration) -> Vec<String> {
        self.latencies_us.sort_unstable();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut lines = vec![
            format!(
                "sent: {}  ok: {}  wrong: {}  missing: {}  late: {}",
                self.sent, self.ok, self.wrong, self.missing, self.late
            ),
            format!(
                "requests/s: {:.0}  ({} in {:.3} s)",
                self.ok as f64 / secs,
                crate::plural::count(self.ok, "reply"),
                secs
            ),
            format!(
                "latency: p50 {} us  p99 {} us  max {} us",
                percentile(&self.latencies_us, 50.0),
                percentile(&self.latencies_us, 99.0),
                self.latencies_us.last().copied().unwrap_or(0)
            ),
        ];
        if let Some(e) = &self.first_error {
            lines.push(format!("first error: {e}"));
        }
        lines
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[], 99.0), 0);
        assert_eq!(percentile(&[7], 50.0), 7);
    }

    #[test]
    fn report_counts() {
        let mut s = LoadStats {
            sent: 3,
            ok: 2,
            missing: 1,
            ..Default::default()
        };
        s.latency(Duration::from_micros(10));
        s.latency(Duration::from_micros(30));
        let r = s.report(Duration::from_secs(1));
        assert_eq!(r[0], "sent: 3  ok: 2  wrong: 0  missing: 1  late: 0");
        assert!(r[1].starts_with("requests/s: 2 "));
        assert!(r[2].starts_with("latency: p50 10 us  p99 30 us"));
    }
}
