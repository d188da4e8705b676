//! Ctrl-C (and SIGTERM) handling: the first signal asks every loop to stop
//! and print its summary; a second one exits at once.
//!
//! A failed write to stdout (a closed pipe, a full disk) also asks every
//! loop to stop: see [`crate::render::out`].
//!
//! Loops never block longer than [`TICK`] without looking at [`requested`].
//! Nothing here exits the process: `main` registers what a second signal
//! does with [`on_second_signal`] (exit at once with status 130).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNALLED: AtomicBool = AtomicBool::new(false);
static ON_SECOND: OnceLock<fn() -> !> = OnceLock::new();

/// Status of a run ended by a second Ctrl-C (128 + SIGINT), as shells report it.
pub const SECOND_SIGNAL_STATUS: u8 = 130;

/// What a second Ctrl-C or SIGTERM does (`main` passes a function that
/// exits with [`SECOND_SIGNAL_STATUS`]). Starts no thread.
pub fn on_second_signal(f: fn() -> !) {
    let _ = ON_SECOND.set(f);
}

/// Longest a server loop waits before checking for Ctrl-C.
pub const TICK: Duration = Duration::from_millis(200);

/// Install the handler (idempotent: later calls do nothing).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        STOP.store(true, Ordering::SeqCst);
        if SIGNALLED.swap(true, Ordering::SeqCst) {
            if let Some(f) = ON_SECOND.get() {
                f();
            }
        }
    });
}

/// Ask every loop to stop, as a first Ctrl-C does.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

/// True once Ctrl-C was pressed, SIGTERM received, a stop was
/// [`request`]ed, or writing to stdout failed.
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed) || crate::render::out::failed()
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
