//! tcpdump's filter grammar, parsed by recursive descent into [`Expr`].
//!
//! ```text
//! expr     := term ( ("and" | "&&" | "or" | "||") term )*   left to right,
//!                                                          and/or equal (as tcpdump)
//! term     := ("not" | "!") term | "(" expr ")" | rel | primitive | ID
//! rel      := arith ("=" | "==" | "!=" | "<" | "<=" | ">" | ">=") arith
//! arith    := arith op arith | "-" arith | "(" arith ")" | NUM | "len"
//!           | NAME (tcpflags, tcp-syn, icmptype, icmp-echo, ...)
//!           | proto "[" arith [":" 1|2|4] "]"
//! primitive:= [proto] [dir] [type] ID | proto | proto "proto" P
//!           | [ether|ip|ip6] (broadcast|multicast) | proto P
//!           | less N | greater N | vlan [N] | inbound | outbound
//! proto    := ether | ip | ip6 | arp | rarp | tcp | udp | sctp | icmp | icmp6 | igmp
//! dir      := src | dst | src or dst | src and dst
//! type     := host | net | port | portrange
//! ```
//! A bare ID after `and`/`or`/`not` takes the qualifiers of the primitive
//! before it (`port 80 or 443`), as in tcpdump. Each `vlan` moves the
//! network layer of every primitive after it by 4 bytes, as in libpcap.
//! Never panics; every error carries the position of the bad token.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ast::{Arith, Dir, Expr, Layer, Op, Prim, PrimKind, Proto, Rel};
use super::lexer::{tokenize, Token};
use super::{names, FilterError};

const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Net,
    Port,
    Portrange,
}

#[derive(Debug, Clone, Copy)]
struct Quals {
    proto: Option<Proto>,
    dir: Dir,
    kind: Option<Kind>,
}

/// Words that are never an ID.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "src",
    "dst",
    "host",
    "net",
    "port",
    "portrange",
    "less",
    "greater",
    "vlan",
    "broadcast",
    "multicast",
    "proto",
    "mask",
    "len",
    "inbound",
    "outbound",
    "ether",
    "link",
    "ip",
    "ip6",
    "arp",
    "rarp",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    "igmp",
];

type R<T> = Result<T, FilterError>;

struct Parser<'a> {
    expr: &'a str,
    toks: Vec<Token<'a>>,
    at: usize,
    depth: usize,
    vlan: u8,
    last: Option<Quals>,
}

/// Parse `expr`; `None` when it is empty.
pub fn parse(expr: &str) -> R<Option<Expr>> {
    let mut p = Parser {
        expr,
        toks: tokenize(expr),
        at: 0,
        depth: 0,
        vlan: 0,
        last: None,
    };
    if p.toks.is_empty() {
        return Ok(None);
    }
    let e = p.expr()?;
    if let Some(t) = p.peek() {
        let lower = t.text.to_ascii_lowercase();
        let msg = if t.text == ")" {
            "unexpected ')': no '(' is open here".to_string()
        } else if names::UNSUPPORTED.contains(&lower.as_str()) {
            unsupported(t.text)
        } else if t.is_word() && !KEYWORDS.contains(&lower.as_str()) && !looks_like_id(t.text) {
            unknown(t.text)
        } else {
            format!("expected 'and' or 'or' before '{}'", t.text)
        };
        return Err(p.err_at(Some(t), msg));
    }
    Ok(Some(e))
}

fn unsupported(w: &str) -> String {
    format!("'{w}' is not supported by socklab's filters (see 'socklab sniff --help' for what is)")
}

fn unknown(w: &str) -> String {
    format!(
        "unknown word '{w}'{}: expected a primitive such as tcp, udp, icmp, arp, ip, ip6, \
         [src|dst] host A, net N/LEN, port N, portrange A-B, less N, greater N, vlan, \
         ether host MAC, proto[OFFSET] comparisons, and, or, not, parentheses",
        crate::suggest::did_you_mean(w, KEYWORDS.iter().copied())
    )
}

/// A number as libpcap reads it: `0x` hex, leading `0` octal, else decimal.
pub fn number(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn looks_like_id(s: &str) -> bool {
    number(s).is_some()
        || s.parse::<IpAddr>().is_ok()
        || parse_mac(s).is_some()
        || abbreviated_v4(s).is_some()
}

/// `00:11:22:33:44:55`, `00-11-...`, `0011.2233.4455` or `001122334455`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = if s.contains(':') || s.contains('-') {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
            return None;
        }
        parts.iter().map(|p| format!("{p:0>2}")).collect()
    } else if s.contains('.') {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
            return None;
        }
        parts.concat()
    } else {
        s.to_string()
    };
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, m) in mac.iter_mut().enumerate() {
        *m = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(mac)
}

/// `10`, `10.1`, `10.1.2` (libpcap's abbreviated networks): the address and
/// how many leading bytes were given.
fn abbreviated_v4(s: &str) -> Option<(Ipv4Addr, u32)> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        b[i] = p.parse().ok()?;
    }
    Some((Ipv4Addr::from(b), parts.len() as u32))
}

fn v4_mask(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32))
    }
}

fn v6_mask(len: u32) -> Ipv6Addr {
    let m = if len == 0 {
        0u128
    } else {
        u128::MAX << (128 - len.min(128))
    };
    Ipv6Addr::from(m)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.at).copied()
    }

    fn peek_at(&self, n: usize) -> Option<Token<'a>> {
        self.toks.get(self.at + n).copied()
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

    fn expr(&mut self) -> R<Expr> {
        let mut left = self.term()?;
        loop {
            if self.is(&["and", "&&"]) {
                self.at += 1;
                let right = self.term()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else if self.is(&["or", "||"]) {
                self.at += 1;
                let right = self.term()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn term(&mut self) -> R<Expr> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(self.err_at(self.peek(), "expression nested too deeply"))
        } else {
            self.term_inner()
        };
        self.depth -= 1;
        r
    }

    fn term_inner(&mut self) -> R<Expr> {
        let Some(tok) = self.peek() else {
            return Err(self.err_at(
                None,
                "expression ends here, expected a primitive (tcp, udp, host A, port N...)",
            ));
        };
        if self.is(&["not", "!"]) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.term()?)));
        }
        let save = (self.at, self.vlan);
        if tok.text == "(" {
            let e1 = match self.relation() {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            (self.at, self.vlan) = save;
            self.at += 1;
            let group = self.expr().and_then(|inner| match self.peek() {
                Some(t) if t.text == ")" => {
                    self.at += 1;
                    Ok(inner)
                }
                other => Err(self.err_at(
                    other,
                    format!("expected ')' to close the '(' at column {}", tok.pos + 1),
                )),
            });
            return group.map_err(|e2| further(e1, e2));
        }
        if self.arith_start() {
            // `word[` can only be a byte-offset expression.
            let load = self.peek_at(1).is_some_and(|n| n.text == "[");
            let e1 = match self.relation() {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            if load {
                return Err(e1);
            }
            (self.at, self.vlan) = save;
            return self.primitive().map_err(|e2| further(e1, e2));
        }
        self.primitive()
    }

    fn arith_start(&self) -> bool {
        let Some(t) = self.peek() else { return false };
        let w = t.text.to_ascii_lowercase();
        w == "len"
            || w == "-"
            || number(&w).is_some()
            || names::constant(&w).is_some()
            || self.peek_at(1).is_some_and(|n| n.text == "[")
    }

    fn relation(&mut self) -> R<Expr> {
        let a = self.arith(0)?;
        let rel =
            match self.peek().map(|t| t.text) {
                Some("=" | "==") => Rel::Eq,
                Some("!=") => Rel::Ne,
                Some(">") => Rel::Gt,
                Some(">=") => Rel::Ge,
                Some("<") => Rel::Lt,
                Some("<=") => Rel::Le,
                _ => return Err(self.err_at(
                    self.peek(),
                    "expected a comparison (=, !=, <, <=, >, >=) after the arithmetic expression",
                )),
            };
        self.at += 1;
        let b = self.arith(0)?;
        Ok(Expr::Rel(a, rel, b))
    }

    fn arith(&mut self, level: u8) -> R<Arith> {
        const LEVELS: [&[(&str, Op)]; 5] = [
            &[("|", Op::Or), ("^", Op::Xor)],
            &[("&", Op::And)],
            &[("<<", Op::Lsh), (">>", Op::Rsh)],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Mod)],
        ];
        let Some(ops) = LEVELS.get(usize::from(level)) else {
            return self.arith_unary();
        };
        let mut left = self.arith(level + 1)?;
        while let Some(t) = self.peek() {
            let Some(&(_, op)) = ops.iter().find(|(s, _)| *s == t.text) else {
                break;
            };
            self.at += 1;
            let right = self.arith(level + 1)?;
            match (op, &right) {
                (Op::Div | Op::Mod, Arith::Num(0)) => {
                    return Err(self.err_at(Some(t), "division by zero"))
                }
                (Op::Lsh | Op::Rsh, Arith::Num(n)) if *n >= 32 => {
                    return Err(self.err_at(
                        Some(t),
                        "a shift by 32 or more is not supported (BPF refuses it)",
                    ))
                }
                _ => {}
            }
            left = Arith::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn arith_unary(&mut self) -> R<Arith> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(self.err_at(self.peek(), "expression nested too deeply"))
        } else {
            self.arith_unary_inner()
        };
        self.depth -= 1;
        r
    }

    fn arith_unary_inner(&mut self) -> R<Arith> {
        let Some(tok) = self.peek() else {
            return Err(self.err_at(None, "expression ends here, expected a number"));
        };
        self.at += 1;
        let w = tok.text.to_ascii_lowercase();
        if w == "-" {
            return Ok(Arith::Neg(Box::new(self.arith_unary()?)));
        }
        if w == "(" {
            let inner = self.arith(0)?;
            return match self.peek() {
                Some(t) if t.text == ")" => {
                    self.at += 1;
                    Ok(inner)
                }
                other => Err(self.err_at(
                    other,
                    format!("expected ')' to close the '(' at column {}", tok.pos + 1),
                )),
            };
        }
        if w == "len" {
            return Ok(Arith::Len);
        }
        if let Some(n) = number(&w).or_else(|| names::constant(&w)) {
            return Ok(Arith::Num(n));
        }
        let bracket = self.peek().is_some_and(|t| t.text == "[");
        match Proto::from_word(&w) {
            Some(proto) if bracket => {
                self.at += 1;
                let off = self.arith(0)?;
                let mut size = 1u8;
                if self.peek().is_some_and(|t| t.text == ":") {
                    self.at += 1;
                    let st = self.peek();
                    size = match st.and_then(|t| number(t.text)) {
                        Some(n @ (1 | 2 | 4)) => n as u8,
                        _ => return Err(self.err_at(st, "data size must be 1, 2, or 4")),
                    };
                    self.at += 1;
                }
                match self.peek() {
                    Some(t) if t.text == "]" => self.at += 1,
                    other => {
                        return Err(
                            self.err_at(other, format!("expected ']' to close '{}['", tok.text))
                        )
                    }
                }
                Ok(Arith::Load {
                    proto,
                    off: Box::new(off),
                    size,
                    vlan: self.vlan,
                })
            }
            Some(_) => Err(self.err_at(
                Some(tok),
                format!(
                    "'{}' is a protocol, not a number: to read its bytes write {}[OFFSET]",
                    tok.text, w
                ),
            )),
            None if bracket && names::UNSUPPORTED.contains(&w.as_str()) => {
                Err(self.err_at(Some(tok), unsupported(tok.text)))
            }
            None => Err(self.err_at(
                Some(tok),
                format!(
                    "unknown word '{}' in an arithmetic expression: expected a number, len, \
                     PROTO[OFFSET] or a name such as tcpflags, tcp-syn, icmptype, icmp-echo",
                    tok.text
                ),
            )),
        }
    }

    fn prim(&self, kind: PrimKind) -> Expr {
        Expr::Prim(Prim {
            kind,
            vlan: self.vlan,
        })
    }

    fn value_tok(&mut self, what: &str) -> R<Token<'a>> {
        match self.peek() {
            Some(t)
                if t.is_word()
                    && !matches!(t.text.to_ascii_lowercase().as_str(), "and" | "or" | "not") =>
            {
                self.at += 1;
                Ok(t)
            }
            other => Err(self.err_at(other, format!("'{what}' needs a value"))),
        }
    }

    fn num_arg(&mut self, what: &str) -> R<u32> {
        let t = self.value_tok(what)?;
        number(t.text).ok_or_else(|| {
            self.err_at(
                Some(t),
                format!("'{}' is not a number (after '{what}')", t.text),
            )
        })
    }

    fn primitive(&mut self) -> R<Expr> {
        let Some(tok) = self.peek() else {
            return Err(self.err_at(None, "expected a primitive"));
        };
        self.at += 1;
        let w = tok.text.to_ascii_lowercase();
        match w.as_str() {
            ")" => Err(self.err_at(Some(tok), "unexpected ')': no '(' is open here")),
            "and" | "or" | "&&" | "||" => Err(self.err_at(
                Some(tok),
                format!("'{}' needs a primitive on its left", tok.text),
            )),
            "less" | "greater" => {
                let n = self.num_arg(&w)?;
                Ok(self.prim(if w == "less" {
                    PrimKind::Less(n)
                } else {
                    PrimKind::Greater(n)
                }))
            }
            "len" => Err(self.err_at(
                Some(tok),
                "'len' is the packet length: compare it, e.g. 'len > 100' (or use 'less N', 'greater N')",
            )),
            "vlan" => {
                let mut id = None;
                if let Some(t) = self.peek() {
                    if let Some(n) = number(t.text) {
                        if n > 4095 {
                            return Err(self.err_at(Some(t), "a VLAN ID is 0..4095"));
                        }
                        self.at += 1;
                        id = Some(n as u16);
                    }
                }
                let p = self.prim(PrimKind::Vlan(id));
                self.vlan = self.vlan.saturating_add(1);
                Ok(p)
            }
            "inbound" | "outbound" => Ok(self.prim(PrimKind::Inbound(w == "inbound"))),
            "broadcast" => Ok(self.prim(PrimKind::Broadcast(Layer::Ether))),
            "multicast" => Ok(self.prim(PrimKind::Multicast(Layer::Ether))),
            "proto" => {
                let n = self.proto_value()?;
                Ok(self.prim(PrimKind::AnyProto(n)))
            }
            _ => self.qualified(tok, &w),
        }
    }

    fn proto_value(&mut self) -> R<u8> {
        let t = self.value_tok("proto")?;
        let w = t.text.to_ascii_lowercase();
        match number(&w) {
            Some(n) => u8::try_from(n).map_err(|_| {
                self.err_at(
                    Some(t),
                    format!("'{}' is not an IP protocol number (0..255)", t.text),
                )
            }),
            None => names::ip_proto(&w).ok_or_else(|| {
                self.err_at(
                    Some(t),
                    format!(
                        "unknown word '{}': not an IP protocol name or number",
                        t.text
                    ),
                )
            }),
        }
    }

    fn qualified(&mut self, first: Token<'a>, w: &str) -> R<Expr> {
        let mut proto = None;
        if let Some(p) = Proto::from_word(w) {
            proto = Some(p);
            let next = self.peek().map(|t| t.text.to_ascii_lowercase());
            match next.as_deref() {
                Some("proto") => {
                    self.at += 1;
                    return match p {
                        Proto::Ip => {
                            let n = self.proto_value()?;
                            Ok(self.prim(PrimKind::IpProto(n)))
                        }
                        Proto::Ip6 => {
                            let n = self.proto_value()?;
                            Ok(self.prim(PrimKind::Ip6Proto(n)))
                        }
                        Proto::Ether => {
                            let t = self.value_tok("ether proto")?;
                            let lw = t.text.to_ascii_lowercase();
                            let n = match number(&lw) {
                                Some(n) => u16::try_from(n).ok(),
                                None => names::ethertype(&lw),
                            };
                            match n {
                                Some(n) => Ok(self.prim(PrimKind::EtherProto(n))),
                                None => Err(self.err_at(
                                    Some(t),
                                    format!("unknown word '{}': not an EtherType name or number", t.text),
                                )),
                            }
                        }
                        _ => Err(self.err_at(
                            Some(first),
                            format!("'{w} proto' is not valid: use 'ip proto N', 'ip6 proto N', 'ether proto N' or 'proto N'"),
                        )),
                    };
                }
                Some(b @ ("broadcast" | "multicast")) => {
                    let bt = self.peek();
                    self.at += 1;
                    let layer = match p {
                        Proto::Ether => Layer::Ether,
                        Proto::Ip => Layer::Ip,
                        Proto::Ip6 if b == "multicast" => Layer::Ip6,
                        _ => {
                            return Err(self.err_at(
                                bt,
                                format!(
                                    "'{w} {b}' is not valid: use ether {b}, ip {b}{}",
                                    if b == "multicast" {
                                        " or ip6 multicast"
                                    } else {
                                        ""
                                    }
                                ),
                            ))
                        }
                    };
                    return Ok(self.prim(if b == "broadcast" {
                        PrimKind::Broadcast(layer)
                    } else {
                        PrimKind::Multicast(layer)
                    }));
                }
                Some(x) if names::UNSUPPORTED.contains(&x) => {
                    return Err(self.err_at(self.peek(), unsupported(x)));
                }
                Some("src" | "dst" | "host" | "net" | "port" | "portrange") => {}
                _ => {
                    if p == Proto::Ether {
                        return Err(self.err_at(
                            self.peek(),
                            "'ether' needs host, src, dst, proto, broadcast, multicast or [OFFSET]",
                        ));
                    }
                    self.last = None;
                    return Ok(self.prim(PrimKind::Proto(p)));
                }
            }
        } else {
            // Not a protocol: step back so dir/type see the first word.
            self.at -= 1;
        }
        let mut dir = None;
        if self.is(&["src", "dst"]) {
            let d = self.peek().map(|t| t.text.to_ascii_lowercase());
            self.at += 1;
            let other = if d.as_deref() == Some("src") {
                "dst"
            } else {
                "src"
            };
            let joined = self.peek().map(|t| t.text.to_ascii_lowercase());
            let then = self.peek_at(1).map(|t| t.text.to_ascii_lowercase());
            dir = Some(match (joined.as_deref(), then.as_deref()) {
                (Some("or"), Some(o)) if o == other => {
                    self.at += 2;
                    Dir::Any
                }
                (Some("and"), Some(o)) if o == other => {
                    self.at += 2;
                    Dir::Both
                }
                _ if d.as_deref() == Some("src") => Dir::Src,
                _ => Dir::Dst,
            });
        }
        let mut kind = None;
        if let Some(t) = self.peek() {
            let k = t.text.to_ascii_lowercase();
            kind = match k.as_str() {
                "host" => Some(Kind::Host),
                "net" => Some(Kind::Net),
                "port" => Some(Kind::Port),
                "portrange" => Some(Kind::Portrange),
                "gateway" => return Err(self.err_at(Some(t), unsupported(t.text))),
                _ => None,
            };
            if kind.is_some() {
                self.at += 1;
            }
        }
        if proto.is_none() && dir.is_none() && kind.is_none() {
            // A bare ID (`port 80 or 443`) or a word socklab does not know.
            self.at += 1;
            if names::UNSUPPORTED.contains(&w) {
                return Err(self.err_at(Some(first), unsupported(first.text)));
            }
            let known_id = looks_like_id(first.text);
            return match self.last {
                Some(q) if !KEYWORDS.contains(&w) => self.id(q, first),
                None if known_id => self.id(
                    Quals {
                        proto: None,
                        dir: Dir::Any,
                        kind: None,
                    },
                    first,
                ),
                _ => Err(self.err_at(Some(first), unknown(first.text))),
            };
        }
        let q = Quals {
            proto,
            dir: dir.unwrap_or(Dir::Any),
            kind,
        };
        let what = match kind {
            Some(Kind::Net) => "net",
            Some(Kind::Port) => "port",
            Some(Kind::Portrange) => "portrange",
            _ => "host",
        };
        let v = self.value_tok(what)?;
        self.last = Some(q);
        self.id(q, v)
    }

    fn id(&mut self, q: Quals, tok: Token<'a>) -> R<Expr> {
        match q.kind.unwrap_or(Kind::Host) {
            Kind::Host => self.host(q, tok),
            Kind::Net => self.net(q, tok),
            Kind::Port | Kind::Portrange => self.port(q, tok),
        }
    }

    fn check_ip_proto(&self, q: Quals, tok: Token<'_>, v6: bool, what: &str) -> R<()> {
        let ok = match q.proto {
            None => true,
            Some(Proto::Ip | Proto::Arp | Proto::Rarp) => !v6,
            Some(Proto::Ip6) => v6,
            Some(_) => false,
        };
        if ok {
            return Ok(());
        }
        let p = q.proto.map_or("", |p| p.name());
        Err(self.err_at(
            Some(tok),
            if matches!(
                q.proto,
                Some(Proto::Ip | Proto::Ip6 | Proto::Arp | Proto::Rarp)
            ) {
                format!(
                    "'{p} {what}' does not fit an IPv{} address",
                    if v6 { 6 } else { 4 }
                )
            } else {
                format!("'{p} {what}' is not valid: write '{p} and {what} ...'")
            },
        ))
    }

    fn host(&mut self, q: Quals, tok: Token<'a>) -> R<Expr> {
        if q.proto == Some(Proto::Ether) {
            let mac = parse_mac(tok.text).ok_or_else(|| {
                self.err_at(
                    Some(tok),
                    format!(
                        "'{}' is not an Ethernet address (like 00:11:22:33:44:55)",
                        tok.text
                    ),
                )
            })?;
            return Ok(self.prim(PrimKind::EtherHost(q.dir, mac)));
        }
        let addr = match tok.text {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            s => match s.parse::<IpAddr>() {
                Ok(a) => a,
                Err(_) if parse_mac(s).is_some() => {
                    return Err(self.err_at(
                        Some(tok),
                        format!("'{s}' is an Ethernet address: write 'ether host {s}'"),
                    ))
                }
                Err(_) => {
                    return Err(self.err_at(
                        Some(tok),
                        format!(
                            "'{s}' is not an IPv4 or IPv6 address (socklab does not look up host names)"
                        ),
                    ))
                }
            },
        };
        self.check_ip_proto(q, tok, addr.is_ipv6(), "host")?;
        Ok(self.prim(PrimKind::Host(q.proto, q.dir, addr)))
    }

    fn net(&mut self, q: Quals, tok: Token<'a>) -> R<Expr> {
        let bad = |p: &Self, t: Token<'_>| {
            p.err_at(
                Some(t),
                format!(
                    "'{}' is not a network (like 10.0.0.0/8, 10.1, fd00::/8)",
                    t.text
                ),
            )
        };
        let (addr, given_bytes) = match tok.text.parse::<IpAddr>() {
            Ok(a) => (a, 4),
            Err(_) => match abbreviated_v4(tok.text) {
                Some((a, n)) => (IpAddr::V4(a), n),
                None => return Err(bad(self, tok)),
            },
        };
        let v6 = addr.is_ipv6();
        self.check_ip_proto(q, tok, v6, "net")?;
        let mask: IpAddr = if self.peek().is_some_and(|t| t.text == "/") {
            self.at += 1;
            let lt = self.peek();
            let max = if v6 { 128 } else { 32 };
            match lt.and_then(|t| number(t.text)).filter(|n| *n <= max) {
                Some(n) => {
                    self.at += 1;
                    if v6 {
                        IpAddr::V6(v6_mask(n))
                    } else {
                        IpAddr::V4(Ipv4Addr::from(v4_mask(n)))
                    }
                }
                None => {
                    return Err(
                        self.err_at(lt, format!("expected a prefix length 0..{max} after '/'"))
                    )
                }
            }
        } else if self.is(&["mask"]) {
            self.at += 1;
            let mt = self.value_tok("mask")?;
            match mt.text.parse::<IpAddr>() {
                Ok(m @ IpAddr::V4(_)) if !v6 => m,
                _ => {
                    return Err(self.err_at(
                        Some(mt),
                        format!(
                            "'{}' is not an IPv4 mask (mask works with IPv4 only)",
                            mt.text
                        ),
                    ))
                }
            }
        } else if v6 {
            IpAddr::V6(v6_mask(128))
        } else {
            IpAddr::V4(Ipv4Addr::from(v4_mask(8 * given_bytes)))
        };
        let masked = match (addr, mask) {
            (IpAddr::V4(a), IpAddr::V4(m)) => {
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(m)))
            }
            (IpAddr::V6(a), IpAddr::V6(m)) => {
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::from(m)))
            }
            _ => return Err(bad(self, tok)),
        };
        if masked != addr {
            return Err(self.err_at(
                Some(tok),
                format!("non-network bits set in '{}' for that mask", tok.text),
            ));
        }
        Ok(self.prim(PrimKind::Net(q.proto, q.dir, addr, mask)))
    }

    fn port_value(&self, q: Quals, tok: Token<'_>, s: &str) -> Option<(Option<Proto>, u16)> {
        if let Some(n) = number(s) {
            return u16::try_from(n).ok().map(|n| (q.proto, n));
        }
        let svc = names::service(s)?;
        match q.proto {
            Some(Proto::Tcp) => svc.tcp.map(|p| (q.proto, p)),
            Some(Proto::Udp) => svc.udp.map(|p| (q.proto, p)),
            Some(_) => None,
            None => {
                let _ = tok;
                match (svc.tcp, svc.udp) {
                    (Some(t), Some(u)) if t == u => Some((None, t)),
                    (Some(t), _) => Some((Some(Proto::Tcp), t)),
                    (None, Some(u)) => Some((Some(Proto::Udp), u)),
                    (None, None) => None,
                }
            }
        }
    }

    fn port(&mut self, q: Quals, tok: Token<'a>) -> R<Expr> {
        if !matches!(q.proto, None | Some(Proto::Tcp | Proto::Udp | Proto::Sctp)) {
            let p = q.proto.map_or("", |p| p.name());
            return Err(self.err_at(
                Some(tok),
                format!("'{p} port' is not valid: ports belong to tcp, udp or sctp (write '{p} and port N')"),
            ));
        }
        if q.kind == Some(Kind::Portrange) {
            let s = tok.text;
            let mut found = None;
            for (i, _) in s.match_indices('-') {
                let (a, b) = (&s[..i], &s[i + 1..]);
                if let (Some(x), Some(y)) = (self.port_value(q, tok, a), self.port_value(q, tok, b))
                {
                    if x.0 == y.0 {
                        found = Some((x.0, x.1.min(y.1), x.1.max(y.1)));
                        break;
                    }
                }
            }
            let Some((proto, lo, hi)) = found else {
                return Err(self.err_at(
                    Some(tok),
                    format!("'{s}' is not a port range (like 1-1024)"),
                ));
            };
            return Ok(self.prim(PrimKind::Port(proto, q.dir, lo, hi)));
        }
        match self.port_value(q, tok, &tok.text.to_ascii_lowercase()) {
            Some((proto, n)) => Ok(self.prim(PrimKind::Port(proto, q.dir, n, n))),
            None if number(tok.text).is_some() => Err(self.err_at(
                Some(tok),
                format!("'{}' is not a port number (0..65535)", tok.text),
            )),
            None => Err(self.err_at(
                Some(tok),
                format!(
                    "unknown word '{}': not a port number (0..65535) or a service name in /etc/services",
                    tok.text
                ),
            )),
        }
    }
}

/// Of two errors from two ways of reading the same tokens, the one that got
/// further is the more useful.
fn further(a: FilterError, b: FilterError) -> FilterError {
    if a.pos > b.pos {
        a
    } else {
        b
    }
}
