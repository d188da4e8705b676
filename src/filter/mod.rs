//! Packet filters: tcpdump's expression language, shared by `sniff`,
//! `replay`, `--sniff`, `trace` and `lab`.
//!
//! One concept per file: [`lexer`] splits the words, [`parser`] builds the
//! [`ast`], [`lower`] lays it onto a link type's byte offsets exactly as
//! libpcap does, [`eval`] runs that in user space (the reference, used for
//! replay and wherever the kernel cannot filter), and [`bpf`] compiles the
//! same lowered form to classic BPF for `SO_ATTACH_FILTER` and prints it as
//! `tcpdump -d` / `-dd` / `-ddd` do.
//!
//! Words given as several command-line arguments are joined with spaces
//! first, so `socklab sniff tcp and port 80` and `socklab sniff 'tcp and
//! port 80'` mean the same. Parsing never panics; an error carries the
//! position of the bad token so it can be shown under the expression.
//! Evaluation is pure and allocation-free.

pub mod ast;
pub mod bpf;
pub mod eval;
pub mod lexer;
pub mod lower;
pub mod names;
pub mod parser;

use std::fmt;

use crate::wire::packet::{Decoded, LinkType};

use self::lower::Cond;

/// The link types a filter is laid onto, in [`link_index`] order.
const LINKS: [LinkType; 5] = [
    LinkType::Ethernet,
    LinkType::RawIp,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
];

fn link_index(lt: LinkType) -> usize {
    match lt {
        LinkType::Ethernet => 0,
        LinkType::RawIp => 1,
        LinkType::LinuxSll => 2,
        LinkType::LinuxSll2 => 3,
        LinkType::Null => 4,
    }
}

/// What `tcpdump -d` returns for an accepted packet (its default snap length).
pub const TCPDUMP_SNAP: u32 = 262_144;

/// A parsed filter, laid onto every link type socklab reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: String,
    expr: Option<ast::Expr>,
    /// Per link type: the lowered condition, or why the filter does not
    /// apply there.
    lowered: Vec<Result<Cond, String>>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter::all()
    }
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

impl Filter {
    /// The filter that passes everything (no expression).
    pub fn all() -> Filter {
        Filter {
            text: String::new(),
            expr: None,
            lowered: LINKS.iter().map(|_| Ok(Cond::True)).collect(),
        }
    }

    /// Parse an expression; empty (or only spaces) means "everything".
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let Some(e) = parser::parse(expr)? else {
            return Ok(Filter::all());
        };
        let lowered = LINKS
            .iter()
            .map(|lt| lower::lower(&e, *lt).map_err(|e| e.0))
            .collect();
        Ok(Filter {
            text: expr.to_string(),
            expr: Some(e),
            lowered,
        })
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

    /// True when there is no expression (everything passes).
    pub fn is_all(&self) -> bool {
        self.expr.is_none()
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed expression (`None` for "everything").
    pub fn expr(&self) -> Option<&ast::Expr> {
        self.expr.as_ref()
    }

    /// The filter laid onto `link`, or why it cannot be (e.g. `ether host`
    /// on a cooked capture), worded as tcpdump words it.
    pub fn lowered(&self, link: LinkType) -> Result<&Cond, FilterError> {
        match &self.lowered[link_index(link)] {
            Ok(c) => Ok(c),
            Err(msg) => Err(FilterError {
                expr: self.text.clone(),
                pos: 0,
                len: self.text.chars().count(),
                msg: format!("{msg} (link type {})", link.name()),
            }),
        }
    }

    /// Check that the filter applies to captures of `link`.
    pub fn check_link(&self, link: LinkType) -> Result<(), FilterError> {
        self.lowered(link).map(|_| ())
    }

    /// Compile to classic BPF for `link`; accepted packets return `snap`.
    pub fn compile(&self, link: LinkType, snap: u32) -> Result<Vec<bpf::Insn>, CompileError> {
        let c = self.lowered(link).map_err(CompileError::Filter)?;
        bpf::compile(c, snap).map_err(CompileError::Bpf)
    }

    /// What to attach to a live socket of `link`: the whole filter when it
    /// fits classic BPF, else the `and`-ed parts that fit (user space
    /// always checks the whole filter as well, so a part is never wrong).
    pub fn kernel_program(&self, link: LinkType) -> Result<KernelFilter, FilterError> {
        if self.is_all() {
            return Ok(KernelFilter::Everything);
        }
        // A live capture of link type SLL2 (`-i any`) reads a cooked
        // socket, whose filter sees the packet without the SLL2 header.
        let compile = |c: &Cond| match link {
            LinkType::LinuxSll2 => bpf::compile_cooked(c, u32::MAX),
            _ => bpf::compile(c, u32::MAX),
        };
        let c = self.lowered(link)?;
        let err = match compile(c) {
            Ok(p) => return Ok(KernelFilter::Whole(p)),
            Err(e) => e,
        };
        let fits: Vec<&Cond> = conjuncts(c)
            .into_iter()
            .filter(|part| compile(part).is_ok())
            .collect();
        let Some(first) = fits.first() else {
            return Ok(KernelFilter::None(err.to_string()));
        };
        let part = fits[1..].iter().fold((*first).clone(), |acc, p| {
            Cond::And(Box::new(acc), Box::new((*p).clone()))
        });
        Ok(match compile(&part) {
            Ok(p) => KernelFilter::Part(p, err.to_string()),
            Err(_) => KernelFilter::None(err.to_string()),
        })
    }

    /// The program for `link` as `tcpdump -d` (level 1), `-dd` (2) or
    /// `-ddd` (3) prints it.
    pub fn dump(&self, link: LinkType, level: u8) -> Result<String, CompileError> {
        Ok(bpf::dump(&self.compile(link, TCPDUMP_SNAP)?, level))
    }

    /// True when the frame passes (user-space evaluation).
    pub fn matches_frame(&self, link: LinkType, frame: &[u8], orig_len: usize) -> bool {
        match &self.lowered[link_index(link)] {
            Ok(c) => eval::matches(c, frame, u32::try_from(orig_len).unwrap_or(u32::MAX)),
            Err(_) => false,
        }
    }

    /// True when the decoded packet matches.
    pub fn matches(&self, d: &Decoded<'_>) -> bool {
        self.matches_frame(d.link_type, d.frame, d.orig_len)
    }
}

/// What the kernel can filter of an expression on a live socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelFilter {
    /// No expression: nothing to attach.
    Everything,
    /// The whole expression runs in the kernel.
    Whole(Vec<bpf::Insn>),
    /// Only some `and`-ed parts fit classic BPF: those run in the kernel,
    /// the rest in user space (why, for `-v`).
    Part(Vec<bpf::Insn>, String),
    /// Nothing fits: user space filters everything (why, for `-v`).
    None(String),
}

impl KernelFilter {
    /// The program to attach, if any.
    pub fn program(&self) -> Option<&[bpf::Insn]> {
        match self {
            KernelFilter::Whole(p) | KernelFilter::Part(p, _) => Some(p),
            _ => None,
        }
    }

    /// One line for `-v`.
    pub fn describe(&self) -> String {
        match self {
            KernelFilter::Everything => "socklab: no filter: every packet is read".into(),
            KernelFilter::Whole(p) => format!(
                "socklab: filter compiled to {} BPF instructions and attached to the socket: the kernel drops what does not match (see it with -d)",
                p.len()
            ),
            KernelFilter::Part(p, why) => format!(
                "socklab: part of the filter runs in the kernel ({} BPF instructions); the rest is checked in user space: {why}",
                p.len()
            ),
            KernelFilter::None(why) => {
                format!("socklab: the filter is checked in user space only: {why}")
            }
        }
    }
}

/// The `and`-ed parts of a condition, in order.
fn conjuncts(c: &Cond) -> Vec<&Cond> {
    match c {
        Cond::And(a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

/// Why a filter does not compile to BPF for a link type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The filter does not apply to this link type at all.
    Filter(FilterError),
    /// Classic BPF cannot express it; filter in user space.
    Bpf(bpf::BpfError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Filter(e) => e.fmt(f),
            CompileError::Bpf(e) => write!(f, "the filter does not fit classic BPF: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

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
        assert!(m("ip host 127.0.0.1", &t) && !m("ip6 host ::1", &t));
        // `tcp port 80` is one primitive (TCP's port), as in libpcap.
        assert!(m("tcp port 80 or 443", &t) && !m("udp port 80 or 443", &t));
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
        // tcpdump: `and` and `or` have equal precedence, left to right.
        assert!(m("udp or tcp and port 80", &t));
        assert!(!m("tcp or udp and port 81", &t));
        assert!(m("port 81 and udp or tcp", &t));
        assert!(!m("(udp or tcp) and port 81", &t));
        assert!(m("not udp", &t) && m("! udp", &t) && m("!udp", &t));
        assert!(!m("not (tcp && port 80)", &t));
        assert!(m("tcp || udp", &t));
        assert!(m("TCP AND PORT 80", &t));
        let f = Filter::parse("udp or tcp and port 80").expect("parses");
        assert!(matches!(f.expr(), Some(ast::Expr::And(_, _))));
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
    fn tcpdump_words_parse() {
        for e in [
            "ip proto 17",
            "ip6 proto udp",
            "proto \\udp",
            "net 10.0.0.0/8",
            "src net 10.1 and dst net 192.168.0.0 mask 255.255.0.0",
            "portrange 1-1024",
            "less 64 or greater 1500 or len = 100",
            "port http or domain",
            "ether host 00:11:22:33:44:55",
            "ether src 0011.2233.4455",
            "vlan 10 and vlan and tcp",
            "arp or rarp or icmp6",
            "broadcast or multicast or ip multicast",
            "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
            "icmp[icmptype] == icmp-echo",
            "ip[2:2] - ((ip[0]&0xf)<<2) > 0",
            "(tcp[0] + 1) * 2 >= 3",
            "udp[8:4] = 0x0a000000",
            "ether[0] & 1 != 0 and ip6[6] = 58",
        ] {
            Filter::parse(e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
        }
    }

    #[test]
    fn unknown_and_unsupported_words_say_so_with_a_caret() {
        for (expr, pos, want) in [
            ("ip protochain 6", 3, "not supported"),
            ("gateway foo", 0, "not supported"),
            ("tcp and mpls", 8, "not supported"),
            ("ppp[0] = 1", 0, "not supported"),
            ("tcp and foo", 8, "unknown word 'foo'"),
            ("tcp foo", 4, "unknown word 'foo'"),
            ("port nosuchservice", 5, "unknown word 'nosuchservice'"),
            ("tcp[flagz] = 2", 4, "unknown word 'flagz'"),
            ("ip proto bogus", 9, "unknown word 'bogus'"),
        ] {
            let e = err(expr);
            assert!(e.msg.contains(want), "{expr:?}: {}", e.msg);
            assert!(!e.msg.contains("expected 'and'"), "{expr:?}: {}", e.msg);
            assert_eq!(e.pos, pos, "{expr:?}: {e}");
            assert!(e
                .to_string()
                .lines()
                .nth(2)
                .is_some_and(|l| l.contains('^')));
        }
        let e = err("ip[0:3] = 1");
        assert!(e.msg.contains("data size must be 1, 2, or 4"), "{}", e.msg);
        let e = err("tcp[0] / 0 = 1");
        assert!(e.msg.contains("division by zero"), "{}", e.msg);
        let e = err("net 10.1.2.3/8");
        assert!(e.msg.contains("non-network bits"), "{}", e.msg);
    }

    #[test]
    fn link_types_refuse_what_they_cannot_carry() {
        let f = Filter::parse("ether host 00:11:22:33:44:55").expect("parses");
        assert!(f.check_link(LinkType::Ethernet).is_ok());
        let e = f
            .check_link(LinkType::LinuxSll)
            .expect_err("no MACs in SLL");
        assert!(e.msg.contains("only on Ethernet"), "{}", e.msg);
        assert!(Filter::parse("vlan")
            .expect("parses")
            .check_link(LinkType::RawIp)
            .is_err());
        assert!(Filter::parse("inbound")
            .expect("parses")
            .check_link(LinkType::LinuxSll2)
            .is_ok());
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
