//! Connection threads for the thread-per-connection servers: each
//! connection is served start to end by a thread of its own, and a thread
//! whose client has left waits a moment ([`IDLE_EXIT`]) for the next
//! connection before it ends.
//!
//! Why reuse: under a connection storm (thousands of short connections a
//! second) starting a thread per connection kept the accept loop busy in
//! the kernel (a new stack to clear, a new task to wake, about 30 µs
//! each), and a brand-new thread is queued behind every running one, so a
//! valid client waited tens of milliseconds for its answer. A waiting
//! thread that is handed a connection starts at once. When the storm is
//! over the idle threads end by themselves, so none are left behind.
//!
//! Heavy talkers: a connection that moves more than [`HEAVY_BYTES`] in a
//! second (a flood, a bulk transfer) has its thread lowered to niceness
//! [`HEAVY_NICE`] for the rest of its life ([`Meter`]): it still gets every
//! idle CPU cycle, but a light client's thread is scheduled first, so a
//! few hundred flooding connections cannot make everyone else wait. A
//! thread cannot raise its priority again without privilege, so a lowered
//! thread ends with its connection instead of serving the next one.

use std::collections::VecDeque;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a thread whose client left waits for another one.
pub const IDLE_EXIT: Duration = Duration::from_millis(1000);

/// Bytes a second past which a connection counts as a heavy talker.
pub const HEAVY_BYTES: u64 = 256 * 1024;
/// The niceness a heavy talker's thread is lowered to.
pub const HEAVY_NICE: i32 = 10;

thread_local! {
    /// This thread was lowered: it ends with its connection.
    static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts the bytes a connection moves and lowers its thread's priority
/// once it moves more than [`HEAVY_BYTES`] in a one-second window. Only for
/// connections served by [`Workers::serve`] (the thread then ends with the
/// connection): never on an accept loop's own thread.
#[derive(Debug)]
pub struct Meter {
    window: Instant,
    bytes: u64,
}

impl Default for Meter {
    fn default() -> Self {
        Meter::new()
    }
}

impl Meter {
    /// A fresh count, starting now.
    pub fn new() -> Self {
        Meter {
            window: Instant::now(),
            bytes: 0,
        }
    }

    /// `n` more bytes moved; true when this made the thread a heavy
    /// talker (the caller may log it once).
    pub fn moved(&mut self, n: usize) -> bool {
        if LOWERED.with(|l| l.get()) {
            return false;
        }
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.bytes = 0;
        }
        self.bytes += n as u64;
        if self.bytes <= HEAVY_BYTES {
            return false;
        }
        // SAFETY: plain system calls on this thread's own id.
        let ok = unsafe {
            let tid = libc::gettid() as libc::id_t;
            // Already at or past it (socklab run with `nice`): raising
            // the priority back would need privilege, and is not wanted.
            libc::getpriority(libc::PRIO_PROCESS, tid) >= HEAVY_NICE
                || libc::setpriority(libc::PRIO_PROCESS, tid, HEAVY_NICE) == 0
        };
        LOWERED.with(|l| l.set(true));
        ok
    }
}

/// The log line for a connection that became a heavy talker.
pub fn heavy_note(peer: SocketAddr) -> String {
    format!(
        "{peer} moved more than {} KiB in a second: its thread now runs at niceness {HEAVY_NICE}, so lighter clients are scheduled first (it ends with this connection)",
        HEAVY_BYTES / 1024
    )
}

/// Stack for connection threads: the handlers keep small fixed buffers.
const THREAD_STACK: usize = 128 * 1024;

/// One connection waiting for a thread.
type Job = (Arc<TcpStream>, SocketAddr);

/// The hand-off between the accept loop and the waiting threads.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    waiting: usize,
    /// Connections being served or handed over (for the client cap).
    busy: usize,
    /// Ctrl-C: waiting threads end.
    closing: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running thread and a weak handle on the socket it serves now: enough
/// to wake it on Ctrl-C, without keeping the socket open once the handler
/// drops it (its close() sends the FIN at once).
struct Worker {
    thread: JoinHandle<()>,
    serving: Arc<Mutex<Weak<TcpStream>>>,
}

/// The connection threads of one server.
pub struct Workers<H> {
    handler: Arc<H>,
    shared: Arc<Shared>,
    threads: Vec<Worker>,
    idle_exit: Duration,
}

/// What [`Workers::serve`] did with a connection.
pub enum Handed {
    /// A waiting thread took it.
    Reused,
    /// A new thread serves it.
    Started,
    /// `max` connections are being served: the caller refuses it.
    Full(TcpStream),
    /// No thread could be started (the error says why).
    Failed(std::io::Error),
}

impl<H> Workers<H>
where
    H: Fn(Arc<TcpStream>, SocketAddr) + Send + Sync + 'static,
{
    /// No threads yet; each will run `handler` for its connections.
    pub fn new(handler: H) -> Self {
        Self::with_idle_exit(handler, IDLE_EXIT)
    }

    /// As [`Workers::new`], idle threads ending after `idle_exit`.
    pub fn with_idle_exit(handler: H, idle_exit: Duration) -> Self {
        Workers {
            handler: Arc::new(handler),
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                ready: Condvar::new(),
            }),
            threads: Vec::new(),
            idle_exit,
        }
    }

    /// Serve `stream` on the calling thread (the iterative style).
    pub fn serve_here(&self, stream: TcpStream, peer: SocketAddr) {
        (self.handler)(Arc::new(stream), peer);
    }

    /// Connections being served now.
    pub fn busy(&self) -> usize {
        self.shared.lock().busy
    }

    /// Serve `stream` on a waiting thread or a new one, unless `max`
    /// connections are already being served.
    pub fn serve(&mut self, stream: TcpStream, peer: SocketAddr, max: usize) -> Handed {
        let stream = {
            let mut q = self.shared.lock();
            if q.busy >= max {
                return Handed::Full(stream);
            }
            q.busy += 1;
            let stream = Arc::new(stream);
            if q.waiting > q.jobs.len() {
                q.jobs.push_back((stream, peer));
                drop(q);
                self.shared.ready.notify_one();
                return Handed::Reused;
            }
            stream
        };
        let serving = Arc::new(Mutex::new(Arc::downgrade(&stream)));
        let (h, shared, slot, idle) = (
            Arc::clone(&self.handler),
            Arc::clone(&self.shared),
            Arc::clone(&serving),
            self.idle_exit,
        );
        let spawned = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || run(h, shared, slot, idle, (stream, peer)));
        match spawned {
            Ok(thread) => {
                self.threads.push(Worker { thread, serving });
                Handed::Started
            }
            Err(e) => {
                self.shared.lock().busy -= 1;
                Handed::Failed(e)
            }
        }
    }

    /// Join the threads that have ended; returns how many are left.
    pub fn reap(&mut self) -> usize {
        let mut i = 0;
        while i < self.threads.len() {
            if self.threads[i].thread.is_finished() {
                let w = self.threads.swap_remove(i);
                let _ = w.thread.join();
            } else {
                i += 1;
            }
        }
        self.threads.len()
    }

    /// Ctrl-C: shut every connection down, end the waiting threads and
    /// join them all, for at most `limit`. Returns how many were still
    /// running after it.
    pub fn close(&mut self, limit: Duration) -> usize {
        self.shared.lock().closing = true;
        self.shared.ready.notify_all();
        for w in &self.threads {
            let serving = w.serving.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = serving.upgrade() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        let end = Instant::now() + limit;
        while self.reap() > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.threads.len()
    }
}

/// One connection's share of [`Queue::busy`], given back when dropped.
struct BusySlot<'a>(&'a Shared);

impl Drop for BusySlot<'_> {
    fn drop(&mut self) {
        self.0.lock().busy -= 1;
    }
}

/// A connection thread: serve, then wait for the next connection.
fn run<H>(
    handler: Arc<H>,
    shared: Arc<Shared>,
    serving: Arc<Mutex<Weak<TcpStream>>>,
    idle_exit: Duration,
    first: Job,
) where
    H: Fn(Arc<TcpStream>, SocketAddr),
{
    let mut job = first;
    loop {
        let (stream, peer) = job;
        {
            // Gives the client slot back even if the handler panics.
            let _slot = BusySlot(&shared);
            handler(stream, peer);
        }
        let mut q = shared.lock();
        if LOWERED.with(|l| l.get()) {
            // Lowered for its heavy talker: the next client gets a thread
            // at the normal priority.
            return;
        }
        q.waiting += 1;
        let end = Instant::now() + idle_exit;
        let next = loop {
            // A job is taken even after a timeout or Ctrl-C: it was handed
            // over because this thread counted as waiting.
            if let Some(j) = q.jobs.pop_front() {
                // Named under the queue's lock: Ctrl-C's close() sets
                // `closing` under it too, then shuts the named ones down,
                // so one of the two always sees this connection.
                *serving.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(&j.0);
                if q.closing {
                    let _ = j.0.shutdown(Shutdown::Both);
                }
                break Some(j);
            }
            let now = Instant::now();
            if q.closing || now >= end {
                break None;
            }
            q = shared
                .ready
                .wait_timeout(q, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        q.waiting -= 1;
        match next {
            Some(j) => job = j,
            // No connection came: this thread ends.
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A connected pair: (client side, server side, server's peer address).
    fn pair(l: &TcpListener) -> (TcpStream, TcpStream, SocketAddr) {
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, peer) = l.accept().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (c, s, peer)
    }

    fn echo_once(s: Arc<TcpStream>, _: SocketAddr) {
        let mut b = [0u8; 16];
        let mut r = &*s;
        if let Ok(n) = r.read(&mut b) {
            let _ = r.write_all(&b[..n]);
        }
    }

    fn wait_until(mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_thread_whose_client_left_serves_the_next_and_idle_threads_end() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let mut w = Workers::with_idle_exit(echo_once, Duration::from_secs(3));
        for i in 0..20u8 {
            let (mut c, s, peer) = pair(&l);
            match w.serve(s, peer, 4) {
                Handed::Started => {
                    started.fetch_add(1, Ordering::SeqCst);
                }
                Handed::Reused => {}
                _ => panic!("not served"),
            }
            c.write_all(&[i]).unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i);
            // The handler is done: its thread waits for the next one.
            wait_until(|| w.busy() == 0);
        }
        // One after the other: one thread served them all.
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert_eq!(w.reap(), 1);
        // Nobody comes: it ends by itself.
        wait_until(|| w.reap() == 0);
    }

    fn niceness() -> i32 {
        // SAFETY: plain system call on this thread's own id.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn a_heavy_talkers_thread_is_lowered_and_not_reused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        // The handler moves more than HEAVY_BYTES at once, then reports
        // its thread's niceness.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        let mut w = Workers::with_idle_exit(
            move |s: Arc<TcpStream>, _| {
                let mut m = Meter::new();
                let before = niceness();
                assert!(!m.moved(1000), "light");
                let lowered = m.moved(HEAVY_BYTES as usize);
                assert!(!m.moved(1), "told once");
                s2.lock().unwrap().push((before, lowered, niceness()));
                let _ = (&*s).write_all(b"x");
            },
            Duration::from_secs(5),
        );
        let mut started = 0;
        for _ in 0..2 {
            let (mut c, s, peer) = pair(&l);
            if matches!(w.serve(s, peer, 4), Handed::Started) {
                started += 1;
            }
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            wait_until(|| w.busy() == 0);
            // The lowered thread ends instead of waiting for the next.
            wait_until(|| w.reap() == 0);
        }
        assert_eq!(started, 2, "a lowered thread is not reused");
        let seen = seen.lock().unwrap();
        let base = seen[0].0;
        for (before, lowered, after) in seen.iter() {
            assert_eq!(*before, base, "a new thread starts at the normal priority");
            assert!(*lowered);
            assert_eq!(*after, HEAVY_NICE.max(base), "{seen:?}");
        }
    }

    #[test]
    fn a_panicking_handler_gives_its_client_slot_back() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut w =
            Workers::new(|_: Arc<TcpStream>, _| panic!("handler bug (expected by the test)"));
        for _ in 0..3 {
            let (_c, s, peer) = pair(&l);
            assert!(matches!(w.serve(s, peer, 1), Handed::Started));
            wait_until(|| w.busy() == 0);
            wait_until(|| w.reap() == 0);
        }
    }

    #[test]
    fn ctrl_c_shuts_down_a_connection_handed_to_a_waiting_thread() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut w = Workers::with_idle_exit(echo_once, Duration::from_secs(30));
        // One thread serves a client, which leaves: the thread waits.
        let (mut c, s, peer) = pair(&l);
        assert!(matches!(w.serve(s, peer, 4), Handed::Started));
        c.write_all(b"a").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        wait_until(|| w.busy() == 0);
        // A silent client handed to it, then Ctrl-C at once: whichever
        // comes first, the connection is shut down and the thread joined.
        let (mut c2, s2, peer2) = pair(&l);
        assert!(matches!(w.serve(s2, peer2, 4), Handed::Reused));
        let began = Instant::now();
        assert_eq!(w.close(Duration::from_secs(5)), 0);
        assert!(began.elapsed() < Duration::from_secs(2));
        assert_eq!(c2.read(&mut b).unwrap(), 0, "closed by the server");
    }

    #[test]
    fn at_most_max_connections_are_served_at_once() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut w = Workers::new(echo_once);
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (c, s, peer) = pair(&l);
            assert!(matches!(w.serve(s, peer, 3), Handed::Started));
            clients.push(c);
        }
        let (_c, s, peer) = pair(&l);
        assert!(matches!(w.serve(s, peer, 3), Handed::Full(_)));
        assert_eq!(w.busy(), 3);
        // Ctrl-C: the connections are shut down, every thread joined.
        assert_eq!(w.close(Duration::from_secs(5)), 0);
        for mut c in clients {
            let mut b = [0u8; 1];
            assert_eq!(c.read(&mut b).unwrap(), 0, "closed by the server");
        }
    }
}
