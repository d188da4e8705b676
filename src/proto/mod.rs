//! The course protocols on real sockets: clients and servers, built on the
//! pure codecs in `wire`. Every failure is a `NetError` naming its stage.

pub mod accept;
pub mod calls;
pub mod chat;
pub mod echo_client;
pub mod echo_server;
pub mod get;
pub mod limits;
pub mod log;
pub mod mmsg;
pub mod monitor_client;
pub mod monitor_server;
pub mod net;
pub mod ports;
pub mod resolve;
pub mod sockaddr;
pub mod stats;
pub mod stop;
pub mod sysdb;
pub mod sysstat;
pub mod tcp_calc_client;
pub mod tcp_calc_server;
pub mod udp_calc_client;
pub mod udp_calc_server;
pub mod workers;
