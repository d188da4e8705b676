//! Test helpers: ephemeral ports, servers as child processes that are always
//! killed, commands run with a time limit, and output collected line by line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The socklab binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_socklab"))
}

/// The Python reference peers: `shared/peers` beside the checkout, or
/// beside one of its parent folders (a worktree under `wt/NAME`).
pub fn peer(name: &str) -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = repo
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/peers"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| repo.join("../shared/peers"));
    dir.join(name)
}

/// True when this run is CI: `CI` is set to anything but "", "0" or "false".
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A test's prerequisite (root, python3, tcpdump, tshark, user namespaces...)
/// is missing. Outside CI: print why the test is skipped; the caller returns.
/// Under CI (`CI` set): fail with the reason, because `.ci/run` installs
/// everything and runs as root, so a skip there would hide a broken setup.
pub fn skip(reason: &str) {
    skip_as(in_ci(), reason);
}

/// True if `tool ARG` runs and succeeds (e.g. `tcpdump --version`); else
/// [`skip`]s with the reason (a failure under CI).
pub fn have_tool(tool: &str, arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(&format!(
            "{tool} is not installed (the CI installs it: .ci/run)"
        ));
    }
    ok
}

/// [`skip`] with the CI answer given (so the policy itself can be tested).
pub fn skip_as(ci: bool, reason: &str) {
    if ci {
        panic!(
            "prerequisite missing under CI (CI is set, so this is a failure, not a skip): {reason}"
        );
    }
    eprintln!("SKIPPED: {reason}");
}

/// The real Python interpreter (`sys.executable` of `python3` on PATH),
/// asked once: `python3` on PATH may be a wrapper (a pyenv shim is a bash
/// script that forks helpers before it execs the interpreter), and tests
/// that trace or time a program must not depend on which one is there.
/// `"python3"` itself when it cannot be asked.
pub fn python3() -> &'static str {
    static PY: OnceLock<String> = OnceLock::new();
    PY.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| !p.is_empty() && std::path::Path::new(p).is_file())
            .unwrap_or_else(|| "python3".into())
    })
}

/// True if python3 and the shared peers are here; otherwise [`skip`] says why.
pub fn have_python_peers() -> bool {
    let ok = Command::new(python3())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        skip("python3 is not installed (.ci/run installs it)");
        return false;
    }
    if !peer("udp_calc_server.py").exists() {
        skip("shared/peers (the Python reference peers) is not beside this checkout");
        return false;
    }
    true
}

/// True if this process may capture packets (CAP_NET_RAW); otherwise [`skip`]
/// says why the calling test is skipped.
pub fn can_capture() -> bool {
    let ok = socklab::capture::live::can_capture();
    if !ok {
        skip("this test needs CAP_NET_RAW to open an AF_PACKET socket (run as root)");
    }
    ok
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral TCP port")
}

/// A free UDP port on 127.0.0.1 (bound then released).
pub fn udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("ephemeral UDP port")
}

/// A running server whose stdout+stderr lines are collected; killed on drop.
pub struct Server {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The threads collecting stdout and stderr (done at end of stream).
    readers: Vec<std::thread::JoinHandle<()>>,
    is_socklab: bool,
}

impl Server {
    /// Start `program args`, wait until a line contains `ready` (max 10 s).
    pub fn start(program: impl Into<PathBuf>, args: &[&str], ready: &str) -> Server {
        Server::spawn(program.into(), args, ready, false)
    }

    /// Like [`Server::start`], in a process group of its own whose parent
    /// (this test) is in the same session, so the group is never orphaned
    /// however the suite was started (setsid, CI): the kernel discards
    /// SIGTSTP, SIGTTIN and SIGTTOU sent to an orphaned group's processes.
    pub fn start_own_group(program: impl Into<PathBuf>, args: &[&str], ready: &str) -> Server {
        Server::spawn(program.into(), args, ready, true)
    }

    fn spawn(program: PathBuf, args: &[&str], ready: &str, own_group: bool) -> Server {
        use std::os::unix::process::CommandExt;
        let is_socklab = program == bin();
        let mut cmd = Command::new(program);
        if own_group {
            cmd.process_group(0);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("PYTHONUNBUFFERED", "1")
            .spawn()
            .expect("spawn server");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let l = Arc::clone(&lines);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    l.lock().unwrap().push(line);
                }
            }));
        }
        let s = Server {
            child,
            lines,
            readers,
            is_socklab,
        };
        s.wait_for(ready, Duration::from_secs(10));
        s
    }

    /// Start socklab with `args`, ready when it says it is listening.
    pub fn socklab(args: &[&str]) -> Server {
        Server::start(bin(), args, "listening on")
    }

    /// Start a Python peer with its port.
    pub fn python(script: &str, port: u16) -> Server {
        let p = port.to_string();
        let path = peer(script);
        Server::start(
            python3(),
            &[path.to_str().expect("utf-8 path"), p.as_str()],
            "ready",
        )
    }

    /// Every line so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Wait until some line contains `needle`; panic with the output if not.
    pub fn wait_for(&self, needle: &str, limit: Duration) {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(needle))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no line containing {needle:?} within {limit:?}; output:\n{}",
            self.output()
        );
    }

    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/PID/status` in its first number (VmHWM, Threads...).
    pub fn status_field(&self, name: &str) -> u64 {
        let text =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc status");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc status"))
    }

    /// Open descriptors of the process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// True if the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Send SIGINT (Ctrl-C) and wait for the exit code (max 5 s).
    pub fn interrupt(&mut self) -> Option<i32> {
        self.signal("INT")
    }

    /// Send the signal named `sig` (`INT`, `TERM`...) and wait for the exit
    /// code (max 5 s).
    pub fn signal(&mut self, sig: &str) -> Option<i32> {
        self.signal_within(sig, Duration::from_secs(5))
    }

    /// [`Server::signal`], waiting at most `limit` for the exit.
    pub fn signal_within(&mut self, sig: &str, limit: Duration) -> Option<i32> {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                // The reader threads end at end of stream: wait (bounded)
                // until they have collected the last lines. A fixed pause
                // lost a server's closing line on a busy machine.
                while !self.readers.iter().all(|r| r.is_finished()) && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.is_socklab {
            keep_output(&["(server)"], self.output().as_bytes(), b"\n");
        }
    }
}

/// Run a program with a time limit (killed after it); returns its output.
/// stdout and stderr are drained while it runs, so any amount fits.
pub fn run_limited(program: impl Into<PathBuf>, args: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new(program.into());
    cmd.args(args);
    run_command_limited(cmd, limit)
}

/// [`run_limited`] for a command the caller prepared (its environment, its
/// working directory): stdin is null, stdout and stderr are piped and
/// drained while it runs, and it is killed after `limit`.
pub fn run_command_limited(mut cmd: Command, limit: Duration) -> Output {
    let is_socklab = cmd.get_program() == bin().as_os_str();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let end = Instant::now() + limit;
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    if is_socklab {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        keep_output(&args, &output.stdout, &output.stderr);
    }
    output
}

/// Where the outputs of this test binary's runs are kept, for tests that
/// check wording across the whole suite (tests/wording.rs): one file per
/// test binary, started afresh by each run of it.
pub fn outputs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("socklab-outputs")
}

/// Append one run's command line and output to this binary's file.
pub fn keep_output(args: &[&str], stdout: &[u8], stderr: &[u8]) {
    use std::io::Write;
    static FILE: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = outputs_dir();
        std::fs::create_dir_all(&dir).ok()?;
        let exe = std::env::current_exe().ok()?;
        // Test binaries are named NAME-HASH: one file per NAME.
        let stem = exe.file_stem()?.to_string_lossy().into_owned();
        let name = stem
            .rsplit_once('-')
            .map_or(stem.as_str(), |(n, _)| n)
            .to_string();
        std::fs::File::create(dir.join(format!("{name}.log")))
            .ok()
            .map(Mutex::new)
    });
    if let Some(f) = file {
        if let Ok(mut f) = f.lock() {
            let _ = writeln!(f, "$ socklab {}", args.join(" "));
            let _ = f.write_all(stdout);
            let _ = f.write_all(stderr);
        }
    }
}

/// Run socklab with `args` (limit 20 s).
pub fn socklab(args: &[&str]) -> Output {
    run_limited(bin(), args, Duration::from_secs(20))
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last non-empty stdout line.
pub fn last_line(o: &Output) -> String {
    stdout(o)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Assert a failure that teaches: non-zero exit, the expected text, no panic
/// and no Rust debug formatting.
pub fn assert_teaching_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure; stderr:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    for bad in ["panicked", "RUST_BACKTRACE", "Os {", "kind:", "Custom {"] {
        assert!(!err.contains(bad), "stderr shows {bad:?}:\n{err}");
    }
}

/// Accept one connection within `limit` (so a test thread can never hang).
pub fn accept_within(l: &TcpListener, limit: Duration) -> std::net::TcpStream {
    l.set_nonblocking(true).expect("nonblocking listener");
    let end = Instant::now() + limit;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking stream");
                s.set_read_timeout(Some(limit)).expect("read timeout");
                s.set_write_timeout(Some(limit)).expect("write timeout");
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("no connection within {limit:?}: {e}"),
        }
    }
}
