//! The fuzz targets' bodies (`platc::fuzzing`) in `cargo test`: every seed of `fuzz/seeds.txt`
//! and every input a fuzzer crashed on (`fuzz/regressions/<target>/`, one file per finding,
//! kept after the fix) goes through the same function the fuzzer calls, so a finding cannot
//! come back unnoticed and a seed that breaks an invariant fails here before any fuzzing.

use std::path::{Path, PathBuf};

/// Seeds over this size are left out of the corpora (`.ci/fuzz` uses the same limit).
const MAX_SEED_BYTES: u64 = 64 * 1024;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Repository-relative files, sorted, that `glob` (of `fuzz/seeds.txt`) matches.
fn matching(glob: &str) -> Vec<String> {
    let pattern: Vec<&str> = glob.split('/').collect();
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(repo()).sort_by_file_name() {
        let e = e.expect("the repository is readable");
        let Ok(rel) = e.path().strip_prefix(repo()) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.starts_with("target") || rel.starts_with(".git") || !e.file_type().is_file() {
            continue;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let small = e.metadata().is_ok_and(|m| m.len() <= MAX_SEED_BYTES);
        if small && platc::discover::glob_match(&pattern, &parts) {
            out.push(rel);
        }
    }
    out
}

/// `(target, seed file)` for every line of `fuzz/seeds.txt` and every regression file.
fn seeds() -> Vec<(String, PathBuf)> {
    let list = std::fs::read_to_string(repo().join("fuzz/seeds.txt")).expect("fuzz/seeds.txt");
    let mut out = Vec::new();
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (target, glob) = line
            .split_once(char::is_whitespace)
            .expect("`<target> <glob>`");
        let files = matching(glob.trim());
        assert!(
            !files.is_empty(),
            "`{line}` of fuzz/seeds.txt matches no file"
        );
        out.extend(
            files
                .into_iter()
                .map(|f| (target.to_string(), repo().join(f))),
        );
    }
    out
}

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = repo().join("fuzz/regressions").join(target);
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = read.flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

fn run(target: &str, file: &Path) {
    let body = platc::fuzzing::target(target).unwrap_or_else(|| panic!("no target `{target}`"));
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    // A panic's message names the target and file, for the one who has to fix it.
    let outcome = std::panic::catch_unwind(|| body(&data));
    assert!(
        outcome.is_ok(),
        "fuzz target `{target}` fails on {}",
        file.display()
    );
}

#[test]
fn every_target_has_seeds_and_every_seed_holds_its_invariants() {
    let seeds = seeds();
    for (target, _) in platc::fuzzing::TARGETS {
        assert!(
            seeds.iter().any(|(t, _)| t == target),
            "fuzz target `{target}` has no seed in fuzz/seeds.txt"
        );
    }
    // The slow target (an evaluation per seed) in parallel with the others.
    let (platform, others): (Vec<_>, Vec<_>) = seeds.iter().partition(|(t, _)| t == "platform");
    std::thread::scope(|s| {
        s.spawn(|| platform.iter().for_each(|(t, f)| run(t, f)));
        others.iter().for_each(|(t, f)| run(t, f));
    });
}

#[test]
fn every_fuzz_finding_stays_fixed() {
    let dir = repo().join("fuzz/regressions");
    for e in std::fs::read_dir(&dir).expect("fuzz/regressions").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            assert!(
                platc::fuzzing::target(&name).is_some(),
                "fuzz/regressions/{name}/ is not a fuzz target"
            );
        }
    }
    for (target, _) in platc::fuzzing::TARGETS {
        for file in regressions(target) {
            run(target, &file);
        }
    }
}
