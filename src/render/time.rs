//! Time as printed: tcpdump's time column and RFC 3339 for JSON. Both
//! write into a caller's `String` (no allocation once it has grown).

use crate::capture::Timestamp;

/// `HH:MM:SS.uuuuuu` (UTC), tcpdump's default time column.
pub fn write_time(out: &mut String, ts: Timestamp) {
    use super::num::push_padded;
    let day = ts.secs.rem_euclid(86_400) as u64;
    push_padded(out, day / 3600, 2);
    out.push(':');
    push_padded(out, day / 60 % 60, 2);
    out.push(':');
    push_padded(out, day % 60, 2);
    out.push('.');
    push_padded(out, u64::from(ts.nanos / 1000), 6);
}

/// RFC 3339 UTC time with nanoseconds: `2026-11-21T05:40:27.123456789Z`.
pub fn write_rfc3339(out: &mut String, ts: Timestamp) {
    use std::fmt::Write as _;
    let days = ts.secs.div_euclid(86_400);
    let day = ts.secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        day / 3600,
        day / 60 % 60,
        day % 60,
        ts.nanos
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let ts = Timestamp::new(1_763_703_627, 123_456_789);
        let mut s = String::new();
        write_time(&mut s, ts);
        assert_eq!(s, "05:40:27.123456");
        s.clear();
        write_rfc3339(&mut s, ts);
        assert_eq!(s, "2025-11-21T05:40:27.123456789Z");
        s.clear();
        write_rfc3339(&mut s, Timestamp::new(951_782_400, 0));
        assert_eq!(s, "2000-02-29T00:00:00.000000000Z");
    }
}
