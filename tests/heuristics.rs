//! Course protocols recognised by how a conversation goes (issue 12,
//! point 2): on any port, on by default, off with `--no-heuristics`, each
//! recognition explained with `-v`, and nothing recognised where nothing
//! should be.

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::path::Path;
use std::time::Duration;

use capfiles::*;
use common::*;

/// The `-v` recognition lines of `socklab replay FILE -v`.
fn recognitions(file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["replay", file.to_str().unwrap(), "-v", "--color", "never"];
    args.extend_from_slice(extra);
    let o = run_limited(bin(), &args, Duration::from_secs(30));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("-- recognised port "))
        .map(str::to_string)
        .collect()
}

fn course_lines(file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["replay", file.to_str().unwrap(), "--color", "never"];
    args.extend_from_slice(extra);
    let o = run_limited(bin(), &args, Duration::from_secs(30));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(".. "))
        .map(str::to_string)
        .collect()
}

#[test]
fn recognitions_on_every_capture_in_the_repository_are_exactly_the_true_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The fixtures hold a tcp-calc server on 47009 and a udp-calc server on
    // 47010 (tests/fixtures/make.sh); captures/ is on the course ports
    // (decoded by port, so nothing to recognise) apart from the HTTP lesson.
    let fixture = vec![
        "47009 as tcp-calc: 3 NUL-terminated numbers answered by N\\x00\\x00".to_string(),
        "47010 as udp-calc: 12-byte request, 4-byte reply carrying a+b".to_string(),
    ];
    let mut checked = 0;
    for path in repository_captures() {
        let rel = path.strip_prefix(root).expect("in the repository");
        let dir = rel.parent().unwrap().to_string_lossy().to_string();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let want: Vec<String> = match (dir.as_str(), name.as_str()) {
            ("tests/fixtures", _) => fixture.clone(),
            (_, "get-half-close.pcap") => {
                vec!["8000 as http: GET request line answered by a status line".to_string()]
            }
            _ => Vec::new(),
        };
        assert_eq!(recognitions(&path, &[]), want, "{dir}/{name}");
        assert_eq!(
            recognitions(&path, &["--no-heuristics"]),
            Vec::<String>::new(),
            "{dir}/{name} with --no-heuristics"
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} files checked");
}

fn udp_calc_request(a: u32, b: u32, op: u32) -> Vec<u8> {
    [a, b, op].iter().flat_map(|v| v.to_ne_bytes()).collect()
}

#[test]
fn each_course_protocol_on_another_port_is_recognised_in_replay() {
    let record = {
        let mut r = "Hostname:pc Carga de CPU: 1.0% Memória Disponível: 2.0%"
            .as_bytes()
            .to_vec();
        r.resize(67, b' ');
        r
    };
    let ip = [
        // udp-calc on 21011: the first exchange teaches, the second is decoded.
        ip_udp(40000, 21011, &udp_calc_request(2, 3, 0)),
        ip_udp(21011, 40000, &5u32.to_ne_bytes()),
        ip_udp(40000, 21011, &udp_calc_request(9, 4, 1)),
        ip_udp(21011, 40000, &5u32.to_ne_bytes()),
        // tcp-calc on 21009.
        ip_tcp(40001, 21009, 1, 1, PSH | ACK, b"5\x008\x000\x00"),
        ip_tcp(21009, 40001, 1, 7, PSH | ACK, b"13\0\0"),
        // monitor on 21500: a whole record, then one in two pieces.
        ip_tcp(40002, 21500, 1, 1, PSH | ACK, &record),
        ip_tcp(40002, 21500, 68, 1, PSH | ACK, &record[..30]),
        // echo on 21000.
        ip_tcp(40003, 21000, 1, 1, PSH | ACK, b"hello, echo"),
        ip_tcp(21000, 40003, 1, 12, PSH | ACK, b"hello, echo"),
        ip_tcp(40003, 21000, 12, 12, PSH | ACK, b"again"),
    ];
    let frames: Vec<Vec<u8>> = ip.iter().map(|p| wrap(1, p, false)).collect();
    let dir = temp_dir("heuristics-ports");
    let file = dir.join("other-ports.pcap");
    std::fs::write(&file, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    assert_eq!(
        recognitions(&file, &[]),
        vec![
            "21011 as udp-calc: 12-byte request, 4-byte reply carrying a+b",
            "21009 as tcp-calc: 3 NUL-terminated numbers answered by N\\x00\\x00",
            "21500 as monitor: 67-byte Hostname: record",
            "21000 as echo: the answer repeats the 11 bytes sent",
        ]
    );
    let lines = course_lines(&file, &[]);
    for want in [
        "udp-calc reply: result 5",
        "udp-calc request: a=9 b=4 op=1 (subtract) = 5",
        "tcp-calc reply: 13",
        "monitor record: host pc cpu 1.0% memory available 2.0%",
        "monitor stream: 30 bytes",
        "echo reply: \"hello, echo\"",
        "echo: \"again\"",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "no {want:?} in {lines:?}"
        );
    }
    // The monitor record is recognised by its shape even without heuristics;
    // nothing else is.
    assert_eq!(
        course_lines(&file, &["--no-heuristics"]),
        vec!["monitor record: host pc cpu 1.0% memory available 2.0%"]
    );
}

#[test]
fn sniff_recognises_tcp_calc_on_an_ephemeral_port() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let p = port.to_string();
    let at = format!("127.0.0.1:{port}");
    let sniffer = Server::start(
        bin(),
        &["sniff", "-v", "--color", "never", "port", &p],
        "listening on",
    );
    let _server = Server::socklab(&["tcp-calc", "serve", "--bind", &at]);
    for (a, b) in [("5", "8"), ("7", "1")] {
        let o = socklab(&["tcp-calc", "ask", a, b, "add", "--to", &at]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let limit = Duration::from_secs(20);
    sniffer.wait_for(
        &format!("-- recognised port {port} as tcp-calc: 3 NUL-terminated numbers"),
        limit,
    );
    sniffer.wait_for(".. tcp-calc reply: 8", limit);
}

#[test]
fn the_get_lesson_is_decoded_as_http() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/get-half-close.pcap");
    // Recognised at the response (the request went before the evidence).
    // The body, in the next segment, is counted against Content-Length.
    assert_eq!(
        course_lines(&file, &[]),
        vec![
            "http response: HTTP/1.0 200 OK (5 headers); Content-Length 237, 0 body bytes here",
            "http body: 237 bytes here, 237 so far of 237 (Content-Length): complete"
        ]
    );
    // Told, the request is decoded too.
    assert_eq!(
        course_lines(&file, &["--decode", "8000=http"]),
        vec![
            "http request: GET /README.md HTTP/1.0 (0 headers)",
            "http response: HTTP/1.0 200 OK (5 headers); Content-Length 237, 0 body bytes here",
            "http body: 237 bytes here, 237 so far of 237 (Content-Length): complete"
        ]
    );
}
