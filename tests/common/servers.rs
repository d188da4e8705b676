//! Helpers for the tests that run socklab's course servers (bad input and
//! abuse): a server on an ephemeral port, clients with time limits, a
//! monitor record, a chat exchange, pausing the server, its descriptor
//! limit and the listener's accept queue. Every wait is bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Server;

/// Start `socklab ARGS... --bind 127.0.0.1:PORT` (ready when it listens).
pub fn serve(port: u16, args: &[&str]) -> Server {
    let bind = format!("127.0.0.1:{port}");
    let mut all = args.to_vec();
    all.extend(["--bind", &bind]);
    Server::socklab(&all)
}

/// A client of 127.0.0.1:PORT whose reads and writes time out after `limit`.
pub fn connect_with(port: u16, limit: Duration) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.set_write_timeout(Some(limit)).unwrap();
    s
}

/// `text` as a 67-byte monitor record (padded with spaces).
pub fn record(text: &str) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    b.resize(67, b' ');
    b
}

/// A valid monitor record for `host` (1.0% CPU, 2.0% memory).
pub fn host_record(host: &str) -> Vec<u8> {
    record(&format!(
        "Hostname:{host} Carga de CPU: 1.0% Memória Disponível: 2.0%"
    ))
}

/// The line the monitor server logs for [`host_record`]`(host)`.
pub fn host_logged(host: &str) -> String {
    format!("host {host}  CPU 1.0%")
}

/// A new client sends `host`'s record and the server logs it within `limit`.
pub fn monitor_serves(srv: &Server, port: u16, host: &str, limit: Duration) {
    let mut good = connect_with(port, limit);
    good.write_all(&host_record(host)).unwrap();
    srv.wait_for(&host_logged(host), limit);
}

/// Read `s` until `done(text so far)` or `limit`; returns the text.
pub fn read_until(s: &mut TcpStream, limit: Duration, done: impl Fn(&str) -> bool) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let end = Instant::now() + limit;
    while !done(&String::from_utf8_lossy(&got)) && Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Two new chat clients: a line from one reaches the other within `limit`.
pub fn chat_relays(srv: &Server, port: u16, text: &str, limit: Duration) {
    let mut a = connect_with(port, limit);
    let mut b = connect_with(port, limit);
    // Once b has its welcome the server counts it among the clients.
    let welcome = read_until(&mut b, limit, |t| t.contains("Welcome to socklab chat"));
    assert!(
        welcome.contains("Welcome"),
        "{welcome}\nserver:\n{}",
        srv.output()
    );
    a.write_all(format!("{text}\n").as_bytes()).unwrap();
    let want = format!("] {text}\n");
    let got = read_until(&mut b, limit, |t| t.contains(&want));
    assert!(got.contains(&want), "{got}\nserver:\n{}", srv.output());
}

/// Send `sig` (`-STOP`, `-CONT`...) to the server, without waiting.
pub fn signal(srv: &Server, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &srv.pid().to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill {sig}");
}

/// Lower the running server's descriptor limit (`prlimit --pid PID
/// --nofile=N`): its client cap was worked out for the old limit, so the
/// next clients run into EMFILE in accept().
pub fn lower_nofile(srv: &Server, soft: u64) {
    let pid = srv.pid() as libc::pid_t;
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads `new` and writes `old`, both live locals; the
    // pid is our own child's.
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(r, 0, "prlimit get: {}", std::io::Error::last_os_error());
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above.
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) };
    assert_eq!(r, 0, "prlimit set: {}", std::io::Error::last_os_error());
}

/// Connections waiting in the accept queue of the TCP listener on
/// 127.0.0.1:PORT: for a listening socket `/proc/net/tcp` reports the
/// backlog in its rx_queue column. `None` if no such listener.
pub fn accept_queue(port: u16) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (_, local_port) = f.get(1)?.split_once(':')?;
        let listening = f.get(3)? == &"0A";
        if !listening || u16::from_str_radix(local_port, 16).ok()? != port {
            return None;
        }
        let (_, rx) = f.get(4)?.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

/// True once `s` reads end of stream (or a reset) within `limit`.
pub fn sees_close(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let end = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}
