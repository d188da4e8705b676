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
//! NO_NEW_PRIVS is set, then a seccomp filter refuses (EPERM) the system
//! calls that only an attacker would need: executing programs, tracing,
//! changing users or capabilities, mounting, namespaces, kernel modules,
//! BPF, keys. It is a deny list: capture, decode and output use many
//! ordinary calls (threads, signals, files, sockets for name lookups), and
//! an allow list that missed one would break them. Where the kernel has no
//! seccomp, the rest still applies and the result says so.

use std::ffi::CString;

use nix::unistd::{Gid, Uid, User};

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
/// uid stays); the bounding set, NO_NEW_PRIVS and seccomp as in [`drop_to`].
pub fn drop_privileges() -> Result<Dropped, CaptureError> {
    if let Some((uid, gid)) = sudo_user() {
        return lock_down_then(|| become_user(uid, gid));
    }
    lock_down_then(|| clear_capabilities().map(|()| Dropped::Capabilities))
}

/// `tcpdump -Z USER`: as root, become `user` (`None`: the invoking user
/// under sudo, else [`DEFAULT_USER`]; `root`: stay uid 0, capabilities
/// cleared). Not root: clear capabilities. Then lock down as described
/// in the module docs.
pub fn drop_to(user: Option<&str>) -> Result<Dropped, CaptureError> {
    if !Uid::effective().is_root() {
        return lock_down_then(|| clear_capabilities().map(|()| Dropped::Capabilities));
    }
    let target = match (user, sudo_user()) {
        (None, Some((uid, gid))) => return lock_down_then(|| become_user(uid, gid)),
        (None, None) => DEFAULT_USER,
        (Some(name), _) => name,
    };
    if target == "root" || target == "0" {
        return lock_down_then(|| clear_capabilities().map(|()| Dropped::Capabilities));
    }
    let u = lookup(target)?;
    lock_down_then(|| become_user(u.uid.as_raw(), u.gid.as_raw()))
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
/// then set NO_NEW_PRIVS and install the seccomp filter.
fn lock_down_then(
    switch: impl FnOnce() -> Result<Dropped, CaptureError>,
) -> Result<Dropped, CaptureError> {
    clear_bounding_set();
    let dropped = switch()?;
    no_new_privs()?;
    // A kernel without seccomp filters (EINVAL) still gets the rest.
    let _ = seccomp::install();
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

/// The seccomp deny list: one classic BPF program, all `unsafe` here.
mod seccomp {
    /// `struct sock_filter`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Insn {
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

    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
    /// Offsets in `struct seccomp_data`.
    const NR: u32 = 0;
    const ARCH: u32 = 4;

    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xc000_00b7;

    /// System calls refused once capturing runs.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub const DENIED: &[libc::c_long] = &[
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_bpf,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_setuid,
        libc::SYS_setgid,
        libc::SYS_setreuid,
        libc::SYS_setregid,
        libc::SYS_setresuid,
        libc::SYS_setresgid,
        libc::SYS_setgroups,
        libc::SYS_capset,
        libc::SYS_personality,
    ];

    /// The program: other architectures pass (their numbers differ), x32
    /// calls are refused, each denied number returns EPERM, the rest pass.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn program() -> Vec<Insn> {
        let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
        let mut p = vec![
            ins(LD_W_ABS, 0, 0, ARCH),
            ins(JEQ_K, 1, 0, AUDIT_ARCH),
            ins(RET_K, 0, 0, RET_ALLOW),
            ins(LD_W_ABS, 0, 0, NR),
            // x32 ABI numbers have bit 30 set: refuse them all.
            ins(JGE_K, 0, 1, 0x4000_0000),
            ins(RET_K, 0, 0, RET_EPERM),
        ];
        for &nr in DENIED {
            p.push(ins(JEQ_K, 0, 1, nr as u32));
            p.push(ins(RET_K, 0, 0, RET_EPERM));
        }
        p.push(ins(RET_K, 0, 0, RET_ALLOW));
        p
    }

    /// Install the filter on every thread of the process.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn install() -> std::io::Result<()> {
        let filter = program();
        let prog = Prog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_ptr(),
        };
        const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
        const SECCOMP_FILTER_FLAG_TSYNC: libc::c_long = 1;
        // SAFETY: seccomp(SET_MODE_FILTER, TSYNC, &prog) reads `prog` and the
        // `filter` array it points to, both alive for the whole call; the
        // kernel copies the program. NO_NEW_PRIVS is already set.
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

    /// Other architectures: no filter (the numbers above would be wrong).
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub fn install() -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
