//! Time as printed: tcpdump's time column (`-t` ... `-ttttt`, local time
//! unless `--utc`) and RFC 3339 for JSON. Both write into a caller's
//! `String` (no allocation once it has grown).

use super::num::push_padded;
use super::zone::OffsetCache;
use crate::capture::Timestamp;

/// Which time column, as tcpdump's `-t` options choose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeStyle {
    /// `HH:MM:SS.uuuuuu` (tcpdump's default).
    #[default]
    Clock,
    /// `-t`: no time column.
    None,
    /// `-tt`: seconds since 1970, `1700000000.000037`.
    Unix,
    /// `-ttt`: ` HH:MM:SS.uuuuuu` since the previous line (sign first: ` ` or `-`).
    Delta,
    /// `-tttt`: `YYYY-MM-DD HH:MM:SS.uuuuuu`.
    Date,
    /// `-ttttt`: ` HH:MM:SS.uuuuuu` since the first line.
    SinceFirst,
}

impl TimeStyle {
    /// From the number of `-t` given (0 = the clock; 5 or more as 5).
    pub fn from_count(n: u8) -> TimeStyle {
        match n {
            0 => TimeStyle::Clock,
            1 => TimeStyle::None,
            2 => TimeStyle::Unix,
            3 => TimeStyle::Delta,
            4 => TimeStyle::Date,
            _ => TimeStyle::SinceFirst,
        }
    }
}

/// Writes the time column of each line: the style, the zone (local as
/// tcpdump, or UTC), and for `-ttt`/`-ttttt` the previous and first times.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    style: TimeStyle,
    utc: bool,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
    zone: OffsetCache,
}

impl Clock {
    /// A clock printing `style`, in UTC when `utc`, else in local time.
    pub fn new(style: TimeStyle, utc: bool) -> Self {
        Clock {
            style,
            utc,
            ..Clock::default()
        }
    }

    /// Write the time column for a line at `ts`, with the space after it
    /// (nothing at all with `-t`).
    pub fn write(&mut self, out: &mut String, ts: Timestamp) {
        let first = *self.first.get_or_insert(ts);
        let prev = self.prev.replace(ts).unwrap_or(ts);
        match self.style {
            TimeStyle::None => return,
            TimeStyle::Clock => {
                let secs = self.local(ts.secs);
                write_hms(out, secs, ts.nanos);
            }
            TimeStyle::Unix => {
                if ts.secs < 0 {
                    out.push('-');
                }
                super::num::push_u64(out, ts.secs.unsigned_abs());
                out.push('.');
                push_padded(out, u64::from(ts.nanos / 1000), 6);
            }
            TimeStyle::Date => {
                let secs = self.local(ts.secs);
                write_date(out, secs);
                out.push(' ');
                write_hms(out, secs, ts.nanos);
            }
            TimeStyle::Delta => write_delta(out, prev, ts),
            TimeStyle::SinceFirst => write_delta(out, first, ts),
        }
        out.push(' ');
    }

    /// `secs` moved into the zone printed.
    fn local(&mut self, secs: i64) -> i64 {
        if self.utc {
            secs
        } else {
            secs.saturating_add(self.zone.offset(secs))
        }
    }
}

/// `HH:MM:SS.uuuuuu` of the day `secs` falls in (microseconds, cut as tcpdump does).
fn write_hms(out: &mut String, secs: i64, nanos: u32) {
    let day = secs.rem_euclid(86_400) as u64;
    push_padded(out, day / 3600, 2);
    out.push(':');
    push_padded(out, day / 60 % 60, 2);
    out.push(':');
    push_padded(out, day % 60, 2);
    out.push('.');
    push_padded(out, u64::from(nanos / 1000), 6);
}

/// `YYYY-MM-DD` of the day `secs` falls in.
fn write_date(out: &mut String, secs: i64) {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    if y < 0 {
        out.push('-');
    }
    push_padded(out, y.unsigned_abs(), 4);
    out.push('-');
    push_padded(out, u64::from(m), 2);
    out.push('-');
    push_padded(out, u64::from(d), 2);
}

/// tcpdump's `-ttt` column: a sign (` ` or `-`), then the time between
/// `from` and `to` as `HH:MM:SS.uuuuuu` (whole days dropped, as tcpdump does).
fn write_delta(out: &mut String, from: Timestamp, to: Timestamp) {
    let from_us = i128::from(from.secs) * 1_000_000 + i128::from(from.nanos / 1000);
    let to_us = i128::from(to.secs) * 1_000_000 + i128::from(to.nanos / 1000);
    let d = to_us - from_us;
    out.push(if d < 0 { '-' } else { ' ' });
    let d = d.unsigned_abs();
    let secs = (d / 1_000_000) as i64;
    let micros = (d % 1_000_000) as u32;
    write_hms(out, secs, micros * 1000);
}

/// `HH:MM:SS.uuuuuu` in the local zone (what trace's call lines use beside packets).
pub fn write_time(out: &mut String, ts: Timestamp) {
    let secs = ts.secs.saturating_add(super::zone::utc_offset(ts.secs));
    write_hms(out, secs, ts.nanos);
}

/// Civil date (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// RFC 3339 UTC time with nanoseconds: `2026-11-21T05:40:27.123456789Z`.
pub fn write_rfc3339(out: &mut String, ts: Timestamp) {
    use std::fmt::Write as _;
    let day = ts.secs.rem_euclid(86_400);
    let (y, m, d) = civil(ts.secs.div_euclid(86_400));
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

    fn col(c: &mut Clock, secs: i64, nanos: u32) -> String {
        let mut s = String::new();
        c.write(&mut s, Timestamp::new(secs, nanos));
        s
    }

    #[test]
    fn times() {
        let ts = Timestamp::new(1_763_703_627, 123_456_789);
        let mut s = String::new();
        write_rfc3339(&mut s, ts);
        assert_eq!(s, "2025-11-21T05:40:27.123456789Z");
        s.clear();
        write_rfc3339(&mut s, Timestamp::new(951_782_400, 0));
        assert_eq!(s, "2000-02-29T00:00:00.000000000Z");
        let mut c = Clock::new(TimeStyle::Clock, true);
        assert_eq!(col(&mut c, 1_763_703_627, 123_456_789), "05:40:27.123456 ");
    }

    /// The five `-t` styles, as tcpdump 4.99 prints them for these times
    /// (checked with `tcpdump -r` on a file holding them).
    #[test]
    fn tcpdump_styles() {
        let mut c = Clock::new(TimeStyle::None, true);
        assert_eq!(col(&mut c, 1_700_000_000, 37_000), "");
        let mut c = Clock::new(TimeStyle::Unix, true);
        assert_eq!(col(&mut c, 1_700_000_000, 37_999), "1700000000.000037 ");
        let mut c = Clock::new(TimeStyle::Date, true);
        assert_eq!(
            col(&mut c, 1_700_000_000, 37_000),
            "2023-11-14 22:13:20.000037 "
        );
        let times = [
            (1_700_000_000, 5_000),
            (1_700_036_000, 1_000),
            (1_700_400_000, 7_000),
            (1_700_300_000, 9_000),
        ];
        let mut c = Clock::new(TimeStyle::Delta, true);
        let got: Vec<String> = times.iter().map(|&(s, n)| col(&mut c, s, n)).collect();
        assert_eq!(
            got,
            [
                " 00:00:00.000000 ",
                " 09:59:59.999996 ",
                " 05:06:40.000006 ",
                "-03:46:39.999998 "
            ]
        );
        let mut c = Clock::new(TimeStyle::SinceFirst, true);
        let got: Vec<String> = times.iter().map(|&(s, n)| col(&mut c, s, n)).collect();
        assert_eq!(
            got,
            [
                " 00:00:00.000000 ",
                " 09:59:59.999996 ",
                " 15:06:40.000002 ",
                " 11:20:00.000004 "
            ]
        );
        assert_eq!(TimeStyle::from_count(9), TimeStyle::SinceFirst);
    }
}
