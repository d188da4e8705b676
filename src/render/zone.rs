//! The local time zone, as the C library knows it (`TZ`, else
//! `/etc/localtime`): what tcpdump prints its times in. The one place
//! that asks libc; everything else works on seconds and offsets.

/// Seconds east of UTC in force at `secs` (seconds since the epoch) in the
/// local zone; 0 when the C library cannot say (a time outside its range).
pub fn utc_offset(secs: i64) -> i64 {
    // time_t is 64 bits on every target socklab builds for (Linux, 64-bit).
    let t = secs as libc::time_t;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes are a valid
    // value; localtime_r only writes into the `tm` we pass and reads `t`,
    // both live for the call. It reads the zone (TZ) the first time.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: see above; both pointers are valid for the whole call.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        0
    } else {
        tm.tm_gmtoff
    }
}

/// Remembers the offset for the last quarter hour asked about: zones
/// change their offset only at whole quarter hours (UTC), so a capture
/// asks the C library about once per quarter hour of packets.
#[derive(Debug, Clone, Default)]
pub struct OffsetCache {
    last: Option<(i64, i64)>,
}

impl OffsetCache {
    /// The local offset at `secs`.
    pub fn offset(&mut self, secs: i64) -> i64 {
        let bucket = secs.div_euclid(900);
        match self.last {
            Some((b, off)) if b == bucket => off,
            _ => {
                let off = utc_offset(secs);
                self.last = Some((bucket, off));
                off
            }
        }
    }
}
