//! Giving up privileges once the capture socket is open, as `tcpdump -Z`
//! does. An open packet socket keeps working without CAP_NET_RAW.
//!
//! - Under `sudo` (`SUDO_UID`/`SUDO_GID` set): switch to the invoking user
//!   (`setgroups` to that user's groups, then `setgid`, then `setuid`); the
//!   kernel clears every capability when a root process becomes non-root.
//! - As root without `SUDO_UID`: stay uid 0 (files the user asked to write
//!   stay theirs), but clear the effective, permitted and inheritable
//!   capability sets, so the process can no longer open raw sockets, bypass
//!   file permissions, or do anything else root's capabilities allow.
//! - As a non-root user with file capabilities (`setcap cap_net_raw+ep`):
//!   clear the capability sets too.

use std::ffi::CString;

use nix::unistd::{Gid, Uid, User};

use super::CaptureError;

/// What [`drop_privileges`] did, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Became this user (name, uid, gid).
    ToUser(String, u32, u32),
    /// Cleared all capability sets, kept the uid.
    Capabilities,
}

/// Drop to the invoking user under sudo, else clear capabilities.
pub fn drop_privileges() -> Result<Dropped, CaptureError> {
    let sudo_uid = std::env::var("SUDO_UID")
        .ok()
        .and_then(|s| s.parse::<u32>().ok());
    let sudo_gid = std::env::var("SUDO_GID")
        .ok()
        .and_then(|s| s.parse::<u32>().ok());
    if let (Some(uid), Some(gid), true) = (sudo_uid, sudo_gid, Uid::effective().is_root()) {
        if uid != 0 {
            return become_user(uid, gid);
        }
    }
    clear_capabilities()?;
    Ok(Dropped::Capabilities)
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
