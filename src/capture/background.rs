//! A live capture running on its own thread, for commands that capture
//! while they do something else (the protocol commands' `--sniff`).
//!
//! ```no_run
//! use socklab::capture::background::BackgroundCapture;
//! use socklab::capture::live::LiveConfig;
//! # fn main() -> Result<(), socklab::capture::CaptureError> {
//! let cap = BackgroundCapture::start(&LiveConfig::new("lo"))?; // needs CAP_NET_RAW
//! // ... make socket calls, note their timestamps ...
//! let (packets, stats) = cap.stop()?; // drains what the kernel still holds
//! # let _ = (packets, stats); Ok(()) }
//! ```
//! Packets are copied once into [`OwnedPacket`]s to cross the thread; this
//! is meant for a program's own traffic, not for floods (use
//! [`super::live::LiveCapture`] directly for those).

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::live::{link_type_of, LiveCapture, LiveConfig, StopFlag};
use super::{CaptureError, KernelStats, LinkType, OwnedPacket};

/// After [`BackgroundCapture::stop`], keep draining at most this long.
pub const MAX_DRAIN: Duration = Duration::from_secs(1);

/// A capture thread and the channel its packets arrive on.
#[derive(Debug)]
pub struct BackgroundCapture {
    stop: StopFlag,
    handle: Option<thread::JoinHandle<Result<KernelStats, CaptureError>>>,
    rx: mpsc::Receiver<OwnedPacket>,
    link: LinkType,
}

impl BackgroundCapture {
    /// Open the capture in the calling thread (so a missing privilege is
    /// reported here, and privileges can be dropped right after), then
    /// read it on a new thread.
    pub fn start(cfg: &LiveConfig) -> Result<BackgroundCapture, CaptureError> {
        Self::from_capture(LiveCapture::open(cfg)?)
    }

    /// Run an already opened capture on a new thread.
    pub fn from_capture(cap: LiveCapture) -> Result<BackgroundCapture, CaptureError> {
        let link = cap.link_type();
        Self::spawn(link, move |tx, flag| read_loop(cap, tx, flag))
    }

    /// A capture that opens only once `go` says so (on its own thread, on
    /// `probe` if given: see [`LiveCapture::open_on`]): `ready` then gets
    /// `Ok` or why it could not open. If `go` is dropped
    /// first, or the capture is stopped, it never opens. `socklab trace`
    /// opens the capture at the program's first socket call: a program
    /// that makes none never opens (and closes) a packet socket.
    pub fn deferred(
        cfg: LiveConfig,
        probe: Option<std::os::fd::OwnedFd>,
        go: mpsc::Receiver<()>,
        ready: mpsc::SyncSender<Result<(), String>>,
    ) -> Result<BackgroundCapture, CaptureError> {
        Self::spawn(link_type_of(&cfg.iface), move |tx, flag| {
            loop {
                match go.recv_timeout(Duration::from_millis(50)) {
                    Ok(()) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) if !flag.is_set() => {}
                    Err(_) => return Ok(KernelStats::default()),
                }
            }
            match LiveCapture::open_on(&cfg, probe) {
                Ok(cap) => {
                    let _ = ready.send(Ok(()));
                    read_loop(cap, tx, flag)
                }
                Err(e) => {
                    // Reported through `ready`; the run ends there.
                    let _ = ready.send(Err(format!("cannot capture on {}: {e}", cfg.iface)));
                    Ok(KernelStats::default())
                }
            }
        })
    }

    fn spawn(
        link: LinkType,
        body: impl FnOnce(mpsc::Sender<OwnedPacket>, StopFlag) -> Result<KernelStats, CaptureError>
            + Send
            + 'static,
    ) -> Result<BackgroundCapture, CaptureError> {
        let stop = StopFlag::new();
        let (tx, rx) = mpsc::channel();
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name("socklab-capture".into())
            .spawn(move || body(tx, flag))
            .map_err(|e| CaptureError::os("start the capture thread", &e))?;
        Ok(BackgroundCapture {
            stop,
            handle: Some(handle),
            rx,
            link,
        })
    }

    /// How the packets' bytes are decoded.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The next packet if one is waiting, without blocking.
    pub fn try_next(&self) -> Option<OwnedPacket> {
        self.rx.try_recv().ok()
    }

    /// The next packet, waiting at most `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Option<OwnedPacket> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Stop: the thread reads until the socket has been idle for one poll
    /// interval (at most [`MAX_DRAIN`]), then ends. Returns the packets not
    /// taken yet, in capture order, and the kernel counters.
    pub fn stop(mut self) -> Result<(Vec<OwnedPacket>, KernelStats), CaptureError> {
        self.stop.stop();
        let stats = match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => {
                return Err(CaptureError::Os {
                    what: "capture thread",
                    detail: "it panicked".into(),
                })
            }
            None => KernelStats::default(),
        };
        Ok((self.rx.try_iter().collect(), stats))
    }
}

/// Read `cap` into `tx` until `flag` is set and the socket is idle for one
/// poll interval (at most [`MAX_DRAIN`] after the flag), or nobody listens.
fn read_loop(
    mut cap: LiveCapture,
    tx: mpsc::Sender<OwnedPacket>,
    flag: StopFlag,
) -> Result<KernelStats, CaptureError> {
    let mut stop_seen: Option<Instant> = None;
    loop {
        match cap.next_packet()? {
            // The receiver is gone: nobody wants more packets.
            Some(p) if tx.send(p.to_owned_packet()).is_err() => break,
            Some(_) => {}
            // Idle for one poll interval: everything sent so far was read.
            None if flag.is_set() => break,
            None => {}
        }
        if flag.is_set() {
            let t = *stop_seen.get_or_insert_with(Instant::now);
            if t.elapsed() > MAX_DRAIN {
                break;
            }
        }
    }
    Ok(cap.stats())
}

impl Drop for BackgroundCapture {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>() {}

    #[test]
    fn captures_can_move_to_threads() {
        is_send::<LiveCapture>();
        is_send::<OwnedPacket>();
    }
}
