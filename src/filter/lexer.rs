//! Splits a filter expression into tokens, as libpcap's scanner does.
//!
//! A word is a run of letters, digits and `_ . : \`, with `-` allowed
//! between two such characters (so `tcp-syn`, `icmp-echo`, `1-100` and
//! `ff02::1` are one word each, and `len - 14` is three tokens). Inside
//! `[...]` a `:` separates offset and size instead. Everything else is an
//! operator of one or two characters. Never panics; positions are byte
//! offsets on character boundaries.

/// One token with where it starts in the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The text of the token.
    pub text: &'a str,
    /// Byte offset in the expression.
    pub pos: usize,
}

impl Token<'_> {
    /// True when the token is a word (not an operator).
    pub fn is_word(&self) -> bool {
        self.text.chars().next().is_some_and(is_word_char)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '\\')
}

const TWO: [&str; 9] = ["&&", "||", "<<", ">>", "<=", ">=", "==", "!=", "<>"];

/// Tokens of `expr`, in order.
pub fn tokenize(expr: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let word = |ch: u8| is_word_char(ch as char) && !(depth > 0 && ch == b':');
        let len = if word(c) {
            let mut j = i;
            while j < b.len() {
                let dash = b[j] == b'-' && j > i && j + 1 < b.len() && word(b[j + 1]);
                if !word(b[j]) && !dash {
                    break;
                }
                j += 1;
            }
            j - i
        } else if expr.get(i..i + 2).is_some_and(|t| TWO.contains(&t)) {
            2
        } else {
            1
        };
        match c {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        // Stay on character boundaries for non-ASCII input.
        let mut end = (i + len).min(b.len());
        while !expr.is_char_boundary(end) {
            end += 1;
        }
        out.push(Token {
            text: &expr[i..end],
            pos: i,
        });
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_operators_and_brackets() {
        assert_eq!(
            texts("tcp[tcpflags]&tcp-syn!=0"),
            ["tcp", "[", "tcpflags", "]", "&", "tcp-syn", "!=", "0"]
        );
        assert_eq!(
            texts("udp[8:4] = 0x0a"),
            ["udp", "[", "8", ":", "4", "]", "=", "0x0a"]
        );
        assert_eq!(texts("host ff02::1"), ["host", "ff02::1"]);
        assert_eq!(texts("net 10.0.0.0/8"), ["net", "10.0.0.0", "/", "8"]);
        assert_eq!(texts("portrange 1-100"), ["portrange", "1-100"]);
        assert_eq!(texts("len - 14 >= 100"), ["len", "-", "14", ">=", "100"]);
        assert_eq!(texts("!tcp||(udp)"), ["!", "tcp", "||", "(", "udp", ")"]);
        assert_eq!(texts("proto \\udp"), ["proto", "\\udp"]);
        assert_eq!(texts("a-"), ["a", "-"]);
        assert_eq!(texts("é"), ["é"]);
    }
}
