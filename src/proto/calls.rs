//! Socket calls as events: the protocol code reports each call it makes
//! (`socket()`, `connect()`, `send(12 bytes)`, `shutdown(SHUT_WR)`,
//! `close()`...) to an observer, so `--sniff` and the lab can show them
//! interleaved with the packets they caused.
//!
//! Calls that *cause* packets are reported just before the system call;
//! calls that *return* data (accept, recv) just after. With no observer
//! installed, reporting costs one atomic load and formats nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// Which end of the conversation made the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client.
    Client,
    /// The server.
    Server,
}

impl Side {
    /// `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One reported call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Wall-clock time (the clock kernel packet timestamps use).
    pub at: SystemTime,
    /// Who made it.
    pub side: Side,
    /// The call as a learner would write it: `connect(127.0.0.1:10009)`.
    pub text: String,
}

/// Receives calls as they happen (from any thread).
pub trait Observer: Send + Sync {
    /// One call.
    fn call(&self, call: Call);
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static OBSERVER: OnceLock<Mutex<Option<Arc<dyn Observer>>>> = OnceLock::new();

fn slot() -> &'static Mutex<Option<Arc<dyn Observer>>> {
    OBSERVER.get_or_init(|| Mutex::new(None))
}

/// Start sending calls to `obs` (replaces any previous observer).
pub fn install(obs: Arc<dyn Observer>) {
    if let Ok(mut s) = slot().lock() {
        *s = Some(obs);
        ACTIVE.store(true, Ordering::SeqCst);
    }
}

/// Stop reporting.
pub fn uninstall() {
    ACTIVE.store(false, Ordering::SeqCst);
    if let Ok(mut s) = slot().lock() {
        *s = None;
    }
}

/// True when someone listens (callers may skip building expensive text).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Report a call; `text` is only built when an observer is installed.
pub fn report(side: Side, text: impl FnOnce() -> String) {
    if !active() {
        return;
    }
    let obs = slot().lock().ok().and_then(|s| s.clone());
    if let Some(o) = obs {
        o.call(Call {
            at: SystemTime::now(),
            side,
            text: text(),
        });
    }
}

/// An observer that keeps every call in memory, for `--sniff` and the lab.
#[derive(Debug, Default)]
pub struct Recorder {
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Take every call recorded so far.
    pub fn take(&self) -> Vec<Call> {
        self.calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

impl Observer for Recorder {
    fn call(&self, call: Call) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }
}

/// `AF_INET` / `AF_INET6` for an address.
pub fn family(addr: &std::net::SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "AF_INET"
    } else {
        "AF_INET6"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_sees_calls_in_order_only_when_installed() {
        report(Side::Client, || panic!("must not format when inactive"));
        let r = Recorder::new();
        install(r.clone());
        report(Side::Client, || "connect(127.0.0.1:1)".into());
        report(Side::Server, || "accept() -> 127.0.0.1:2".into());
        uninstall();
        report(Side::Client, || "close()".into());
        let calls = r.take();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].text, "connect(127.0.0.1:1)");
        assert_eq!(calls[1].side, Side::Server);
        assert!(calls[0].at <= calls[1].at);
    }
}
