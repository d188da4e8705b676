//! TCP calculator: three ASCII decimal numbers, each followed by a NUL
//! (`"5\0" "8\0" "1\0"`); the reply is `str(res) + "\0\0"`. The stream may
//! split anywhere, so numbers are read incrementally with a length cap.

/// Longest number text accepted (Python's int is unbounded; a server must not be).
pub const MAX_NUMBER_LEN: usize = 32;

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing between two NULs.
    #[error("empty number (a NUL with no digits before it)")]
    Empty,
    /// Characters other than an optional sign and decimal digits.
    #[error("not a decimal number")]
    NotDecimal,
    /// More than [`MAX_NUMBER_LEN`] bytes without a NUL.
    #[error("number longer than {MAX_NUMBER_LEN} bytes without a NUL")]
    TooLong,
}

/// Reads one NUL-terminated number from pieces of a stream.
#[derive(Debug, Default, Clone)]
pub struct NumberReader {
    text: Vec<u8>,
}

/// Result of feeding bytes to a [`NumberReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// All input consumed, the NUL has not come yet.
    More,
    /// A number ended after `used` bytes of the input.
    Number {
        /// The value.
        value: i128,
        /// Input bytes consumed, NUL included.
        used: usize,
    },
    /// The number is bad; `text` is what was read of it.
    Bad {
        /// Why.
        error: NumberError,
        /// The offending bytes (at most `MAX_NUMBER_LEN + 1`).
        text: Vec<u8>,
    },
}

impl NumberReader {
    /// A reader waiting for the first byte.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the current number read so far (NUL not included).
    pub fn pending(&self) -> &[u8] {
        &self.text
    }

    /// Feed input; stops at the first NUL.
    pub fn push(&mut self, input: &[u8]) -> Step {
        for (i, &b) in input.iter().enumerate() {
            if b == 0 {
                let text = std::mem::take(&mut self.text);
                return match parse_decimal(&text) {
                    Ok(value) => Step::Number { value, used: i + 1 },
                    Err(error) => Step::Bad { error, text },
                };
            }
            if self.text.len() == MAX_NUMBER_LEN {
                let mut text = std::mem::take(&mut self.text);
                text.push(b);
                return Step::Bad {
                    error: NumberError::TooLong,
                    text,
                };
            }
            self.text.push(b);
        }
        Step::More
    }
}

impl NumberReader {
    /// Feed `chunk`, appending each finished number to `nums` until it holds
    /// `want`; bytes after that are left alone. A bad number comes back with
    /// what was read of it.
    pub fn read_into(
        &mut self,
        mut chunk: &[u8],
        nums: &mut Vec<i128>,
        want: usize,
    ) -> Result<(), (NumberError, Vec<u8>)> {
        while !chunk.is_empty() && nums.len() < want {
            match self.push(chunk) {
                Step::More => break,
                Step::Number { value, used } => {
                    nums.push(value);
                    chunk = &chunk[used..];
                }
                Step::Bad { error, text } => return Err((error, text)),
            }
        }
        Ok(())
    }
}

/// Parse like Python's `int(s, 10)` for the common cases: optional surrounding
/// ASCII whitespace, optional sign, decimal digits.
pub fn parse_decimal(text: &[u8]) -> Result<i128, NumberError> {
    let t = text.trim_ascii();
    if t.is_empty() {
        return Err(NumberError::Empty);
    }
    let (neg, digits) = match t[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NumberError::NotDecimal);
    }
    // A reader stops at MAX_NUMBER_LEN bytes, but callers may hand any
    // slice (a followed stream, a heuristic's guess): past i128 it is too long.
    let mut v: i128 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d - b'0')))
            .ok_or(NumberError::TooLong)?;
    }
    Ok(if neg { -v } else { v })
}

/// The three request fields as sent by the course client, one NUL-terminated text each.
pub fn encode_number(v: i64) -> Vec<u8> {
    let mut s = v.to_string().into_bytes();
    s.push(0);
    s
}

/// `a + b` when `op == 0`, else `a - b`.
pub fn compute(a: i128, b: i128, op: i128) -> i128 {
    if op == 0 {
        a + b
    } else {
        a - b
    }
}

/// The reply: `str(res) + "\0\0"`.
pub fn encode_reply(res: i128) -> Vec<u8> {
    let mut s = res.to_string().into_bytes();
    s.extend_from_slice(b"\0\0");
    s
}

/// Decode a reply (the text before the first NUL) as a signed number.
pub fn decode_reply(bytes: &[u8]) -> Result<i128, NumberError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    if end > MAX_NUMBER_LEN {
        return Err(NumberError::TooLong);
    }
    parse_decimal(&bytes[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]]) -> Vec<Step> {
        let mut r = NumberReader::new();
        let mut out = vec![];
        for c in chunks {
            let mut c: &[u8] = c;
            loop {
                match r.push(c) {
                    Step::More => break,
                    Step::Number { value, used } => {
                        out.push(Step::Number { value, used });
                        c = &c[used..];
                    }
                    bad => {
                        out.push(bad);
                        break;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn numbers_split_anywhere() {
        let steps = read_all(&[b"1", b"2\0-", b"4\0", b"1\0"]);
        let vals: Vec<i128> = steps
            .iter()
            .map(|s| match s {
                Step::Number { value, .. } => *value,
                _ => panic!("{s:?}"),
            })
            .collect();
        assert_eq!(vals, vec![12, -4, 1]);
    }

    #[test]
    fn bad_numbers() {
        assert!(matches!(
            read_all(&[b"12a\0"])[0],
            Step::Bad {
                error: NumberError::NotDecimal,
                ..
            }
        ));
        assert!(matches!(
            read_all(&[b"\0"])[0],
            Step::Bad {
                error: NumberError::Empty,
                ..
            }
        ));
        let long = vec![b'9'; 40];
        match &read_all(&[&long])[0] {
            Step::Bad {
                error: NumberError::TooLong,
                text,
            } => assert_eq!(text.len(), 33),
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn exactly_max_len_is_fine() {
        let mut n = vec![b'1'; MAX_NUMBER_LEN];
        n.push(0);
        assert!(matches!(read_all(&[&n])[0], Step::Number { .. }));
    }

    #[test]
    fn python_like_whitespace_and_sign() {
        assert_eq!(parse_decimal(b" 42 ").unwrap(), 42);
        assert_eq!(parse_decimal(b"+7").unwrap(), 7);
        assert_eq!(parse_decimal(b"-").unwrap_err(), NumberError::NotDecimal);
        // Past i128 (found by the stream fuzz target): an error, no overflow.
        assert_eq!(
            parse_decimal(&[b'9'; 60]).unwrap_err(),
            NumberError::TooLong
        );
        assert_eq!(
            parse_decimal(b"-170141183460469231731687303715884105727").unwrap(),
            -i128::MAX
        );
    }

    #[test]
    fn read_into_stops_at_want_and_reports_bad_numbers() {
        let mut r = NumberReader::new();
        let mut nums = Vec::new();
        r.read_into(b"1\x002", &mut nums, 3).unwrap();
        assert_eq!(nums, vec![1]);
        r.read_into(b"\x003\x009\x00", &mut nums, 3).unwrap();
        assert_eq!(nums, vec![1, 2, 3]);
        let mut r = NumberReader::new();
        let (e, text) = r.read_into(b"x\x00", &mut Vec::new(), 3).unwrap_err();
        assert_eq!((e, text), (NumberError::NotDecimal, b"x".to_vec()));
    }

    #[test]
    fn reply_round_trip() {
        assert_eq!(encode_reply(-3), b"-3\0\0");
        assert_eq!(decode_reply(b"-3\0\0").unwrap(), -3);
        assert_eq!(compute(5, 8, 1), -3);
        assert_eq!(compute(5, 8, 0), 13);
        assert_eq!(encode_number(5), b"5\0");
    }
}
