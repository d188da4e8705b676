//! Least privilege (issue 13 point 4): run as root without sudo, `sniff`
//! switches to `-Z USER` (default nobody) once its socket is open, with an
//! empty capability bounding set, NO_NEW_PRIVS and a seccomp filter; `-w`
//! files are created after the switch and belong to that user. Needs root
//! (CI runs as root); elsewhere it is skipped with the reason.

mod common;

use std::net::UdpSocket;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use common::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status")
}

fn field<'a>(st: &'a str, name: &str) -> &'a str {
    st.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name}:\n{st}"))
}

fn dir(name: &str, mode: u32) -> PathBuf {
    let d = std::env::temp_dir().join(format!("socklab-privs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
    d
}

/// `sniff` as root without sudo, with `extra` arguments, until one packet.
fn sniff(extra: &[&str], port: u16) -> Server {
    let b = bin();
    let filter = format!("{port}");
    let mut args = vec![
        "-u",
        "SUDO_UID",
        "-u",
        "SUDO_GID",
        b.to_str().unwrap(),
        "sniff",
        "-c",
        "1",
    ];
    args.extend_from_slice(extra);
    args.extend(["udp", "port", &filter]);
    Server::start("env", &args, "listening on")
}

fn poke(port: u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"x", ("127.0.0.1", port)).unwrap();
}

#[test]
fn root_without_sudo_switches_to_nobody_with_no_way_back() {
    if !is_root() || !can_capture() {
        skip("switching users needs root (CI runs as root)");
        return;
    }
    let d = dir("ok", 0o777);
    let file = d.join("a.pcap");
    let port = udp_port();
    let mut srv = sniff(&["-w", file.to_str().unwrap()], port);
    let st = status(srv.pid());
    assert!(
        field(&st, "Uid").starts_with("65534\t65534\t65534\t65534"),
        "{st}"
    );
    assert!(field(&st, "Gid").starts_with("65534"), "{st}");
    assert_eq!(field(&st, "CapBnd"), "0000000000000000");
    assert_eq!(field(&st, "CapEff"), "0000000000000000");
    assert_eq!(field(&st, "CapPrm"), "0000000000000000");
    assert_eq!(field(&st, "NoNewPrivs"), "1");
    assert_eq!(field(&st, "Seccomp"), "2", "a seccomp filter is installed");
    assert!(srv
        .output()
        .contains("privileges dropped to nobody (uid 65534)"));
    // Capturing still works, and the file belongs to nobody.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while !srv.exited() && std::time::Instant::now() < end {
        poke(port);
        std::thread::sleep(Duration::from_millis(50));
    }
    srv.wait_for("1 packet written to", Duration::from_secs(3));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn z_names_the_user_and_root_keeps_uid_0_without_capabilities() {
    if !is_root() || !can_capture() {
        skip("switching users needs root (CI runs as root)");
        return;
    }
    let port = udp_port();
    let srv = sniff(&["-Z", "root"], port);
    let st = status(srv.pid());
    assert!(field(&st, "Uid").starts_with("0\t"), "{st}");
    assert_eq!(field(&st, "CapEff"), "0000000000000000");
    assert_eq!(field(&st, "CapBnd"), "0000000000000000");
    assert_eq!(field(&st, "NoNewPrivs"), "1");
    drop(srv);
    let o = run_limited(
        "env",
        &[
            "-u",
            "SUDO_UID",
            bin().to_str().unwrap(),
            "sniff",
            "-c",
            "1",
            "-Z",
            "no-such-user-xyz",
            "udp",
        ],
        Duration::from_secs(10),
    );
    assert_teaching_error(&o, &["-Z", "no user \"no-such-user-xyz\""]);
}

#[test]
fn w_into_a_directory_nobody_cannot_write_says_so() {
    if !is_root() || !can_capture() {
        skip("switching users needs root (CI runs as root)");
        return;
    }
    let d = dir("closed", 0o755);
    let file = d.join("b.pcap");
    let o = run_limited(
        "env",
        &[
            "-u",
            "SUDO_UID",
            bin().to_str().unwrap(),
            "sniff",
            "-c",
            "1",
            "-w",
            file.to_str().unwrap(),
            "udp",
        ],
        Duration::from_secs(10),
    );
    assert_teaching_error(
        &o,
        &[
            "Permission denied (EACCES)",
            "switched to nobody (uid 65534)",
            "cannot write in",
            "-Z root",
        ],
    );
    let _ = std::fs::remove_dir_all(&d);
}
