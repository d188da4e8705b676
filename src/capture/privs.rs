//! Giving up privileges once the capture socket is open, as `tcpdump -Z`
//! does. An open packet socket keeps working without CAP_NET_RAW.
//!
//! - Under `sudo` (`SUDO_UID`/`SUDO_GID` set) without `-Z`: switch to the
//!   invoking user (`setgroups` to that user's groups, then `setgid`, then
//!   `setuid`); the kernel clears every capability when a root process
//!   becomes non-root.
//! - As root without `sudo` ([`drop_to`]): switch to the `-Z` user, by
//!   default `nobody` (tcpdump's default is its own `tcpdump` user).
//!   `-Z root` keeps uid 0 with every capability cleared.
//! - As a non-root user with file capabilities (`setcap cap_net_raw+ep`):
//!   clear the capability sets.
//!
//! In every case, while still allowed: the capability bounding set is
//! emptied (no program executed later can regain a capability), then
//! NO_NEW_PRIVS is set, then a seccomp allow list is installed: only the
//! calls capture, decode and output need ([`seccomp::CAPTURE`]: memory,
//! threads without new namespaces, signals, time, reading the packet socket,
//! writing the terminal and the `-w` file) pass; `lab` and `--watch`, which
//! run socklab's own clients and servers in the process, also get
//! [`seccomp::SOCKETS`]. Anything else (executing a program, tracing,
//! changing user, mounting, a new socket in `sniff`...) fails with EPERM.
//! Where the kernel has no seccomp, the rest still applies.

use std::ffi::CString;

use nix::unistd::{Gid, Uid, User};

use self::seccomp::Profile;
use super::CaptureError;

/// The user `-Z` switches to by default when root runs socklab without sudo.
pub const DEFAULT_USER: &str = "nobody";

/// What [`drop_privileges`] did, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Became this user (name, uid, gid).
    ToUser(String, u32, u32),
    /// Cleared all capability sets, kept the uid.
    Capabilities,
}

/// Drop to the invoking user under sudo, else clear capabilities (the
/// uid stays); the bounding set, NO_NEW_PRIVS and seccomp as in [`drop_to`],
/// with sockets allowed: `lab` and `--watch` run socklab's own clients and
/// servers in the same process.
pub fn drop_privileges() -> Result<Dropped, CaptureError> {
    if let Some((uid, gid)) = sudo_user() {
        return lock_down_then(Profile::CaptureAndSockets, || become_user(uid, gid));
    }
    lock_down_then(Profile::CaptureAndSockets, || {
        clear_capabilities().map(|()| Dropped::Capabilities)
    })
}

/// `tcpdump -Z USER`: as root, become `user` (`None`: the invoking user
/// under sudo, else [`DEFAULT_USER`]; `root`: stay uid 0, capabilities
/// cleared). Not root: clear capabilities. Then lock down as described
/// in the module docs.
pub fn drop_to(user: Option<&str>) -> Result<Dropped, CaptureError> {
    if !Uid::effective().is_root() {
        return lock_down_then(Profile::Capture, || {
            clear_capabilities().map(|()| Dropped::Capabilities)
        });
    }
    let target = match (user, sudo_user()) {
        (None, Some((uid, gid))) => {
            return lock_down_then(Profile::Capture, || become_user(uid, gid))
        }
        (None, None) => DEFAULT_USER,
        (Some(name), _) => name,
    };
    if target == "root" || target == "0" {
        return lock_down_then(Profile::Capture, || {
            clear_capabilities().map(|()| Dropped::Capabilities)
        });
    }
    let u = lookup(target)?;
    lock_down_then(Profile::Capture, || {
        become_user(u.uid.as_raw(), u.gid.as_raw())
    })
}

/// The user named `name` (or a numeric uid), with a clear error if unknown.
fn lookup(name: &str) -> Result<User, CaptureError> {
    let found = match name.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(name),
    };
    found.ok().flatten().ok_or_else(|| CaptureError::Privileges {
        what: "-Z",
        detail: format!(
            "no user {name:?} on this machine (see /etc/passwd); socklab would otherwise keep running as root"
        ),
    })
}

fn sudo_user() -> Option<(u32, u32)> {
    let uid = std::env::var("SUDO_UID").ok()?.parse::<u32>().ok()?;
    let gid = std::env::var("SUDO_GID").ok()?.parse::<u32>().ok()?;
    (uid != 0 && Uid::effective().is_root()).then_some((uid, gid))
}

/// Empty the bounding set (while CAP_SETPCAP is still held), run `switch`,
/// then set NO_NEW_PRIVS and install the seccomp allow list for `profile`.
fn lock_down_then(
    profile: Profile,
    switch: impl FnOnce() -> Result<Dropped, CaptureError>,
) -> Result<Dropped, CaptureError> {
    clear_bounding_set();
    let dropped = switch()?;
    no_new_privs()?;
    // A kernel without seccomp filters (EINVAL) still gets the rest.
    let _ = seccomp::install(profile);
    Ok(dropped)
}

/// Drop every capability from the bounding set; a process without
/// CAP_SETPCAP (not root) cannot, and has nothing there to lose anyway
/// that it could use without file capabilities.
fn clear_bounding_set() {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl(PR_CAPBSET_DROP, cap) takes plain integers and only
        // changes this process's bounding set; failure (EPERM, EINVAL for a
        // capability this kernel lacks) leaves it as it was.
        unsafe {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
    }
}

fn no_new_privs() -> Result<(), CaptureError> {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) takes plain integers; it only
    // sets a one-way flag on this process.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(CaptureError::Privileges {
            what: "PR_SET_NO_NEW_PRIVS",
            detail: crate::error::describe_io(&std::io::Error::last_os_error()),
        });
    }
    Ok(())
}

/// A `-w` file that could not be created after the switch: say which user
/// tried, and what to do.
pub fn write_hint(
    e: super::file::FileError,
    path: &std::path::Path,
    dropped: &Dropped,
) -> anyhow::Error {
    let mut msg = e.to_string();
    if let (Dropped::ToUser(name, uid, _), true) = (dropped, msg.contains("EACCES")) {
        // Replace the writer's general hint with this specific one.
        msg.truncate(msg.find("\n  hint:").unwrap_or(msg.len()));
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| ".".to_string(), |d| d.display().to_string());
        msg.push_str(&format!(
            "\n  hint: socklab switched to {name} (uid {uid}) after opening the capture socket, and {name} cannot write in {dir}; choose a directory it can write to (/tmp), -Z USER for another user, or -Z root to keep uid 0"
        ));
    }
    anyhow::anyhow!(msg)
}

fn fail(what: &'static str, e: nix::Error) -> CaptureError {
    CaptureError::Privileges {
        what,
        detail: crate::error::describe_io(&std::io::Error::from(e)),
    }
}

fn become_user(uid: u32, gid: u32) -> Result<Dropped, CaptureError> {
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    let name = User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    // The user's supplementary groups; only the primary group if unknown.
    let groups = CString::new(name.clone())
        .ok()
        .filter(|_| !name.is_empty())
        .and_then(|c| nix::unistd::getgrouplist(&c, gid).ok())
        .unwrap_or_else(|| vec![gid]);
    let groups = if groups.is_empty() { vec![gid] } else { groups };
    nix::unistd::setgroups(&groups).map_err(|e| fail("setgroups", e))?;
    nix::unistd::setgid(gid).map_err(|e| fail("setgid", e))?;
    nix::unistd::setuid(uid).map_err(|e| fail("setuid", e))?;
    // Make sure there is no way back.
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(CaptureError::Privileges {
            what: "setuid",
            detail: "root could be regained after dropping".into(),
        });
    }
    Ok(Dropped::ToUser(name, uid.as_raw(), gid.as_raw()))
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `CAP_NET_RAW`, the capability a packet socket needs.
const CAP_NET_RAW: u32 = 13;

/// `ioctl` on a namespace file: the user namespace that owns it.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

/// True when this process holds CAP_NET_RAW for its network namespace,
/// found without opening a packet socket (closing one costs an RCU grace
/// period, 10-20 ms): the capability is in the effective set and the
/// network namespace belongs to this process's user namespace. `false`
/// means "not known this way" (e.g. a namespace owned elsewhere): the
/// caller then tries a socket. A security module may still refuse the
/// socket later; the capture's open then says so.
pub fn net_raw_here() -> bool {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two data structs (the v3 layout) to the
    // pointer given and reads the header; both point to live values on
    // our stack.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r < 0 || data[0].effective & (1 << CAP_NET_RAW) == 0 {
        return false;
    }
    net_owned_by_my_userns().unwrap_or(false)
}

/// True when the network namespace's owner is this process's user namespace.
fn net_owned_by_my_userns() -> std::io::Result<bool> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    let net = std::fs::File::open("/proc/self/ns/net")?;
    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor
    // (or -1) for the owning user namespace.
    let owner = unsafe { libc::ioctl(net.as_raw_fd(), NS_GET_USERNS as _) };
    if owner < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: owner is a descriptor just returned to us, owned from here on.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(owner) });
    let (a, b) = (owner.metadata()?, std::fs::metadata("/proc/self/ns/user")?);
    Ok(a.ino() == b.ino() && a.dev() == b.dev())
}

fn clear_capabilities() -> Result<(), CaptureError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads one header and two data structs (the v3 layout)
    // from the pointers given, which point to live values on our stack.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r < 0 {
        return Err(CaptureError::Privileges {
            what: "capset",
            detail: crate::error::describe_io(&std::io::Error::last_os_error()),
        });
    }
    Ok(())
}

/// The seccomp allow list: one classic BPF program, all `unsafe` here.
pub mod seccomp {
    /// `struct sock_filter`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Insn {
        code: u16,
        jt: u8,
        jf: u8,
        k: u32,
    }

    /// `struct sock_fprog`.
    #[repr(C)]
    struct Prog {
        len: libc::c_ushort,
        filter: *const Insn,
    }

    /// What the process does once the filter is on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Profile {
        /// `sniff`: read packets, decode, print, write a capture file.
        Capture,
        /// Capture while socklab's own course clients and servers run in
        /// the same process (`lab`, `--watch`): sockets too.
        CaptureAndSockets,
    }

    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
    /// clone3 passes its flags behind a pointer the filter cannot read:
    /// ENOSYS makes the C library fall back to clone, whose flags it can.
    const RET_ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
    /// Offsets in `struct seccomp_data`: the call number, the architecture,
    /// the low 32 bits of the first argument (little-endian).
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0_LOW: u32 = 16;
    /// clone flags that make new namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS,
    /// NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME): threads never need them.
    const CLONE_NEW_ANY: u32 = 0x7e02_0080;

    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xc000_00b7;

    /// What capture, decode and output need: memory, threads (the Ctrl-C
    /// watcher, the capture thread), signals, time, reading the packet
    /// socket (ring or recvfrom), its statistics, terminal and file output
    /// (the `-w` file is created after the switch), and exiting.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub const CAPTURE: &[libc::c_long] = &[
        // files and output
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_pread64,
        libc::SYS_pwrite64,
        libc::SYS_lseek,
        libc::SYS_openat,
        libc::SYS_close,
        libc::SYS_fstat,
        libc::SYS_newfstatat,
        libc::SYS_statx,
        libc::SYS_fcntl,
        libc::SYS_ioctl,
        libc::SYS_dup,
        libc::SYS_dup3,
        libc::SYS_pipe2,
        libc::SYS_getdents64,
        libc::SYS_readlinkat,
        libc::SYS_faccessat,
        libc::SYS_faccessat2,
        libc::SYS_fsync,
        libc::SYS_fdatasync,
        libc::SYS_ftruncate,
        // memory
        libc::SYS_brk,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        // threads (clone's flags are checked separately)
        libc::SYS_futex,
        libc::SYS_set_robust_list,
        libc::SYS_rseq,
        libc::SYS_set_tid_address,
        libc::SYS_sched_yield,
        libc::SYS_sched_getaffinity,
        libc::SYS_membarrier,
        libc::SYS_exit,
        libc::SYS_exit_group,
        // signals (Ctrl-C; abort on a bug)
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        libc::SYS_tgkill,
        libc::SYS_restart_syscall,
        // ids, time, randomness, limits
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_getppid,
        libc::SYS_getuid,
        libc::SYS_geteuid,
        libc::SYS_getgid,
        libc::SYS_getegid,
        libc::SYS_getresuid,
        libc::SYS_getresgid,
        libc::SYS_getgroups,
        libc::SYS_clock_gettime,
        libc::SYS_clock_getres,
        libc::SYS_gettimeofday,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        libc::SYS_getrandom,
        libc::SYS_prlimit64,
        libc::SYS_uname,
        libc::SYS_prctl,
        libc::SYS_sysinfo,
        // waiting for the packet socket and reading it
        libc::SYS_ppoll,
        libc::SYS_pselect6,
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_eventfd2,
        libc::SYS_recvfrom,
        libc::SYS_recvmsg,
        libc::SYS_recvmmsg,
        libc::SYS_getsockopt,
        libc::SYS_setsockopt,
        libc::SYS_getsockname,
    ];

    /// The older x86-64 spellings of calls in [`CAPTURE`].
    #[cfg(target_arch = "x86_64")]
    const CAPTURE_X86_64: &[libc::c_long] = &[
        libc::SYS_open,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_access,
        libc::SYS_readlink,
        libc::SYS_pipe,
        libc::SYS_dup2,
        libc::SYS_poll,
        libc::SYS_select,
        libc::SYS_epoll_wait,
        libc::SYS_getrlimit,
        libc::SYS_arch_prctl,
    ];
    #[cfg(target_arch = "aarch64")]
    const CAPTURE_X86_64: &[libc::c_long] = &[];

    /// What socklab's own clients and servers add (`lab`, `--watch`).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub const SOCKETS: &[libc::c_long] = &[
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_connect,
        libc::SYS_shutdown,
        libc::SYS_getpeername,
        libc::SYS_sendto,
        libc::SYS_sendmsg,
        libc::SYS_sendmmsg,
    ];

    /// Every call `profile` allows (clone and clone3 aside).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn allowed(profile: Profile) -> Vec<libc::c_long> {
        let mut v: Vec<libc::c_long> = CAPTURE.iter().chain(CAPTURE_X86_64).copied().collect();
        if profile == Profile::CaptureAndSockets {
            v.extend_from_slice(SOCKETS);
        }
        v
    }

    /// The program: another architecture's calls and x32 calls are
    /// refused; each allowed number passes; clone passes without namespace
    /// flags; clone3 says ENOSYS; everything else fails with EPERM.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn program(profile: Profile) -> Vec<Insn> {
        let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
        let allowed = allowed(profile);
        let mut p = vec![
            ins(LD_W_ABS, 0, 0, ARCH),
            ins(JEQ_K, 1, 0, AUDIT_ARCH),
            ins(RET_K, 0, 0, RET_EPERM),
            ins(LD_W_ABS, 0, 0, NR),
            // x32 ABI numbers have bit 30 set: refuse them all.
            ins(JGE_K, 0, 1, 0x4000_0000),
            ins(RET_K, 0, 0, RET_EPERM),
            ins(JEQ_K, 0, 1, libc::SYS_clone3 as u32),
            ins(RET_K, 0, 0, RET_ENOSYS),
            ins(JEQ_K, 0, 4, libc::SYS_clone as u32),
            ins(LD_W_ABS, 0, 0, ARG0_LOW),
            ins(JSET_K, 0, 1, CLONE_NEW_ANY),
            ins(RET_K, 0, 0, RET_EPERM),
            ins(RET_K, 0, 0, RET_ALLOW),
        ];
        // Each JEQ jumps forward to the final ALLOW: jt counts what is
        // between them (the rest of the list and the EPERM return).
        let n = allowed.len();
        assert!(n < 255, "the jump offsets are 8 bits");
        for (i, &nr) in allowed.iter().enumerate() {
            p.push(ins(JEQ_K, (n - i) as u8, 0, nr as u32));
        }
        p.push(ins(RET_K, 0, 0, RET_EPERM));
        p.push(ins(RET_K, 0, 0, RET_ALLOW));
        p
    }

    /// Install `program` on every thread of the process. NO_NEW_PRIVS must
    /// already be set (or the process hold CAP_SYS_ADMIN).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn install_program(filter: &[Insn]) -> std::io::Result<()> {
        let prog = Prog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_ptr(),
        };
        const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
        const SECCOMP_FILTER_FLAG_TSYNC: libc::c_long = 1;
        // SAFETY: seccomp(SET_MODE_FILTER, TSYNC, &prog) reads `prog` and the
        // `filter` slice it points to, both alive for the whole call; the
        // kernel copies the program.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_TSYNC,
                &prog as *const Prog,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Install the allow list for `profile` on every thread.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn install(profile: Profile) -> std::io::Result<()> {
        install_program(&program(profile))
    }

    /// Other architectures: no filter (the numbers above would be wrong).
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub fn install(_: Profile) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }

    #[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
    mod tests {
        use super::*;

        /// Run `probe` in a forked child under the `profile` filter; the
        /// child exits with the probe's result (0..=255).
        fn in_filtered_child(profile: Profile, probe: fn() -> i32) -> i32 {
            // Built before fork: the child only makes system calls.
            let filter = program(profile);
            // SAFETY: fork in a test binary; the child only calls prctl,
            // seccomp, the probe's raw system calls and _exit, all
            // async-signal-safe, and never returns into the test harness.
            match unsafe { libc::fork() } {
                0 => {
                    // SAFETY: plain integer arguments; one-way flag.
                    let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                    let code = if nnp != 0 || install_program(&filter).is_err() {
                        250
                    } else {
                        probe()
                    };
                    // SAFETY: ends the child without running destructors.
                    unsafe { libc::_exit(code) }
                }
                pid if pid > 0 => {
                    let mut status = 0;
                    // SAFETY: waits for our own child; status is a live int.
                    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
                    assert_eq!(r, pid);
                    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
                    libc::WEXITSTATUS(status)
                }
                _ => panic!("fork failed"),
            }
        }

        fn errno() -> i32 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        }

        /// 0 if the call succeeded, else its errno.
        fn result(r: libc::c_long) -> i32 {
            if r < 0 {
                errno()
            } else {
                0
            }
        }

        #[test]
        fn the_program_fits_classic_bpf() {
            for profile in [Profile::Capture, Profile::CaptureAndSockets] {
                let p = program(profile);
                assert!(p.len() < 4096);
                // Every JEQ of the list lands on the final ALLOW.
                let last = p.len() - 1;
                assert_eq!(
                    p[last],
                    Insn {
                        code: RET_K,
                        jt: 0,
                        jf: 0,
                        k: RET_ALLOW
                    }
                );
                for (i, insn) in p.iter().enumerate().skip(13) {
                    if insn.code == JEQ_K {
                        assert_eq!(i + 1 + insn.jt as usize, last);
                    }
                }
            }
        }

        #[test]
        fn what_capture_needs_passes() {
            let probe = || {
                // SAFETY: plain system calls on our own process and a
                // string literal path; the fd is closed again.
                unsafe {
                    let pid = libc::syscall(libc::SYS_getpid);
                    let fd = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                    let w = libc::write(fd, b"x".as_ptr().cast(), 1);
                    libc::close(fd);
                    i32::from(pid <= 0 || fd < 0 || w != 1)
                }
            };
            assert_eq!(in_filtered_child(Profile::Capture, probe), 0);
            // A thread (clone without namespace flags, after clone3's ENOSYS).
            let thread = || match std::thread::spawn(|| 7).join() {
                Ok(7) => 0,
                _ => 1,
            };
            assert_eq!(in_filtered_child(Profile::Capture, thread), 0);
        }

        #[test]
        fn a_forbidden_call_is_denied_with_eperm() {
            // Executing a program.
            let exec = || {
                let argv = [c"/bin/true".as_ptr(), std::ptr::null()];
                let envp = [std::ptr::null()];
                // SAFETY: NUL-terminated literals and arrays; on success
                // the child would become /bin/true and exit 0.
                let r =
                    unsafe { libc::execve(c"/bin/true".as_ptr(), argv.as_ptr(), envp.as_ptr()) };
                if r < 0 {
                    errno()
                } else {
                    0
                }
            };
            assert_eq!(in_filtered_child(Profile::Capture, exec), libc::EPERM);
            // A new socket: sniff needs none, the lab does.
            // SAFETY: plain integers; a created fd is simply left to _exit.
            let sock = || {
                result(unsafe {
                    libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_DGRAM, 0)
                })
            };
            assert_eq!(in_filtered_child(Profile::Capture, sock), libc::EPERM);
            assert_eq!(in_filtered_child(Profile::CaptureAndSockets, sock), 0);
            // Not on the list: making a directory, changing user, tracing.
            // SAFETY: plain integers and a literal path.
            let mkdir = || {
                result(unsafe {
                    libc::syscall(
                        libc::SYS_mkdirat,
                        libc::AT_FDCWD,
                        c"/tmp/socklab-seccomp-probe".as_ptr(),
                        0o700,
                    )
                })
            };
            assert_eq!(
                in_filtered_child(Profile::CaptureAndSockets, mkdir),
                libc::EPERM
            );
            // SAFETY: plain integers.
            let setuid = || result(unsafe { libc::syscall(libc::SYS_setuid, 0) });
            assert_eq!(
                in_filtered_child(Profile::CaptureAndSockets, setuid),
                libc::EPERM
            );
            // SAFETY: plain integers; PTRACE_TRACEME on ourselves.
            let ptrace = || {
                result(unsafe { libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) })
            };
            assert_eq!(in_filtered_child(Profile::Capture, ptrace), libc::EPERM);
            // A clone into a new user namespace (what unshare would do).
            // SAFETY: raw clone with SIGCHLD and a namespace flag; on
            // success both processes return and exit with 0 at once.
            let userns = || {
                result(unsafe {
                    libc::syscall(
                        libc::SYS_clone,
                        (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
                        0,
                        0,
                        0,
                        0,
                    )
                })
            };
            assert_eq!(in_filtered_child(Profile::Capture, userns), libc::EPERM);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The check without a socket never claims a capture a socket refuses.
    #[test]
    fn net_raw_here_never_claims_too_much() {
        if super::net_raw_here() {
            assert!(crate::capture::live::can_capture());
        }
    }
}
