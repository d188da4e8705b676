//! Parsers for command-line values: seconds, byte orders, calculator ops.
//! Each returns a message that says what was expected.

use std::time::Duration;

use crate::render::color::ColorWhen;
use crate::wire::order::Order;

/// Byte order of packed integers, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    /// This machine's order (what Python's "III" uses).
    Native,
    /// Least significant byte first ("<III").
    Little,
    /// Most significant byte first, network order ("!III").
    Big,
}

impl From<OrderArg> for Order {
    fn from(o: OrderArg) -> Order {
        match o {
            OrderArg::Native => Order::Native,
            OrderArg::Little => Order::Little,
            OrderArg::Big => Order::Big,
        }
    }
}

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorArg {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl From<ColorArg> for ColorWhen {
    fn from(c: ColorArg) -> ColorWhen {
        match c {
            ColorArg::Auto => ColorWhen::Auto,
            ColorArg::Always => ColorWhen::Always,
            ColorArg::Never => ColorWhen::Never,
        }
    }
}

/// Parse seconds with fractions allowed: `5`, `0.2`.
pub fn secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds (examples: 5, 0.2)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("'{s}' must be a finite number of seconds >= 0"));
    }
    if v > 1.0e7 {
        return Err(format!("'{s}' seconds is too long (at most 10000000)"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Parse how long a client waits (`--timeout`): seconds > 0. Zero is
/// refused because it means opposite things to the two groups of users:
/// Python's `settimeout(0)` makes a socket non-blocking (every call fails at
/// once unless it can complete), while GNU `timeout` and many tools read 0
/// as "no limit". socklab never waits forever, so it asks for a number.
pub fn timeout(s: &str) -> Result<Duration, String> {
    let d = secs(s)?;
    if d.is_zero() {
        return Err(format!(
            "'{s}' would not wait at all: give the seconds to wait for the peer, > 0 (fractions allowed: 0.5)\n  \
             hint: in Python settimeout(0) means non-blocking, so recv() raises BlockingIOError at once; \
             GNU timeout and many tools read 0 as \"no limit\"; socklab always waits a bounded time: give a large number to wait long"
        ));
    }
    Ok(d)
}

/// Parse `-c COUNT`: a number of packets, 1 or more (tcpdump refuses 0 too:
/// "invalid packet count 0").
pub fn count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(
            "0 packets would show nothing: -c takes the number of packets to show, 1 or more \
             (leave -c out to show every packet)"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "'{s}' is not a number of packets: -c takes a whole number, 1 or more"
        )),
    }
}

/// Parse a calculator operation: `0`/`add` adds, `1`/`sub` (or any other
/// number, as in the course server) subtracts.
pub fn op(s: &str) -> Result<u32, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "add" | "+" | "plus" => Ok(0),
        "sub" | "-" | "minus" => Ok(1),
        t => t.parse::<u32>().map_err(|_| {
            format!(
                "'{s}' is not an operation{}: use 0 or add (a + b), 1 or sub (a - b)",
                crate::suggest::did_you_mean(t, ["add", "sub", "plus", "minus"])
            )
        }),
    }
}

/// Parse an operand for struct format `I`, with Python's wording on overflow.
pub fn u32_operand(s: &str) -> Result<u32, String> {
    let t = s.trim();
    match t.parse::<i128>() {
        Ok(v) if (0..=i128::from(u32::MAX)).contains(&v) => Ok(v as u32),
        Ok(_) => Err(format!(
            "{s} does not fit: format 'I' requires 0 <= number <= 4294967295 (Python: struct.error)"
        )),
        Err(_) => Err(format!("'{s}' is not a decimal integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_allow_fractions_and_reject_junk() {
        assert_eq!(secs("0.2").unwrap(), Duration::from_millis(200));
        assert_eq!(secs("5").unwrap(), Duration::from_secs(5));
        assert!(secs("-1").unwrap_err().contains(">= 0"));
        assert!(secs("soon").unwrap_err().contains("not a number"));
        assert!(secs("nan").is_err());
        assert_eq!(secs("0").unwrap(), Duration::ZERO);
        assert!(timeout("0").unwrap_err().contains("would not wait at all"));
        assert!(timeout("0.0").unwrap_err().contains("settimeout(0)"));
        assert_eq!(timeout("0.5").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn operands_fit_format_i() {
        assert_eq!(u32_operand("4294967295").unwrap(), u32::MAX);
        assert!(u32_operand("4294967296")
            .unwrap_err()
            .contains("requires 0 <= number"));
        assert!(u32_operand("-1")
            .unwrap_err()
            .contains("requires 0 <= number"));
        assert!(u32_operand("ten").unwrap_err().contains("not a decimal"));
    }

    #[test]
    fn ops_by_name_or_number() {
        assert_eq!(op("add").unwrap(), 0);
        assert_eq!(op("SUB").unwrap(), 1);
        assert_eq!(op("0").unwrap(), 0);
        assert_eq!(op("7").unwrap(), 7);
        assert!(op("mul").unwrap_err().contains("not an operation"));
    }
}
