//! socklab: a packet-level protocol explorer for socket-programming courses.
//!
//! Layers, data flowing one way: `cli` (what the user asked) -> `proto`
//! (course protocols on real sockets) using `wire` (pure codecs) and
//! `render` (text for people). `app` wires a command to its implementation.

pub mod app;
pub mod capture;
pub mod cli;
pub mod demo;
pub mod dissector;
pub mod error;
pub mod filter;
pub mod lab;
pub mod plural;
pub mod proto;
pub mod render;
pub mod sniff;
pub mod suggest;
pub mod trace;
pub mod track;
pub mod wire;
pub mod workbench;
