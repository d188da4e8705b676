//! The seccomp filter that makes only the socket calls stop the traced
//! program (`SECCOMP_RET_TRACE`), the design behind `strace --seccomp-bpf`:
//! every other system call runs at full speed.
//!
//! [`program`] builds the classic-BPF program (pure, allocates once);
//! [`install`] loads it into the calling process. `install` runs in the
//! forked child between `fork` and `exec`, so it must not allocate.

use super::syscalls::{Sys, When, TABLE};

/// `AUDIT_ARCH_X86_64`: the filter refuses to match on any other ABI.
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// Syscall numbers with this bit set are the x32 ABI: never ours.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `SECCOMP_RET_TRACE`: stop the tracee with `PTRACE_EVENT_SECCOMP`.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;

// Offsets in `struct seccomp_data` (little-endian x86_64).
mod field {
    pub const NR: u32 = 0;
    pub const ARCH: u32 = 4;
    /// Low 32 bits of args[0].
    pub const ARG0: u32 = 16;
    /// Low 32 bits of args[1].
    pub const ARG1: u32 = 24;
}

// Classic BPF opcodes.
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

fn op(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter: on x86_64, stop at the traced calls (with their argument
/// conditions), allow everything else. Jumps only go forward, as the
/// kernel requires; every program path ends in a return.
pub fn program() -> Vec<libc::sock_filter> {
    program_of(|_| true)
}

/// The first filter a program starts with: only the calls that need a
/// socket (making one, or using one by its nature). `read`, `write`,
/// `close`, `dup`, `fcntl`, `ioctl`, `poll`... of a process that has no
/// socket yet cannot be about one, and its start-up (an interpreter
/// reading its modules) should not stop at each of them; the tracer adds
/// the full [`program`] at the process's first stop (see `tracer`).
pub fn first_program() -> Vec<libc::sock_filter> {
    program_of(needs_a_socket)
}

/// True for the calls that only make sense with a socket.
fn needs_a_socket(sys: Sys) -> bool {
    matches!(
        sys,
        Sys::Socket
            | Sys::Socketpair
            | Sys::Bind
            | Sys::Listen
            | Sys::Accept
            | Sys::Accept4
            | Sys::Connect
            | Sys::Getsockname
            | Sys::Getpeername
            | Sys::Setsockopt
            | Sys::Getsockopt
            | Sys::Sendto
            | Sys::Sendmsg
            | Sys::Sendmmsg
            | Sys::Recvfrom
            | Sys::Recvmsg
            | Sys::Recvmmsg
            | Sys::Shutdown
    )
}

fn program_of(keep: impl Fn(Sys) -> bool) -> Vec<libc::sock_filter> {
    let mut p = vec![
        op(LD_W_ABS, field::ARCH, 0, 0),
        op(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        op(RET_K, RET_ALLOW, 0, 0),
        op(LD_W_ABS, field::NR, 0, 0),
        op(JSET_K, X32_SYSCALL_BIT, 0, 1),
        op(RET_K, RET_ALLOW, 0, 0),
    ];
    // One block per call: "if nr != N skip the block; [check args]; trace".
    for (_, nr, when) in TABLE.iter().filter(|(sys, _, _)| keep(*sys)) {
        let body: Vec<libc::sock_filter> = match when {
            When::Always => vec![op(RET_K, RET_TRACE, 0, 0)],
            When::FdAtLeast3 => vec![
                op(LD_W_ABS, field::ARG0, 0, 0),
                op(JGE_K, 3, 0, 1),
                op(RET_K, RET_TRACE, 0, 0),
                op(RET_K, RET_ALLOW, 0, 0),
            ],
            When::Arg1In(values) => {
                let mut b = vec![op(LD_W_ABS, field::ARG1, 0, 0)];
                let n = values.len();
                for (i, v) in values.iter().enumerate() {
                    // Matching jumps to the trace return after the checks.
                    b.push(op(JEQ_K, *v, (n - i) as u8, 0));
                }
                b.push(op(RET_K, RET_ALLOW, 0, 0));
                b.push(op(RET_K, RET_TRACE, 0, 0));
                b
            }
        };
        // A block that does not match must restore A = nr only if the body
        // loaded something else; bodies always return, so no restore needed.
        p.push(op(JEQ_K, *nr, 0, body.len() as u8));
        p.extend(body);
    }
    p.push(op(RET_K, RET_ALLOW, 0, 0));
    p
}

/// Load `prog` into the calling process with `PR_SET_NO_NEW_PRIVS` (needed
/// without CAP_SYS_ADMIN). Returns the errno on failure. Allocation-free:
/// safe to call between `fork` and `exec`.
pub fn install(prog: &[libc::sock_filter]) -> Result<(), i32> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(errno());
    }
    // SAFETY: fprog points at `prog`, which outlives the call; the kernel
    // copies the program.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(errno());
    }
    Ok(())
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter for the instructions the filter uses.
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32, arg0: u32, arg1: u32) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = p[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => {
                    a = match i.k {
                        field::NR => nr,
                        field::ARCH => arch,
                        field::ARG0 => arg0,
                        field::ARG1 => arg1,
                        k => panic!("load of offset {k}"),
                    }
                }
                JEQ_K | JGE_K | JSET_K => {
                    let t = match i.code {
                        JEQ_K => a == i.k,
                        JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += usize::from(if t { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    const X86: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn socket_calls_stop_others_do_not() {
        let p = program();
        assert!(p.len() < 4096);
        assert_eq!(run(&p, X86, 41, 2, 1), RET_TRACE); // socket
        assert_eq!(run(&p, X86, 42, 3, 0), RET_TRACE); // connect
        assert_eq!(run(&p, X86, 39, 0, 0), RET_ALLOW); // getpid
        assert_eq!(run(&p, X86, 257, 3, 0), RET_ALLOW); // openat
        assert_eq!(run(&p, 0x4000_0003, 41, 0, 0), RET_ALLOW); // i386
        assert_eq!(run(&p, X86, 41 | X32_SYSCALL_BIT, 0, 0), RET_ALLOW);
    }

    #[test]
    fn fd_conditions() {
        let p = program();
        assert_eq!(run(&p, X86, 0, 0, 0), RET_ALLOW); // read(0)
        assert_eq!(run(&p, X86, 1, 2, 0), RET_ALLOW); // write(2)
        assert_eq!(run(&p, X86, 1, 3, 0), RET_TRACE); // write(3)
        assert_eq!(run(&p, X86, 3, 7, 0), RET_TRACE); // close(7)
    }

    #[test]
    fn command_conditions() {
        let p = program();
        assert_eq!(run(&p, X86, 16, 3, 0x5421), RET_TRACE); // ioctl FIONBIO
        assert_eq!(run(&p, X86, 16, 1, 0x5401), RET_ALLOW); // ioctl TCGETS
        assert_eq!(run(&p, X86, 72, 3, 4), RET_TRACE); // fcntl F_SETFL
        assert_eq!(run(&p, X86, 72, 3, 1030), RET_TRACE); // F_DUPFD_CLOEXEC
        assert_eq!(run(&p, X86, 72, 3, 0), RET_TRACE); // F_DUPFD
        assert_eq!(run(&p, X86, 72, 3, 1), RET_ALLOW); // F_GETFD
        assert_eq!(run(&p, X86, 72, 3, 3), RET_ALLOW); // F_GETFL
    }

    #[test]
    fn every_table_entry_is_reachable() {
        let p = program();
        for (s, nr, when) in TABLE {
            let (a0, a1) = match when {
                When::Always => (0, 0),
                When::FdAtLeast3 => (3, 0),
                When::Arg1In(v) => (3, v[0]),
            };
            assert_eq!(run(&p, X86, *nr, a0, a1), RET_TRACE, "{}", s.name());
        }
    }
}
