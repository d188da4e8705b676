//! `socklab demo`: both ends of two course protocols in one process, on
//! ephemeral loopback ports, so a new user sees a full exchange with one
//! command and no set-up. Server lines and client lines interleave.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;

use crate::proto::accept::Style;
use crate::proto::log::Log;
use crate::proto::{net, tcp_calc_client, tcp_calc_server, udp_calc_client, udp_calc_server};
use crate::render::out;
use crate::wire::order::Order;
use crate::wire::udp_calc::Request;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Run the demo: UDP calculator in native and network order, then TCP calculator.
pub fn run() -> Result<()> {
    let timeout = Duration::from_secs(3);
    let udp = net::udp_bind(loopback(), false)?;
    let uaddr = udp.local_addr()?;
    let ucfg = udp_calc_server::Config {
        bind: uaddr,
        reuseaddr: false,
        order: Order::Native,
        log: Log::new(false),
    };
    std::thread::spawn(move || udp_calc_server::serve_on(udp, &ucfg));
    let tcp = net::tcp_listen(loopback(), true, 16)?;
    let taddr = tcp.local_addr()?;
    let tcfg = tcp_calc_server::Config {
        bind: taddr,
        reuseaddr: true,
        style: Style::Iterative,
        idle: timeout,
        log: Log::new(false),
    };
    std::thread::spawn(move || tcp_calc_server::serve_on(tcp, &tcfg));
    std::thread::sleep(Duration::from_millis(50));

    out::line("\n== 1. UDP calculator, request packed in native order (Python's \"III\")");
    let req = Request {
        a: 10,
        b: 500,
        op: 0,
    };
    udp_calc_client::ask(&[uaddr], req, Order::Native, timeout)?;
    out::line("\n== 2. a request packed in network order (\"!III\") sent to a native-order server");
    out::line("   (watch what the server reads: 10 becomes 167772160, and the carry lands in the wrong byte)");
    udp_calc_client::ask(
        &[uaddr],
        Request {
            a: 10,
            b: 250,
            op: 0,
        },
        Order::Big,
        timeout,
    )?;
    out::line("\n== 3. TCP calculator: NUL-terminated numbers, reply \"res\\0\\0\"");
    tcp_calc_client::ask(&[taddr], 5, 8, 1, timeout)?;
    std::thread::sleep(Duration::from_millis(50));
    out::line("\nNext: run a server yourself (socklab udp-calc serve) and your own Python client against it.");
    Ok(())
}
