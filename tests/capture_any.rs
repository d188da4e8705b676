//! `-i any` and real interfaces (issue 14 point 4), live, as root.
//!
//! - On the host's lo: `socklab sniff -i any -w FILE` and `tcpdump -i any`
//!   side by side print the same lines (`lo    In  IP ...`), and
//!   `tcpdump -r FILE` reads socklab's file to the very lines socklab printed;
//!   the kernel filter on the cooked socket keeps a flood on another port
//!   out of user space.
//! - In two network namespaces this test creates, joined by a veth pair:
//!   a capture on the veth keeps both directions (each packet once), and
//!   `-i any` shows `va    Out` / `va    In` and `lo    In` exactly as
//!   `tcpdump -i any` does in the same namespace.
//!
//! Needs root (CAP_NET_RAW, and CAP_SYS_ADMIN plus iproute2's `ip` for the
//! namespaces) and tcpdump: skipped with a reason outside CI, failed in CI.
//! Every socket is bound to port 0 and kept; every wait is bounded; the
//! namespaces are deleted on drop.

mod common;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{can_capture, Server};

const WAIT: Duration = Duration::from_secs(10);

fn have(tool: &str, arg: &str) -> bool {
    common::have_tool(tool, arg)
}

/// The line after its timestamp (`HH:MM:SS.uuuuuu `).
fn after_time(l: &str) -> &str {
    l.split_once(' ').map_or(l, |(_, rest)| rest)
}

/// The packet lines of some output: those with the UDP summary.
fn udp_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(": UDP, length"))
        .map(str::to_string)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `tcpdump -nn -r FILE` (in namespace `ns` when given), at most 20 s.
fn read_back(ns: Option<&str>, file: &str) -> Output {
    let mut args = vec![];
    if let Some(ns) = ns {
        args.extend(["netns", "exec", ns, "tcpdump"]);
    }
    args.extend(["-nn", "-r", file]);
    let program = if ns.is_some() { "ip" } else { "tcpdump" };
    common::run_limited(program, &args, Duration::from_secs(20))
}

/// Lines without the hours and minutes of their timestamps (socklab and
/// tcpdump may print different time zones; seconds and microseconds,
/// interface, direction and packet must agree).
fn zone_free(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|l| l.get(6..).unwrap_or(l).to_string())
        .collect()
}

/// A receiver on `addr` port 0 (kept) that echoes every datagram back,
/// until it has echoed `n` or `WAIT` passed. Returns its port and thread.
fn echo(sock: UdpSocket, n: usize) -> thread::JoinHandle<usize> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    thread::spawn(move || {
        let end = Instant::now() + WAIT;
        let mut echoed = 0;
        let mut buf = [0u8; 2048];
        while echoed < n && Instant::now() < end {
            if let Ok((len, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..len], from);
                echoed += 1;
            }
        }
        echoed
    })
}

/// Send `n` datagrams of `len` bytes from `from` to `to`, each waiting for
/// its echo (bounded); returns how many came back.
fn ping_pong(from: &UdpSocket, to: SocketAddr, n: usize, len: usize) -> usize {
    from.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut back = 0;
    let mut buf = [0u8; 2048];
    for _ in 0..n {
        from.send_to(&vec![b'x'; len], to).expect("send");
        if from.recv_from(&mut buf).is_ok() {
            back += 1;
        }
    }
    back
}

fn stop(mut s: Server) -> String {
    assert!(s.interrupt().is_some(), "did not stop on SIGINT");
    s.output()
}

#[test]
fn any_on_the_host_prints_and_saves_what_tcpdump_i_any_shows() {
    if !can_capture() || !have("tcpdump", "--version") {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = server.local_addr().expect("addr").port();
    let server6 = UdpSocket::bind("[::1]:0");
    let dir = std::env::temp_dir().join(format!("socklab-capture-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // socklab writes its file as nobody (privileges dropped).
    let _ = Command::new("chmod").arg("1777").arg(&dir).status();
    let file = dir.join("any.pcap");
    let filter = match &server6 {
        Ok(s6) => format!(
            "udp port {port} or udp port {}",
            s6.local_addr().expect("addr").port()
        ),
        Err(_) => format!("udp port {port}"),
    };
    let file_s = file.to_str().expect("utf-8 path");
    let ours = Server::start(
        common::bin(),
        &[
            "sniff", "-i", "any", "-w", file_s, "--color", "never", &filter,
        ],
        "listening on",
    );
    let theirs = Server::start(
        "tcpdump",
        &["-i", "any", "-nn", "-l", &filter],
        "listening on",
    );
    let echoes = echo(server, 6);
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut sent = ping_pong(&client, (Ipv4Addr::LOCALHOST, port).into(), 3, 5);
    sent += ping_pong(&client, (Ipv4Addr::LOCALHOST, port).into(), 3, 1200);
    if let Ok(s6) = server6 {
        let to = s6.local_addr().expect("addr");
        let e6 = echo(s6, 2);
        let c6 = UdpSocket::bind("[::1]:0").expect("bind ::1");
        sent += ping_pong(&c6, to, 2, 33);
        assert_eq!(e6.join().expect("echo"), 2);
    }
    assert_eq!(echoes.join().expect("echo"), 6);
    let n = 2 * sent;
    // Both have seen every packet (bounded wait), then stop them.
    let end = Instant::now() + WAIT;
    while (ours.count(": UDP, length") < n || theirs.count(": UDP, length") < n)
        && Instant::now() < end
    {
        thread::sleep(Duration::from_millis(50));
    }
    let ours = stop(ours);
    let theirs = stop(theirs);
    let ours_lines = udp_lines(&ours);
    assert_eq!(ours_lines.len(), n, "each packet once:\n{ours}");
    assert!(
        ours_lines
            .iter()
            .all(|l| after_time(l).starts_with("lo    In  IP")),
        "{ours}"
    );
    let strip = |v: &[String]| sorted(v.iter().map(|l| after_time(l).to_string()).collect());
    assert_eq!(
        strip(&ours_lines),
        strip(&udp_lines(&theirs)),
        "socklab -i any and tcpdump -i any differ\nsocklab:\n{ours}\ntcpdump:\n{theirs}"
    );
    // The file: tcpdump reads it as LINUX_SLL2, to the lines socklab printed.
    let o = read_back(None, file_s);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("LINUX_SLL2"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        zone_free(&udp_lines(&String::from_utf8_lossy(&o.stdout))),
        zone_free(&ours_lines),
        "tcpdump -r of socklab's -w file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn any_filters_in_the_kernel() {
    if !can_capture() {
        return;
    }
    let wanted = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let other = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let (wp, op) = (
        wanted.local_addr().expect("addr").port(),
        other.local_addr().expect("addr").port(),
    );
    let filter = format!("udp dst port {wp}");
    let s = Server::start(
        common::bin(),
        &["sniff", "-i", "any", "-v", "--color", "never", &filter],
        "listening on",
    );
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Enough to show; small, as other captures may share lo.
    for _ in 0..3_000 {
        let _ = tx.send_to(b"flood", ("127.0.0.1", op));
    }
    for _ in 0..5 {
        tx.send_to(b"wanted", ("127.0.0.1", wp)).expect("send");
    }
    s.wait_for("UDP, length 6", WAIT);
    let end = Instant::now() + WAIT;
    while s.count("UDP, length 6") < 5 && Instant::now() < end {
        thread::sleep(Duration::from_millis(20));
    }
    let out = stop(s);
    assert!(
        out.contains("filter compiled to") && out.contains("attached to the socket"),
        "{out}"
    );
    // lo's outgoing copies are dropped by the kernel too: 5 in, 5 shown.
    assert!(
        out.contains("\n5 packets passed the kernel filter"),
        "{out}"
    );
    assert_eq!(udp_lines(&out).len(), 5, "{out}");
    drop((wanted, other));
}

/// Two network namespaces joined by a veth pair `va` (10.203.0.1/24) —
/// `vb` (10.203.0.2/24), deleted on drop.
struct Veth {
    a: String,
    b: String,
}

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 203, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 203, 0, 2);

impl Veth {
    fn new(tag: &str) -> Option<Veth> {
        if !have("ip", "-V") {
            return None;
        }
        let id = format!("sl{}{tag}", std::process::id());
        let v = Veth {
            a: format!("{id}a"),
            b: format!("{id}b"),
        };
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .map(|o| {
                    (
                        o.status.success(),
                        String::from_utf8_lossy(&o.stderr).to_string(),
                    )
                })
                .unwrap_or((false, "cannot run ip".into()))
        };
        let (ok, why) = ip(&["netns", "add", &v.a]);
        if !ok {
            common::skip(&format!(
                "cannot create a network namespace (needs root): ip netns add: {why}"
            ));
            return None;
        }
        let (a, b) = (v.a.as_str(), v.b.as_str());
        let a_cidr = format!("{A_IP}/24");
        let b_cidr = format!("{B_IP}/24");
        for step in [
            vec!["netns", "add", b],
            vec![
                "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b,
            ],
            vec!["-n", a, "addr", "add", &a_cidr, "dev", "va"],
            vec!["-n", b, "addr", "add", &b_cidr, "dev", "vb"],
            vec!["-n", a, "link", "set", "va", "up"],
            vec!["-n", b, "link", "set", "vb", "up"],
            vec!["-n", a, "link", "set", "lo", "up"],
        ] {
            let (ok, why) = ip(&step);
            assert!(ok, "ip {}: {why}", step.join(" "));
        }
        Some(v)
    }

    /// Run `f` on a thread inside namespace `ns` (setns moves only the
    /// calling thread).
    fn inside<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let path = format!("/run/netns/{ns}");
        thread::spawn(move || {
            let fd = File::open(&path).expect("open the namespace");
            // SAFETY: setns on a descriptor we hold open, for this thread only.
            let r = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
    }

    /// `ip netns exec NS program args...`, ready at `ready`.
    fn start(ns: &str, program: &Path, args: &[&str], ready: &str) -> Server {
        let program = program.to_str().expect("utf-8 path");
        let mut all = vec!["netns", "exec", ns, program];
        all.extend_from_slice(args);
        Server::start("ip", &all, ready)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A UDP echo in namespace b, `n` datagrams from namespace a to it (and
/// `lo_n` over lo inside a); returns the server port.
fn traffic(v: &Veth, n: usize, lo_n: usize) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = Veth::inside(&v.b, move || {
        let s = UdpSocket::bind((B_IP, 0)).expect("bind in b");
        tx.send(s.local_addr().expect("addr").port()).expect("port");
        echo(s, n).join().expect("echo")
    });
    let port = rx.recv_timeout(WAIT).expect("echo server port");
    let client = Veth::inside(&v.a, move || {
        let c = UdpSocket::bind((A_IP, 0)).expect("bind in a");
        let mut back = ping_pong(&c, (B_IP, port).into(), n, 5);
        if lo_n > 0 {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).expect("bind lo in a");
            let lo = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind lo in a");
            let e = echo(s, lo_n);
            back += ping_pong(&lo, (Ipv4Addr::LOCALHOST, port).into(), lo_n, 7);
            e.join().expect("lo echo");
        }
        back
    });
    assert_eq!(client.join().expect("client"), n + lo_n);
    assert_eq!(server.join().expect("server"), n);
    port
}

#[test]
fn a_veth_capture_keeps_both_directions_once() {
    if !can_capture() {
        return;
    }
    let Some(v) = Veth::new("v") else {
        return;
    };
    // The port is not known before the server binds: capture all UDP on
    // the veth (nothing else runs in this namespace).
    let cap = Veth::start(
        &v.a,
        &common::bin(),
        &["sniff", "-i", "va", "--color", "never", "udp"],
        "listening on",
    );
    assert!(cap.output().contains("both directions"), "{}", cap.output());
    let port = traffic(&v, 4, 0);
    let end = Instant::now() + WAIT;
    while cap.count(": UDP, length 5") < 8 && Instant::now() < end {
        thread::sleep(Duration::from_millis(20));
    }
    let out = stop(cap);
    let lines = udp_lines(&out);
    let out_dir = format!("IP {A_IP}.");
    let in_dir = format!("IP {B_IP}.{port} > {A_IP}.");
    let sent = lines
        .iter()
        .filter(|l| after_time(l).starts_with(&out_dir))
        .count();
    let came = lines
        .iter()
        .filter(|l| after_time(l).starts_with(&in_dir))
        .count();
    assert_eq!((sent, came, lines.len()), (4, 4, 8), "{out}");
}

#[test]
fn any_in_a_namespace_shows_interfaces_and_directions_as_tcpdump_does() {
    if !can_capture() || !have("tcpdump", "--version") {
        return;
    }
    let Some(v) = Veth::new("n") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("socklab-capture-any-ns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = Command::new("chmod").arg("1777").arg(&dir).status();
    let file = dir.join("ns.pcap");
    let file_s = file.to_str().expect("utf-8 path");
    let ours = Veth::start(
        &v.a,
        &common::bin(),
        &[
            "sniff", "-i", "any", "-w", file_s, "--color", "never", "udp",
        ],
        "listening on",
    );
    let theirs = Veth::start(
        &v.a,
        Path::new("tcpdump"),
        &["-i", "any", "-nn", "-l", "udp"],
        "listening on",
    );
    traffic(&v, 3, 2);
    // 3 out and 3 in on va, 2 + 2 on lo, each once.
    let n = 10;
    let end = Instant::now() + WAIT;
    while (ours.count(": UDP, length") < n || theirs.count(": UDP, length") < n)
        && Instant::now() < end
    {
        thread::sleep(Duration::from_millis(50));
    }
    let ours = stop(ours);
    let theirs = stop(theirs);
    let lines = udp_lines(&ours);
    let column = |prefix: &str| {
        lines
            .iter()
            .filter(|l| after_time(l).starts_with(prefix))
            .count()
    };
    assert_eq!(
        (
            column("va    Out IP "),
            column("va    In  IP "),
            column("lo    In  IP "),
            lines.len()
        ),
        (3, 3, 4, n),
        "{ours}"
    );
    let strip = |v: &[String]| sorted(v.iter().map(|l| after_time(l).to_string()).collect());
    assert_eq!(
        strip(&lines),
        strip(&udp_lines(&theirs)),
        "socklab -i any and tcpdump -i any differ\nsocklab:\n{ours}\ntcpdump:\n{theirs}"
    );
    // Read back in the namespace (interface names are looked up there).
    let o = read_back(Some(&v.a), file_s);
    assert_eq!(
        zone_free(&udp_lines(&String::from_utf8_lossy(&o.stdout))),
        zone_free(&lines),
        "tcpdump -r of socklab's -w file\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Both receive paths of `any` (the ring, and recvfrom where there is no
/// ring) hand out a 20,000-byte datagram whole behind its SLL2 header
/// (protocol, lo's index, loopback hardware type, incoming), once.
#[test]
fn any_ring_and_recvfrom_paths_build_the_sll2_header() {
    use socklab::capture::live::{LiveCapture, LiveConfig};
    use socklab::capture::LinkType;
    use socklab::filter::Filter;
    use socklab::wire::sll2::Sll2;
    if !can_capture() {
        return;
    }
    for ring in [Some(4 << 20), None] {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = rx.local_addr().expect("addr").port();
        let filter = Filter::parse(&format!("udp dst port {port}")).expect("parses");
        let mut cfg = LiveConfig::new("any");
        cfg.ring = ring;
        cfg.poll = Duration::from_millis(20);
        cfg.kernel_filter = filter
            .kernel_program(LinkType::LinuxSll2)
            .expect("applies")
            .program()
            .map(<[_]>::to_vec);
        let mut cap = LiveCapture::open(&cfg).expect("open any");
        assert_eq!(cap.link_type(), LinkType::LinuxSll2);
        assert_eq!(cap.ring_bytes().is_some(), ring.is_some(), "{ring:?}");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(&[7u8; 20_000], ("127.0.0.1", port))
            .expect("send");
        let mut seen = Vec::new();
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if let Some(p) = cap.next_packet().expect("read") {
                let h = Sll2::parse(p.data).expect("an SLL2 header");
                seen.push((h, p.data.len(), p.orig_len));
            }
        }
        let lo_index = std::fs::read_to_string("/sys/class/net/lo/ifindex")
            .expect("lo's index")
            .trim()
            .parse::<u32>()
            .expect("a number");
        let whole = 20 + 20 + 8 + 20_000;
        assert_eq!(seen.len(), 1, "{ring:?}: {seen:?}");
        let (h, len, orig) = seen[0];
        assert_eq!(
            (h.protocol, h.ifindex, h.hatype, h.pkttype, len, orig),
            (0x0800, lo_index, 772, 0, whole, whole),
            "{ring:?}"
        );
    }
}
