//! Compiles a lowered filter ([`Cond`]) to a classic BPF program, the kind
//! `SO_ATTACH_FILTER` takes and `tcpdump -d` shows.
//!
//! The program is built from its end backwards, so every jump target is
//! already placed when the jump is written; jumps further than 255
//! instructions go through `ja`. Values are computed in A, with the
//! scratch memory M[0..16] holding left operands; an expression that needs
//! more than 16 slots, or a program longer than 4096 instructions, does not
//! compile ([`BpfError`]) and the caller filters in user space instead.

use std::fmt;

use super::ast::Op;
use super::lower::{Base, Cond, Jmp, Val};

/// One classic BPF instruction, laid out as `struct sock_filter` so a
/// program can be handed to the kernel as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset when true.
    pub jt: u8,
    /// Jump offset when false.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// Opcode parts (linux/filter.h).
#[allow(missing_docs)]
pub mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
}

use op::*;

/// Longest program the kernel takes (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;
/// Scratch memory slots.
const MEMWORDS: usize = 16;

/// Why a filter does not compile to classic BPF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BpfError {
    /// More than 16 values held at once.
    TooDeep,
    /// More than [`MAX_INSNS`] instructions.
    TooLong(usize),
    /// A load from the cooked header that a cooked socket's filter cannot
    /// see (it sees the packet from the network header on; of the header
    /// only the protocol, interface, hardware type and packet type exist,
    /// as ancillary data): the byte offset in the SLL2 header.
    CookedHeader(u32),
}

impl fmt::Display for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BpfError::TooDeep => write!(f, "arithmetic nested deeper than BPF's 16 scratch slots"),
            BpfError::TooLong(n) => {
                write!(f, "{n} instructions, more than the kernel's {MAX_INSNS}")
            }
            BpfError::CookedHeader(k) => write!(
                f,
                "it reads byte {k} of the cooked (SLL2) header, which libpcap builds in user \
                 space: the kernel shows a cooked socket's filter only the protocol, interface, \
                 hardware type and packet type"
            ),
        }
    }
}

impl std::error::Error for BpfError {}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// The program, built backwards: `rev[i]` is the i-th instruction from the end.
struct Gen {
    rev: Vec<Insn>,
}

impl Gen {
    /// Final-order distance from a new instruction to the one at `target`.
    fn dist(&self, target: usize) -> usize {
        self.rev.len() - target - 1
    }

    fn push(&mut self, i: Insn) -> Result<usize, BpfError> {
        if self.rev.len() >= MAX_INSNS {
            return Err(BpfError::TooLong(self.rev.len() + 1));
        }
        self.rev.push(i);
        Ok(self.rev.len() - 1)
    }

    /// A conditional jump to `t` / `f`, through `ja` when too far.
    fn jump(&mut self, code: u16, k: u32, t: usize, f: usize) -> Result<usize, BpfError> {
        let (dt, df) = (self.dist(t), self.dist(f));
        if dt <= 255 && df <= 255 {
            return self.push(Insn {
                code,
                jt: dt as u8,
                jf: df as u8,
                k,
            });
        }
        let tf = self.ja(f)?;
        let tt = self.ja(t)?;
        let (dt, df) = (self.dist(tt), self.dist(tf));
        self.push(Insn {
            code,
            jt: dt as u8,
            jf: df as u8,
            k,
        })
    }

    fn ja(&mut self, target: usize) -> Result<usize, BpfError> {
        let d = self.dist(target) as u32;
        self.push(stmt(JMP | JA, d))
    }

    /// Straight-line code in final order, pushed before what is there.
    fn prepend(&mut self, code: Vec<Insn>) -> Result<(), BpfError> {
        for i in code.into_iter().rev() {
            self.push(i)?;
        }
        Ok(())
    }

    /// Code that goes to `t` when `c` holds, else to `f`; returns its entry.
    fn cond(&mut self, c: &Cond, t: usize, f: usize) -> Result<usize, BpfError> {
        match c {
            Cond::True => Ok(t),
            Cond::False => Ok(f),
            Cond::Not(x) => self.cond(x, f, t),
            Cond::And(a, b) => {
                let eb = self.cond(b, t, f)?;
                self.cond(a, eb, f)
            }
            Cond::Or(a, b) => {
                let eb = self.cond(b, t, f)?;
                self.cond(a, t, eb)
            }
            Cond::Cmp(a, j, b) => {
                let jc = JMP
                    | match j {
                        Jmp::Eq => JEQ,
                        Jmp::Gt => JGT,
                        Jmp::Ge => JGE,
                        Jmp::Set => JSET,
                    };
                let mut code = Vec::new();
                let entry = match b {
                    Val::K(k) => {
                        value(a, &mut code, 0)?;
                        let at = self.jump(jc | K, *k, t, f)?;
                        (at, code)
                    }
                    _ => {
                        value(b, &mut code, 0)?;
                        code.push(stmt(ST, 0));
                        value(a, &mut code, 1)?;
                        code.push(stmt(LDX | MEM, 0));
                        let at = self.jump(jc | X, 0, t, f)?;
                        (at, code)
                    }
                };
                let (at, code) = entry;
                if code.is_empty() {
                    return Ok(at);
                }
                self.prepend(code)?;
                Ok(self.rev.len() - 1)
            }
        }
    }
}

fn size_code(size: u8) -> u16 {
    match size {
        1 => B,
        2 => H,
        _ => W,
    }
}

fn alu_code(op: Op) -> u16 {
    match op {
        Op::Add => ADD,
        Op::Sub => SUB,
        Op::Mul => MUL,
        Op::Div => DIV,
        Op::Mod => MOD,
        Op::And => AND,
        Op::Or => OR,
        Op::Xor => XOR,
        Op::Lsh => LSH,
        Op::Rsh => RSH,
    }
}

/// Code (final order) that leaves `v` in A; `depth` is the first free slot.
fn value(v: &Val, out: &mut Vec<Insn>, depth: usize) -> Result<(), BpfError> {
    match v {
        Val::K(k) => out.push(stmt(LD | IMM, *k)),
        Val::Len => out.push(stmt(LD | W | LEN, 0)),
        Val::Load { base, off, k, size } => {
            let sz = size_code(*size);
            match (base, off) {
                (Base::Frame, None) => out.push(stmt(LD | sz | ABS, *k)),
                (Base::Frame, Some(o)) => {
                    value(o, out, depth)?;
                    out.push(stmt(MISC | TAX, 0));
                    out.push(stmt(LD | sz | IND, *k));
                }
                (Base::Ipv4HeaderLen(at), None) => {
                    out.push(stmt(LDX | B | MSH, *at));
                    out.push(stmt(LD | sz | IND, *k));
                }
                (Base::Ipv4HeaderLen(at), Some(o)) => {
                    value(o, out, depth)?;
                    out.push(stmt(LDX | B | MSH, *at));
                    out.push(stmt(ALU | ADD | X, 0));
                    out.push(stmt(MISC | TAX, 0));
                    out.push(stmt(LD | sz | IND, *k));
                }
            }
        }
        Val::Neg(a) => {
            value(a, out, depth)?;
            out.push(stmt(ALU | NEG, 0));
        }
        Val::Bin(op, a, b) => match &**b {
            Val::K(k) => {
                value(a, out, depth)?;
                out.push(stmt(ALU | alu_code(*op) | K, *k));
            }
            _ => {
                if depth >= MEMWORDS {
                    return Err(BpfError::TooDeep);
                }
                value(b, out, depth)?;
                out.push(stmt(ST, depth as u32));
                value(a, out, depth + 1)?;
                out.push(stmt(LDX | MEM, depth as u32));
                out.push(stmt(ALU | alu_code(*op) | X, 0));
            }
        },
    }
    Ok(())
}

/// Compile `c` to a program returning `snap` for an accepted packet.
pub fn compile(c: &Cond, snap: u32) -> Result<Vec<Insn>, BpfError> {
    let mut g = Gen { rev: Vec::new() };
    let reject = g.push(stmt(RET | K, 0))?;
    let accept = g.push(stmt(RET | K, snap))?;
    let entry = g.cond(c, accept, reject)?;
    let prog: Vec<Insn> = if entry == reject {
        vec![stmt(RET | K, 0)]
    } else if entry == accept && g.rev.len() == 2 {
        vec![stmt(RET | K, snap)]
    } else {
        debug_assert_eq!(entry, g.rev.len() - 1);
        drop_reloads(g.rev.into_iter().rev().collect())
    };
    Ok(prog)
}

/// `SKF_AD_OFF` and the ancillary loads a cooked socket's filter uses
/// for the SLL2 header's fields (`<linux/filter.h>`).
mod skf {
    pub const AD_OFF: u32 = 0u32.wrapping_sub(0x1000);
    pub const PROTOCOL: u32 = AD_OFF;
    pub const PKTTYPE: u32 = AD_OFF + 4;
    pub const IFINDEX: u32 = AD_OFF + 8;
    pub const HATYPE: u32 = AD_OFF + 28;
}

/// Compile `c`, laid onto the SLL2 link type, for a cooked (`SOCK_DGRAM`)
/// packet socket, which is what `-i any` opens: the kernel runs the filter
/// on the packet from its network header on, without the 20-byte SLL2
/// header libpcap (and socklab) build in user space. As libpcap's
/// `fix_program` does, loads past the header move 20 bytes back and loads
/// of the header's protocol, interface index, hardware type and packet
/// type become ancillary loads; the length the filter sees is 20 bytes
/// shorter, so `len` gets 20 added. Any other load of the header does not
/// compile ([`BpfError::CookedHeader`]).
pub fn compile_cooked(c: &Cond, snap: u32) -> Result<Vec<Insn>, BpfError> {
    const HDR: u32 = crate::wire::sll2::LEN as u32;
    let prog = compile(&cond_len_plus(c, HDR), snap)?;
    prog.into_iter()
        .map(|mut i| {
            let class = i.code & 0x07;
            let mode = i.code & 0xe0;
            let loads = matches!(class, LD | LDX) && matches!(mode, ABS | IND | MSH);
            if !loads || (class == LDX && mode != MSH) {
                return Ok(i);
            }
            if i.k >= HDR {
                i.k -= HDR;
                return Ok(i);
            }
            let size = i.code & 0x18;
            i.k = match (class, mode, i.k, size) {
                (LD, ABS, 0, H) => skf::PROTOCOL,
                (LD, ABS, 4, W) => skf::IFINDEX,
                (LD, ABS, 8, H) => skf::HATYPE,
                (LD, ABS, 10, B) => skf::PKTTYPE,
                (_, _, k, _) => return Err(BpfError::CookedHeader(k)),
            };
            Ok(i)
        })
        .collect()
}

/// `c` with every `len` read as `len + n`.
fn cond_len_plus(c: &Cond, n: u32) -> Cond {
    let b = |x: &Cond| Box::new(cond_len_plus(x, n));
    match c {
        Cond::True => Cond::True,
        Cond::False => Cond::False,
        Cond::Not(x) => Cond::Not(b(x)),
        Cond::And(x, y) => Cond::And(b(x), b(y)),
        Cond::Or(x, y) => Cond::Or(b(x), b(y)),
        Cond::Cmp(x, j, y) => Cond::Cmp(val_len_plus(x, n), *j, val_len_plus(y, n)),
    }
}

fn val_len_plus(v: &Val, n: u32) -> Val {
    let b = |x: &Val| Box::new(val_len_plus(x, n));
    match v {
        Val::Len => Val::Bin(Op::Add, Box::new(Val::Len), Box::new(Val::K(n))),
        Val::K(k) => Val::K(*k),
        Val::Load { base, off, k, size } => Val::Load {
            base: *base,
            off: off.as_ref().map(|o| b(o)),
            k: *k,
            size: *size,
        },
        Val::Bin(op, x, y) => Val::Bin(*op, b(x), b(y)),
        Val::Neg(x) => Val::Neg(b(x)),
    }
}

/// The program that accepts every packet whole.
pub fn accept_all() -> Insn {
    stmt(RET | K, u32::MAX)
}

/// `prog` behind a check that rejects what interface `ifindex` sends
/// (for `-i any`: each loopback packet is then seen once, as it comes in,
/// as libpcap shows it; other interfaces keep both directions). For a
/// cooked socket: it reads the packet type and interface as ancillary data.
pub fn drop_outgoing_on(ifindex: u32, prog: &[Insn]) -> Vec<Insn> {
    let mut out = vec![
        stmt(LD | B | ABS, skf::PKTTYPE),
        Insn {
            code: JMP | JEQ | K,
            jt: 0,
            jf: 3,
            k: u32::from(crate::wire::sll2::pkttype::OUTGOING),
        },
        stmt(LD | W | ABS, skf::IFINDEX),
        Insn {
            code: JMP | JEQ | K,
            jt: 0,
            jf: 1,
            k: ifindex,
        },
        stmt(RET | K, 0),
    ];
    out.extend_from_slice(prog);
    out
}

/// What a register is known to hold at an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// Nothing known.
    Unknown,
    /// Not reached yet (the meet's identity).
    Unreached,
    /// The result of this load (`ld*` absolute, `#pktlen`, `#k`, `ldxb 4*([k]&0xf)`).
    Load(u16, u32),
}

fn meet(a: Known, b: Known) -> Known {
    match (a, b) {
        (Known::Unreached, x) | (x, Known::Unreached) => x,
        (x, y) if x == y => x,
        _ => Known::Unknown,
    }
}

/// Absolute targets of an instruction at `pc` (none for `ret`).
fn successors(i: &Insn, pc: usize) -> Vec<usize> {
    match i.code & 0x07 {
        RET => vec![],
        JMP if i.code & 0xf0 == JA => vec![pc + 1 + i.k as usize],
        JMP => vec![pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf)],
        _ => vec![pc + 1],
    }
}

/// Drops loads whose value is already in the register on every path that
/// reaches them (libpcap's optimiser does the same), so the program reads
/// like `tcpdump -d`'s and does less work. Jumps only go forward, so one
/// pass in order sees every predecessor first.
fn drop_reloads(prog: Vec<Insn>) -> Vec<Insn> {
    let n = prog.len();
    let mut a_in = vec![Known::Unreached; n + 1];
    let mut x_in = vec![Known::Unreached; n + 1];
    a_in[0] = Known::Unknown;
    x_in[0] = Known::Unknown;
    let mut keep = vec![true; n];
    for (pc, i) in prog.iter().enumerate() {
        let (mut a, mut x) = (a_in[pc], x_in[pc]);
        let class = i.code & 0x07;
        let mode = i.code & 0xe0;
        match class {
            LD if matches!(mode, ABS | LEN | IMM) => {
                let v = Known::Load(i.code, i.k);
                keep[pc] = a != v;
                a = v;
            }
            LD => a = Known::Unknown,
            LDX if mode == MSH => {
                let v = Known::Load(i.code, i.k);
                keep[pc] = x != v;
                x = v;
            }
            LDX => x = Known::Unknown,
            ALU => a = Known::Unknown,
            MISC if i.code & 0xf8 == TXA => a = Known::Unknown,
            MISC => x = Known::Unknown,
            _ => {}
        }
        for s in successors(i, pc) {
            if s <= n {
                a_in[s] = meet(a_in[s], a);
                x_in[s] = meet(x_in[s], x);
            }
        }
    }
    // New index of each old one; a dropped instruction maps to the next kept.
    let mut new_at = vec![0usize; n + 1];
    let mut next = keep.iter().filter(|k| **k).count();
    new_at[n] = next;
    for pc in (0..n).rev() {
        if keep[pc] {
            next -= 1;
        }
        new_at[pc] = next;
    }
    let mut out = Vec::with_capacity(n);
    for (pc, i) in prog.iter().enumerate() {
        if !keep[pc] {
            continue;
        }
        let me = new_at[pc];
        let mut j = *i;
        if i.code & 0x07 == JMP {
            if i.code & 0xf0 == JA {
                j.k = (new_at[pc + 1 + i.k as usize] - me - 1) as u32;
            } else {
                j.jt = (new_at[pc + 1 + usize::from(i.jt)] - me - 1) as u8;
                j.jf = (new_at[pc + 1 + usize::from(i.jf)] - me - 1) as u8;
            }
        }
        out.push(j);
    }
    out
}

/// One instruction in tcpdump's `-d` notation (libpcap's `bpf_image`).
pub fn image(i: &Insn, pc: usize) -> String {
    let class = i.code & 0x07;
    let jump = |name: &str, operand: String| {
        format!(
            "({pc:03}) {name:<8} {operand:<16} jt {}\tjf {}",
            pc + 1 + usize::from(i.jt),
            pc + 1 + usize::from(i.jf)
        )
    };
    let plain = |name: &str, operand: String| format!("({pc:03}) {name:<8} {operand}");
    let size = |code: u16| match code & 0x18 {
        H => "ldh",
        B => "ldb",
        _ => "ld",
    };
    match class {
        LD => match i.code & 0xe0 {
            ABS => plain(size(i.code), format!("[{}]", i.k)),
            IND => plain(size(i.code), format!("[x + {}]", i.k)),
            LEN => plain("ld", "#pktlen".into()),
            MEM => plain("ld", format!("M[{}]", i.k)),
            _ => plain("ld", format!("#0x{:x}", i.k)),
        },
        LDX => match i.code & 0xe0 {
            MSH => plain("ldxb", format!("4*([{}]&0xf)", i.k)),
            MEM => plain("ldx", format!("M[{}]", i.k)),
            LEN => plain("ldx", "#pktlen".into()),
            _ => plain("ldx", format!("#0x{:x}", i.k)),
        },
        ST => plain("st", format!("M[{}]", i.k)),
        STX => plain("stx", format!("M[{}]", i.k)),
        ALU => {
            let (name, hex) = match i.code & 0xf0 {
                ADD => ("add", false),
                SUB => ("sub", false),
                MUL => ("mul", false),
                DIV => ("div", false),
                MOD => ("mod", false),
                AND => ("and", true),
                OR => ("or", true),
                XOR => ("xor", true),
                LSH => ("lsh", false),
                RSH => ("rsh", false),
                NEG => return plain("neg", String::new()),
                _ => ("unimp", false),
            };
            let operand = if i.code & X != 0 {
                "x".to_string()
            } else if hex {
                format!("#0x{:x}", i.k)
            } else {
                format!("#{}", i.k)
            };
            plain(name, operand)
        }
        JMP => {
            let name = match i.code & 0xf0 {
                JA => return plain("ja", format!("{}", pc + 1 + i.k as usize)),
                JEQ => "jeq",
                JGT => "jgt",
                JGE => "jge",
                JSET => "jset",
                _ => "unimp",
            };
            let operand = if i.code & X != 0 {
                "x".to_string()
            } else {
                format!("#0x{:x}", i.k)
            };
            jump(name, operand)
        }
        RET => {
            if i.code & 0x18 == A {
                plain("ret", String::new())
            } else {
                plain("ret", format!("#{}", i.k))
            }
        }
        _ => {
            if i.code & 0xf8 == TXA {
                plain("txa", String::new())
            } else {
                plain("tax", String::new())
            }
        }
    }
}

/// The program as `tcpdump -d` (level 1), `-dd` (2, a C array) or `-ddd`
/// (3, decimal) prints it.
pub fn dump(prog: &[Insn], level: u8) -> String {
    let mut s = String::new();
    match level {
        0 | 1 => {
            for (pc, i) in prog.iter().enumerate() {
                s.push_str(&image(i, pc));
                s.push('\n');
            }
        }
        2 => {
            for i in prog {
                s.push_str(&format!(
                    "{{ 0x{:x}, {}, {}, 0x{:08x} }},\n",
                    i.code, i.jt, i.jf, i.k
                ));
            }
        }
        _ => {
            s.push_str(&format!("{}\n", prog.len()));
            for i in prog {
                s.push_str(&format!("{} {} {} {}\n", i.code, i.jt, i.jf, i.k));
            }
        }
    }
    s
}
