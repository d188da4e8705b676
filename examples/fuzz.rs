//! A small mutation fuzzer on stable Rust for socklab's parsers of
//! untrusted bytes (targets in `fuzz/targets.rs`): it starts from the
//! project's capture files and tables, mutates (bit flips, interesting
//! values, inserts, deletes, splices, duplicated chunks, cuts), runs each
//! input under `catch_unwind`, and saves every input that panicked to
//! `fuzz/crashes/TARGET/` (replayed by `cargo test --test fuzz_crashes`).
//!
//! usage: cargo run --profile fuzz --example fuzz -- [TARGET|all] [--seconds N] [--seed S]
//!
//! The `fuzz` profile is release with overflow checks and debug
//! assertions on. Exit status 1 if any input panicked.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Largest input the mutator makes.
const MAX_LEN: usize = 1 << 16;

const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'\n', b'0', b'9', b'(', b')', b' '];

fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, pool: &[Vec<u8>]) {
    for _ in 0..rng.random_range(1..=8) {
        let len = input.len();
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = INTERESTING[rng.random_range(0..INTERESTING.len())];
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = rng.random();
            }
            3 if len < MAX_LEN => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                input.splice(i..i, bytes);
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=64)).min(len);
                input.drain(a..b);
            }
            5 if !pool.is_empty() => {
                let other = &pool[rng.random_range(0..pool.len())];
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let b = (a + rng.random_range(1..=256)).min(other.len());
                    let at = rng.random_range(0..=len);
                    input.splice(at..at, other[a..b].iter().copied());
                }
            }
            6 if len > 0 && len < MAX_LEN / 2 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=64)).min(len);
                let chunk: Vec<u8> = input[a..b].to_vec();
                let at = rng.random_range(0..=len);
                for _ in 0..rng.random_range(1..=8) {
                    input.splice(at..at, chunk.iter().copied());
                }
            }
            7 if len > 0 => input.truncate(rng.random_range(0..len)),
            8 if len >= 2 => {
                // A 16-bit length field set to something extreme.
                let i = rng.random_range(0..len - 1);
                let v: u16 = [0, 1, 0xff, 0x100, 0x7fff, 0xffff][rng.random_range(0..6)];
                input[i..i + 2].copy_from_slice(&v.to_be_bytes());
            }
            _ => {}
        }
    }
    input.truncate(MAX_LEN);
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Fuzz one target for `secs`; returns (executions, panics).
fn fuzz(root: &Path, target: &str, secs: f64, seed: u64) -> (u64, u64) {
    let seeds = targets::seeds(root, target);
    let mut pool = seeds.clone();
    let mut rng = StdRng::seed_from_u64(seed ^ fnv(target.as_bytes()));
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let crash_dir: PathBuf = root.join("fuzz/crashes").join(target);
    let (mut execs, mut crashes) = (0u64, 0u64);
    // Every seed once, unmutated.
    for s in &seeds {
        if panic::catch_unwind(AssertUnwindSafe(|| targets::run(target, s))).is_err() {
            crashes += 1;
            save(&crash_dir, s);
        }
        execs += 1;
    }
    while Instant::now() < end {
        for _ in 0..64 {
            let mut input = pool[rng.random_range(0..pool.len())].clone();
            mutate(&mut rng, &mut input, &seeds);
            execs += 1;
            if panic::catch_unwind(AssertUnwindSafe(|| targets::run(target, &input))).is_err() {
                crashes += 1;
                save(&crash_dir, &input);
            } else if rng.random_ratio(1, 256) && pool.len() < 4096 {
                // Keep a few mutants as new starting points (no coverage
                // feedback: a dumb fuzzer, but deeper than seeds alone).
                pool.push(input);
            }
        }
    }
    (execs, crashes)
}

fn save(dir: &Path, input: &[u8]) {
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("crash-{:016x}.bin", fnv(input)));
    match std::fs::write(&path, input) {
        Ok(()) => eprintln!("  panic: input saved to {}", path.display()),
        Err(e) => eprintln!("  panic: cannot save {}: {e}", path.display()),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut which, mut secs, mut seed) = ("all".to_string(), 30.0f64, 13u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => secs = args.next().and_then(|s| s.parse().ok()).unwrap_or(secs),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            t => which = t.to_string(),
        }
    }
    let names: Vec<&str> = if which == "all" {
        targets::TARGETS.to_vec()
    } else if targets::TARGETS.contains(&which.as_str()) {
        vec![which.as_str()]
    } else {
        eprintln!(
            "unknown target {which:?}; one of: all {}",
            targets::TARGETS.join(" ")
        );
        return ExitCode::from(2);
    };
    // Panics are counted and saved; their messages are shown once each.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        eprintln!("fuzz: {info}");
        let _ = &default_hook;
    }));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total_crashes = 0;
    for t in names {
        let began = Instant::now();
        let (execs, crashes) = fuzz(root, t, secs, seed);
        let rate = execs as f64 / began.elapsed().as_secs_f64().max(1e-9);
        println!("fuzz {t:<9} {execs:>10} executions ({rate:.0}/s), {crashes} panics");
        total_crashes += crashes;
    }
    if total_crashes > 0 {
        eprintln!("fuzz: {total_crashes} panicking inputs saved under fuzz/crashes/; fix them and keep the files (cargo test replays them)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
