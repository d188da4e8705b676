//! Ctrl-C (and SIGTERM) handling: the first signal asks every loop to stop
//! and print its summary; a second one exits at once.
//!
//! Loops never block longer than [`TICK`] without looking at [`requested`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);

/// Longest a server loop waits before checking for Ctrl-C.
pub const TICK: Duration = Duration::from_millis(200);

/// Install the handler (idempotent: later calls do nothing).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
}

/// True once Ctrl-C was pressed (or SIGTERM received).
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Sleep up to `d`, waking early if a stop is requested. Returns false if stopped.
pub fn sleep(d: Duration) -> bool {
    let end = std::time::Instant::now() + d;
    loop {
        if requested() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(TICK));
    }
}
