//! The course protocols on real sockets: clients and servers, built on the
//! pure codecs in `wire`. Every failure is a `NetError` naming its stage.

pub mod log;
pub mod net;
pub mod stop;
