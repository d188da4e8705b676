//! Packet filters: a small expression language with tcpdump's common
//! primitives, shared by `sniff` and `replay`.
//!
//! ```text
//! expr    := and ( ("or" | "||") and )*
//! and     := unary ( ("and" | "&&") unary )*
//! unary   := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive := proto [ qualified ] | qualified
//! proto   := "tcp" | "udp" | "icmp" | "icmp6" | "arp" | "ip" | "ip6"
//! qualified := ["src" | "dst"] "host" ADDRESS | ["src" | "dst"] "port" NUMBER
//! ```
//!
//! Words given as several command-line arguments are joined with spaces
//! first, so `socklab sniff tcp and port 80` and `socklab sniff 'tcp and
//! port 80'` mean the same. Parsing never panics; an error carries the
//! position of the bad token so it can be shown under the expression.
//! Evaluation is pure and allocation-free.

use std::fmt;
use std::net::IpAddr;

use crate::wire::packet::{Decoded, Net, Transport};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Matches every packet (no expression given).
    All,
    /// Both must match.
    And(Box<Filter>, Box<Filter>),
    /// Either must match.
    Or(Box<Filter>, Box<Filter>),
    /// Must not match.
    Not(Box<Filter>),
    /// A primitive.
    Prim(Prim),
}

/// Which end of a packet a host or port primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Source or destination.
    Any,
    /// Source only.
    Src,
    /// Destination only.
    Dst,
}

/// A filter primitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prim {
    /// TCP segments.
    Tcp,
    /// UDP datagrams.
    Udp,
    /// ICMP for IPv4.
    Icmp,
    /// ICMPv6.
    Icmp6,
    /// ARP.
    Arp,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// An address at the given end.
    Host(Dir, IpAddr),
    /// A TCP or UDP port at the given end.
    Port(Dir, u16),
}

/// A filter expression that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// The whole expression as parsed.
    pub expr: String,
    /// Byte offset of the bad token in `expr`.
    pub pos: usize,
    /// Length of the bad token (at least 1 for the caret line).
    pub len: usize,
    /// What was wrong.
    pub msg: String,
}

impl std::error::Error for FilterError {}

impl fmt::Display for FilterError {
    /// `bad filter: MSG`, the expression, and carets under the bad token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let col = self
            .expr
            .get(..self.pos)
            .map_or(self.pos, |s| s.chars().count());
        writeln!(f, "bad filter: {}", self.msg)?;
        writeln!(f, "  {}", self.expr)?;
        write!(f, "  {}{}", " ".repeat(col), "^".repeat(self.len.max(1)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    pos: usize,
}

fn tokenize(expr: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = expr.get(i..i + 2);
        let len = if two == Some("&&") || two == Some("||") {
            2
        } else if matches!(c, b'(' | b')' | b'!') {
            1
        } else {
            let mut j = i;
            while j < b.len()
                && !b[j].is_ascii_whitespace()
                && !matches!(b[j], b'(' | b')' | b'!' | b'&' | b'|')
            {
                j += 1;
            }
            // A lone '&' or '|' is a token of its own (reported as an error).
            (j - i).max(1)
        };
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

struct Parser<'a> {
    expr: &'a str,
    toks: Vec<Token<'a>>,
    at: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.at).copied()
    }

    fn err_at(&self, tok: Option<Token<'_>>, msg: impl Into<String>) -> FilterError {
        let (pos, len) = match tok {
            Some(t) => (t.pos, t.text.chars().count()),
            None => (self.expr.len(), 1),
        };
        FilterError {
            expr: self.expr.to_string(),
            pos,
            len,
            msg: msg.into(),
        }
    }

    fn is(&self, words: &[&str]) -> bool {
        self.peek()
            .is_some_and(|t| words.iter().any(|w| t.text.eq_ignore_ascii_case(w)))
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.is(&["or", "||"]) {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.is(&["and", "&&"]) {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(self.peek(), "expression nested too deeply"));
        }
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Filter, FilterError> {
        let Some(tok) = self.peek() else {
            return Err(self.err_at(
                None,
                "expression ends here, expected a primitive (tcp, udp, host A, port N...)",
            ));
        };
        if self.is(&["not", "!"]) {
            self.at += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if tok.text == "(" {
            self.at += 1;
            let inner = self.or()?;
            match self.peek() {
                Some(t) if t.text == ")" => {
                    self.at += 1;
                    Ok(inner)
                }
                other => Err(self.err_at(
                    other,
                    format!("expected ')' to close the '(' at column {}", tok.pos + 1),
                )),
            }
        } else {
            self.primitive()
        }
    }

    fn primitive(&mut self) -> Result<Filter, FilterError> {
        let Some(tok) = self.peek() else {
            return Err(self.err_at(None, "expected a primitive"));
        };
        self.at += 1;
        let word = tok.text.to_ascii_lowercase();
        let simple = match word.as_str() {
            "tcp" => Some(Prim::Tcp),
            "udp" => Some(Prim::Udp),
            "icmp" => Some(Prim::Icmp),
            "icmp6" => Some(Prim::Icmp6),
            "arp" => Some(Prim::Arp),
            "ip" => Some(Prim::Ip),
            "ip6" => Some(Prim::Ip6),
            _ => None,
        };
        if let Some(p) = simple {
            // tcpdump's qualifier form: `tcp port 80`, `udp src port 53`,
            // `ip host 10.0.0.1` mean the protocol AND the primitive.
            if self.is(&["src", "dst", "host", "port"]) {
                let rest = self.primitive()?;
                return Ok(Filter::And(Box::new(Filter::Prim(p)), Box::new(rest)));
            }
            return Ok(Filter::Prim(p));
        }
        let (dir, kind) = match word.as_str() {
            "src" | "dst" => {
                let dir = if word == "src" { Dir::Src } else { Dir::Dst };
                let Some(next) = self.peek() else {
                    return Err(self.err_at(None, format!("expected 'host' or 'port' after '{}'", tok.text)));
                };
                let k = next.text.to_ascii_lowercase();
                if k != "host" && k != "port" {
                    return Err(self.err_at(Some(next), format!("expected 'host' or 'port' after '{}'", tok.text)));
                }
                self.at += 1;
                (dir, k)
            }
            "host" | "port" => (Dir::Any, word.clone()),
            ")" => return Err(self.err_at(Some(tok), "unexpected ')': no '(' is open here")),
            "and" | "or" | "&&" | "||" => {
                return Err(self.err_at(Some(tok), format!("'{}' needs a primitive on its left", tok.text)))
            }
            _ => {
                return Err(self.err_at(
                    Some(tok),
                    format!(
                        "unknown word '{}'{}: expected tcp, udp, icmp, icmp6, arp, ip, ip6, [src|dst] host A, [src|dst] port N, and, or, not, parentheses",
                        tok.text,
                        crate::suggest::did_you_mean(
                            tok.text,
                            [
                                "tcp", "udp", "icmp", "icmp6", "arp", "ip", "ip6", "src", "dst",
                                "host", "port", "and", "or", "not"
                            ]
                        )
                    ),
                ))
            }
        };
        let Some(arg) = self
            .peek()
            .filter(|t| !matches!(t.text, "(" | ")" | "!" | "&&" | "||"))
        else {
            return Err(self.err_at(self.peek(), format!("'{kind}' needs a value")));
        };
        self.at += 1;
        if kind == "host" {
            let addr = match arg.text {
                "localhost" => IpAddr::from([127, 0, 0, 1]),
                s => s.parse::<IpAddr>().map_err(|_| {
                    self.err_at(
                        Some(arg),
                        format!("'{}' is not an IPv4 or IPv6 address", arg.text),
                    )
                })?,
            };
            Ok(Filter::Prim(Prim::Host(dir, addr)))
        } else {
            let port = arg.text.parse::<u16>().map_err(|_| {
                self.err_at(
                    Some(arg),
                    format!("'{}' is not a port number (0..65535)", arg.text),
                )
            })?;
            Ok(Filter::Prim(Prim::Port(dir, port)))
        }
    }
}

impl Filter {
    /// Parse an expression; empty (or only spaces) means "everything".
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let mut p = Parser {
            expr,
            toks: tokenize(expr),
            at: 0,
            depth: 0,
        };
        if p.toks.is_empty() {
            return Ok(Filter::All);
        }
        let f = p.or()?;
        if let Some(t) = p.peek() {
            let msg = if t.text == ")" {
                "unexpected ')': no '(' is open here".to_string()
            } else {
                format!("expected 'and' or 'or' before '{}'", t.text)
            };
            return Err(p.err_at(Some(t), msg));
        }
        Ok(f)
    }

    /// Parse command-line words joined with single spaces.
    pub fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<Filter, FilterError> {
        let joined = words
            .iter()
            .map(|w| w.as_ref())
            .collect::<Vec<_>>()
            .join(" ");
        Filter::parse(&joined)
    }

    /// True when the decoded packet matches.
    pub fn matches(&self, d: &Decoded<'_>) -> bool {
        match self {
            Filter::All => true,
            Filter::And(a, b) => a.matches(d) && b.matches(d),
            Filter::Or(a, b) => a.matches(d) || b.matches(d),
            Filter::Not(a) => !a.matches(d),
            Filter::Prim(p) => p.matches(d),
        }
    }
}

impl Prim {
    fn matches(&self, d: &Decoded<'_>) -> bool {
        match self {
            Prim::Tcp => matches!(d.transport, Transport::Tcp(_)),
            Prim::Udp => matches!(d.transport, Transport::Udp(_)),
            Prim::Icmp => matches!(d.transport, Transport::Icmp4(_)),
            Prim::Icmp6 => matches!(d.transport, Transport::Icmp6(_)),
            Prim::Arp => matches!(d.net, Net::Arp(_)),
            Prim::Ip => matches!(d.net, Net::Ipv4(_)),
            Prim::Ip6 => matches!(d.net, Net::Ipv6(_)),
            Prim::Host(dir, a) => d
                .ips()
                .is_some_and(|(s, t)| dir_match(*dir, s == *a, t == *a)),
            Prim::Port(dir, p) => d
                .ports()
                .is_some_and(|(s, t)| dir_match(*dir, s == *p, t == *p)),
        }
    }
}

fn dir_match(dir: Dir, src: bool, dst: bool) -> bool {
    match dir {
        Dir::Any => src || dst,
        Dir::Src => src,
        Dir::Dst => dst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::testframes::{tcp, tcp_between, udp};
    use crate::wire::packet::{decode, LinkType};

    fn m(expr: &str, frame: &[u8]) -> bool {
        Filter::parse(expr)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(&decode(LinkType::Ethernet, frame))
    }

    #[test]
    fn primitives() {
        let t = tcp(40000, 80, 0, 0, 2, &[]);
        let u = udp(5353, 10009, b"x");
        assert!(m("tcp", &t) && !m("tcp", &u));
        assert!(m("udp", &u) && !m("udp", &t));
        assert!(m("ip", &t) && !m("ip6", &t));
        assert!(!m("icmp", &t) && !m("arp", &t));
        assert!(m("port 80", &t) && m("dst port 80", &t) && !m("src port 80", &t));
        assert!(m("src port 40000", &t));
        assert!(m("port 10009", &u) && !m("port 80", &u));
        assert!(m("host 127.0.0.1", &t) && !m("host 10.0.0.1", &t));
        assert!(m("", &t));
        // Qualifier form, as in tcpdump.
        assert!(m("tcp port 80", &t) && !m("udp port 80", &t));
        assert!(m("udp dst port 10009", &u) && !m("udp src port 10009", &u));
        assert!(m("ip host 127.0.0.1", &t) && !m("ip6 host 127.0.0.1", &t));
        assert_eq!(
            Filter::parse("tcp port 80"),
            Filter::parse("tcp and port 80")
        );
    }

    #[test]
    fn src_and_dst_host() {
        let t = tcp_between([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 0, 0, 2, &[]);
        assert!(m("src host 10.0.0.1", &t));
        assert!(!m("dst host 10.0.0.1", &t));
        assert!(m("dst host 10.0.0.2 && src host 10.0.0.1", &t));
    }

    #[test]
    fn boolean_logic_and_precedence() {
        let t = tcp(1, 80, 0, 0, 2, &[]);
        assert!(m("udp or tcp and port 80", &t)); // and binds tighter
        assert!(!m("(udp or tcp) and port 81", &t));
        assert!(m("not udp", &t) && m("! udp", &t) && m("!udp", &t));
        assert!(!m("not (tcp && port 80)", &t));
        assert!(m("tcp || udp", &t));
        assert!(m("TCP AND PORT 80", &t));
        let f = Filter::parse("udp or tcp and port 80").expect("parses");
        assert!(matches!(f, Filter::Or(_, _)));
    }

    #[test]
    fn words_are_joined() {
        let f = Filter::parse_words(&["tcp", "and", "port", "80"]).expect("parses");
        assert_eq!(f, Filter::parse("tcp and port 80").expect("parses"));
    }

    fn err(expr: &str) -> FilterError {
        match Filter::parse(expr) {
            Ok(f) => panic!("{expr:?} parsed as {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_point_at_the_bad_token() {
        let e = err("tcp and prot 80");
        assert_eq!((e.pos, e.len), (8, 4));
        assert!(e.msg.contains("unknown word 'prot'"));
        assert_eq!(e.to_string().lines().nth(2), Some("          ^^^^"), "{e}");
        let e = err("port 99999");
        assert_eq!(e.pos, 5);
        assert!(e.msg.contains("not a port number"));
        let e = err("host 1.2.3");
        assert_eq!(e.pos, 5);
        let e = err("tcp and");
        assert_eq!(e.pos, 7);
        assert!(e.msg.contains("ends here"));
        let e = err("(tcp or udp");
        assert_eq!(e.pos, 11);
        assert!(e.msg.contains("expected ')'"));
        let e = err("tcp)");
        assert_eq!(e.pos, 3);
        let e = err("tcp udp");
        assert_eq!(e.pos, 4);
        assert!(e.msg.contains("expected 'and' or 'or'"));
        let e = err("src 80");
        assert_eq!(e.pos, 4);
        let e = err("port");
        assert_eq!(e.pos, 4);
        let e = err("and tcp");
        assert_eq!(e.pos, 0);
        let e = err("tcp & udp");
        assert_eq!(e.pos, 4);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for s in [
            "((((((",
            "!!!!!!!",
            "é port",
            "port é",
            "&&&",
            "|",
            ")(",
            "host ::1 and ((port 1))",
        ] {
            let _ = Filter::parse(s);
        }
        let deep = "(".repeat(10_000);
        assert!(Filter::parse(&deep).is_err());
        assert!(Filter::parse("host ::1 and ((port 1))").is_ok());
    }
}
