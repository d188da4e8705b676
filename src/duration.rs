//! Durations as people read them, the one formatter of the crate: a
//! measured interval (`56 µs`, `1.234 ms`, `2.5 s`, for narration and
//! statistics) and a setting (`5 s`, `0.2 s`, for timeouts in messages).
//! Integer arithmetic only: no float formatting on the per-packet path.

use std::time::Duration;

/// `v / unit` rounded half to even (as float formatting rounds).
fn round(v: i64, unit: i64) -> i64 {
    let (q, r) = (v / unit, v % unit);
    if r * 2 > unit || (r * 2 == unit && q % 2 == 1) {
        q + 1
    } else {
        q
    }
}

/// A measured interval: `56 µs`, `1.234 ms`, `2.500 s` (negative as 0).
pub fn fmt_ns(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000 {
        format!("{} µs", round(ns, 1_000))
    } else if ns < 1_000_000_000 {
        let us = round(ns, 1_000);
        format!("{}.{:03} ms", us / 1_000, us % 1_000)
    } else {
        let ms = round(ns, 1_000_000);
        format!("{}.{:03} s", ms / 1_000, ms % 1_000)
    }
}

/// A setting, as a person types it: `5 s`, `0.2 s`, `1.25 s` (to the
/// millisecond, trailing zeros dropped).
pub fn fmt_secs(d: Duration) -> String {
    let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    let ms = round(ns, 1_000_000);
    let (whole, frac) = (ms / 1_000, ms % 1_000);
    if frac == 0 {
        format!("{whole} s")
    } else {
        let digits = format!("{frac:03}");
        format!("{whole}.{} s", digits.trim_end_matches('0'))
    }
}

/// An offset into a capture, as a column: seconds with six decimals
/// (`0.000123`, `12.500000`); negative as 0.
pub fn fmt_offset(ns: i128) -> String {
    let ns = ns.max(0);
    format!("{}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_as_typed() {
        assert_eq!(fmt_secs(Duration::from_secs(5)), "5 s");
        assert_eq!(fmt_secs(Duration::from_millis(200)), "0.2 s");
        assert_eq!(fmt_secs(Duration::from_millis(1250)), "1.25 s");
        assert_eq!(fmt_secs(Duration::from_micros(500)), "0 s");
        assert_eq!(fmt_secs(Duration::from_micros(1500)), "0.002 s");
    }

    #[test]
    fn measurements_keep_three_decimals() {
        assert_eq!(fmt_ns(56_400), "56 µs");
        assert_eq!(fmt_ns(1_234_000), "1.234 ms");
        assert_eq!(fmt_ns(2_500_000_000), "2.500 s");
        assert_eq!(fmt_ns(-5), "0 µs");
    }
}
