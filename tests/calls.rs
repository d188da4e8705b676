//! The protocol code reports its socket calls, in order, to an observer
//! (what `--sniff` and the lab draw next to the packets).

use std::net::SocketAddr;
use std::time::Duration;

use socklab::proto::accept::Style;
use socklab::proto::calls::{self, Recorder, Side};
use socklab::proto::log::Log;
use socklab::proto::{net, tcp_calc_client, tcp_calc_server, udp_calc_client, udp_calc_server};
use socklab::wire::order::Order;
use socklab::wire::udp_calc::Request;

fn lo() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn texts(r: &Recorder, side: Side) -> Vec<String> {
    r.take()
        .into_iter()
        .filter(|c| c.side == side)
        .map(|c| c.text)
        .collect()
}

#[test]
fn calls_are_reported_in_order_for_both_ends() {
    let rec = Recorder::new();
    calls::install(rec.clone());
    let t = Duration::from_secs(3);

    // UDP calculator.
    let sock = net::udp_bind(lo(), true).unwrap();
    let uaddr = sock.local_addr().unwrap();
    let cfg = udp_calc_server::Config {
        bind: uaddr,
        reuseaddr: true,
        order: Order::Native,
        log: Log::new(true),
    };
    std::thread::spawn(move || udp_calc_server::serve_on(sock, &cfg));
    let server_setup = texts(&rec, Side::Server);
    assert_eq!(
        server_setup,
        vec![
            "socket(AF_INET, SOCK_DGRAM)",
            "setsockopt(SO_REUSEADDR, 1)",
            "bind(127.0.0.1:0)"
        ]
    );
    udp_calc_client::ask(&[uaddr], Request { a: 1, b: 2, op: 0 }, Order::Native, t).unwrap();
    let all = rec.take();
    let client: Vec<&str> = all
        .iter()
        .filter(|c| c.side == Side::Client)
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(client[0], "socket(AF_INET, SOCK_DGRAM)");
    assert!(client[1].starts_with(&format!("connect({uaddr})")));
    assert_eq!(
        &client[2..],
        ["send(12 bytes)", "recv() -> 4 bytes", "close()"]
    );
    let server: Vec<&str> = all
        .iter()
        .filter(|c| c.side == Side::Server)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        server[0].starts_with("recvfrom() -> 12 bytes from 127.0.0.1:"),
        "{server:?}"
    );
    assert!(
        server[1].starts_with("sendto(4 bytes, 127.0.0.1:"),
        "{server:?}"
    );
    // Time order: the client's send comes before the server's recvfrom.
    let send_at = all.iter().find(|c| c.text == "send(12 bytes)").unwrap().at;
    let recv_at = all
        .iter()
        .find(|c| c.text.starts_with("recvfrom()"))
        .unwrap()
        .at;
    assert!(send_at <= recv_at);

    // TCP calculator.
    let l = net::tcp_listen(lo(), true, 8).unwrap();
    let taddr = l.local_addr().unwrap();
    let cfg = tcp_calc_server::Config {
        bind: taddr,
        reuseaddr: true,
        style: Style::Iterative,
        idle: t,
        log: Log::new(true),
    };
    std::thread::spawn(move || tcp_calc_server::serve_on(l, &cfg));
    rec.take();
    tcp_calc_client::ask(&[taddr], 5, 8, 1, t).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let all = rec.take();
    let client: Vec<&str> = all
        .iter()
        .filter(|c| c.side == Side::Client)
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        client[..2],
        [
            "socket(AF_INET, SOCK_STREAM)".to_string(),
            format!("connect({taddr})")
        ]
    );
    assert_eq!(
        &client[2..5],
        ["send(2 bytes)", "send(2 bytes)", "send(2 bytes)"]
    );
    assert_eq!(client.last(), Some(&"close()"));
    let server: Vec<&str> = all
        .iter()
        .filter(|c| c.side == Side::Server)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        server[0].starts_with("accept() -> 127.0.0.1:"),
        "{server:?}"
    );
    assert!(
        server.iter().any(|s| s.starts_with("send(4 bytes) to")),
        "{server:?}"
    );
    assert!(
        server.last().unwrap().starts_with("close() 127.0.0.1:"),
        "{server:?}"
    );
    calls::uninstall();
}
