//! This machine's figures for the monitor records: host name, CPU load over
//! the last interval, percentage of memory available (via `sysinfo`).

use sysinfo::System;

/// A sampler that remembers the previous CPU reading.
pub struct Sampler {
    sys: System,
}

impl Sampler {
    /// Take a first CPU reading, so the next [`Sampler::sample`] measures an interval.
    pub fn new() -> Result<Self, String> {
        let mut sys = System::new()
            .map_err(|e| format!("cannot read this machine's CPU and memory figures: {e}"))?;
        sys.refresh_cpu_usage();
        Ok(Sampler { sys })
    }

    /// (CPU load % since the previous sample, memory available %).
    pub fn sample(&mut self) -> (f64, f64) {
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        let cpu = f64::from(self.sys.global_cpu_usage());
        let total = self.sys.total_memory().max(1) as f64;
        let mem = self.sys.available_memory() as f64 * 100.0 / total;
        (cpu, mem)
    }
}

/// This machine's host name (`gethostname`), or `unknown`.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}
