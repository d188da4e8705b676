//! Replays every input that ever made a fuzz target panic
//! (`fuzz/crashes/TARGET/*`, written by `examples/fuzz.rs`), and every
//! target's seeds once: none may panic now.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn every_saved_crash_input_runs_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for t in targets::TARGETS {
        let dir = root.join("fuzz/crashes").join(t);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let data = std::fs::read(e.path()).expect("read crash input");
            targets::run(t, &data);
            replayed += 1;
        }
    }
    // The --orders width crash (issue 13) is in the corpus.
    assert!(replayed >= 1, "no crash inputs found under fuzz/crashes");
}

#[test]
fn every_seed_runs_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for t in targets::TARGETS {
        let seeds = targets::seeds(root, t);
        assert!(!seeds.is_empty(), "{t}: no seeds");
        for s in &seeds {
            targets::run(t, s);
        }
    }
}
