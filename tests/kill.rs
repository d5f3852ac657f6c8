//! Kill safety (issue 11, item 3): `platc build` and `platc publish` are killed with SIGKILL at
//! 100 pseudo-random moments each, spread over a whole run (load, render, emit, the cache
//! records, the Git steps). After every kill the output directory holds the old or the new tree
//! (a committed patch may be caught half applied, see below) and the branch the old or the new
//! commit with a valid tree; the next, un-killed run then succeeds without any clean-up by hand
//! and gives exactly what a run into a fresh directory gives.
//!
//! The seed is printed; `PLATC_KILL_SEED=<n>` replays a run's choices (the moments themselves
//! depend on the machine's speed).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use platc::bench::{workload_file, workload_yaml};

const KILLS: usize = 100;
const USER_FILE: &str = "README-mine.txt";

/// xorshift64*: the only randomness, so a seed names a run's choices.
struct Rng(u64);

impl Rng {
    fn seeded(what: &str) -> Rng {
        let seed = std::env::var("PLATC_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        // libtest shows a failing test's output: this line is how a failure is replayed.
        eprintln!("{what}: PLATC_KILL_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` fractions of a run, one in each `n`th of [0, 1), shuffled: uniform over the run
    /// without clumps, so every phase gets its share of kills.
    fn spread(&mut self, n: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..n)
            .map(|k| (k as f64 + self.unit()) / n as f64)
            .collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i + 1));
        }
        v
    }
}

/// Where the kill tests work: tmpfs when there is one. Every build and publish calls `syncfs`,
/// which on a disk waits for all of the file system's dirty data, other processes' included
/// (277 s for this file on ext4 beside a release build, ~60 s on tmpfs). A kill loses no page
/// cache, so what is tested is the same; `PLATC_KILL_TMP` chooses another place.
fn scratch_dir() -> tempfile::TempDir {
    let base = std::env::var_os("PLATC_KILL_TMP")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()));
    match base {
        Some(b) => tempfile::tempdir_in(b).unwrap_or_else(|_| tempfile::tempdir().unwrap()),
        None => tempfile::tempdir().unwrap(),
    }
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Runs `cmd` in a process group of its own, sends SIGKILL to platc alone after `delay`, and
/// returns once every process it started has ended too: `git push` outlives a killed publish
/// and may still move the branch, which the checks must see.
fn run_killed(cmd: &mut Command, delay: Duration) -> bool {
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the platc binary starts");
    let group = child.id();
    std::thread::sleep(delay);
    let killed = matches!(child.try_wait(), Ok(None));
    if killed {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("wait");
    let deadline = Instant::now() + Duration::from_secs(60);
    while group_alive(group) {
        assert!(
            Instant::now() < deadline,
            "processes of group {group} still run a minute after platc was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    killed
}

/// Whether any process other than a zombie is in process group `group`.
fn group_alive(group: u32) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let mut f = rest.split_whitespace();
        let state = f.next();
        let pgrp = f.nth(1).and_then(|p| p.parse::<u32>().ok());
        pgrp == Some(group) && state != Some("Z")
    })
}

fn platc_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platc"));
    as_bot(&mut cmd);
    cmd
}

fn ok(cmd: &mut Command, what: &str) -> String {
    let o = cmd.output().expect("the platc binary runs");
    assert!(
        o.status.success(),
        "{what}: exit {:?}\n{}{}",
        o.status.code(),
        s(&o.stdout),
        s(&o.stderr)
    );
    s(&o.stdout)
}

/// A workspace state: plain Score workloads of `platc bench`'s generator over the reference
/// platform (written into the workspace: publish commits only a platform of its own), `edited` of them at another image tag of the same length (files of
/// the same size: only a hash tells them apart), one more workload `added`, the last one
/// `dropped` (nothing calls it), so that changes between states both write and prune.
#[derive(Clone, Copy)]
struct State {
    workloads: usize,
    edited: &'static [usize],
    tag: &'static str,
    added: bool,
    dropped: bool,
}

impl State {
    fn files(&self) -> Vec<(String, String)> {
        let n = self.workloads;
        (0..=n)
            .filter(|&i| (i < n - 1 || (i == n - 1 && !self.dropped)) || (i == n && self.added))
            .map(|i| {
                let tag = if self.edited.contains(&i) {
                    "1.0.1"
                } else {
                    self.tag
                };
                (workload_file(i), workload_yaml(i, tag))
            })
            .collect()
    }

    fn write(&self, ws: &Path) {
        let _ = std::fs::remove_dir_all(ws.join("examples"));
        let platform =
            platc::load::platform::reference_files().map(|(p, t)| (p.to_string(), t.to_string()));
        for (path, text) in platform.chain(self.files()) {
            let p = ws.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }
}

/// The entries beside `dir` in its parent, other than `dir` itself.
fn siblings(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| Some(n.as_str()) != dir.file_name().and_then(|f| f.to_str()))
        .collect();
    v.sort();
    v
}

fn build_cmd(ws: &Path, out: &Path) -> Command {
    let mut cmd = platc_cmd();
    cmd.arg("build").arg("-C").arg(ws).arg("--out").arg(out);
    cmd
}

/// How long an un-killed build of one change took, and how much of that was its end: emit and
/// the cache records (from `--verbose`'s stage times).
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall: Duration,
    tail: Duration,
}

/// Where in a change's run the odd kills aim: the moment emit commits, found by bisection over
/// the kills themselves (a kill that left the old tree came too early, one that left the new
/// tree too late). Uniform moments alone put few kills inside emit: a build's length varies by
/// a fifth from run to run, more than emit's share of it.
#[derive(Debug, Clone, Copy)]
struct Aim {
    frac: f64,
}

impl Aim {
    fn start(t: &Timing) -> Aim {
        Aim {
            frac: 1.0 - t.tail.as_secs_f64() / t.wall.as_secs_f64().max(1e-9),
        }
    }

    fn moment(&self, t: &Timing, jitter: f64) -> Duration {
        t.wall
            .mul_f64((self.frac + (jitter - 0.5) / 10.0).clamp(0.0, 1.2))
    }

    fn learn(&mut self, left_old: bool, left_new: bool) {
        if left_old {
            self.frac += 0.04;
        } else if left_new {
            self.frac -= 0.04;
        }
    }
}

/// An un-killed build that must succeed, timed.
fn timed_build(ws: &Path, out: &Path, what: &str) -> Timing {
    let start = Instant::now();
    let stdout = ok(build_cmd(ws, out).arg("--verbose"), what);
    let wall = start.elapsed();
    let mut tail = Duration::ZERO;
    let mut in_tail = false;
    for line in stdout.lines() {
        let Some((ms, stage)) = line.trim_start().split_once(" ms  ") else {
            continue;
        };
        in_tail |= stage == "emit";
        if in_tail && let Ok(ms) = ms.parse::<f64>() {
            tail += Duration::from_secs_f64(ms / 1000.0);
        }
    }
    Timing { wall, tail }
}

/// What a killed build left, by the state of the output after the kill.
#[derive(Debug, Default)]
struct BuildTally {
    finished: usize,
    old: usize,
    new: usize,
    /// A committed patch caught half applied: some files old, some new.
    mixed: usize,
    /// Kills that left a staging directory or patch beside the output (inside emit).
    staged: usize,
}

#[test]
fn build_killed_at_random_moments_leaves_the_old_or_new_tree_and_the_next_build_recovers() {
    let mut rng = Rng::seeded("build");
    let tmp = scratch_dir();
    let ws = tmp.path().join("ws");
    let parent = tmp.path().join("site");
    let out = parent.join("out");
    // Big enough that a rebuild's emit takes a share of the run worth aiming at, small enough
    // for 100 kills and 100 recoveries in the time budget.
    const N: usize = 16;
    let states = [
        State {
            workloads: N,
            edited: &[],
            tag: "1.0.0",
            added: false,
            dropped: false,
        },
        // To and from the first: a small change, patched in place under a journal (writing
        // one way, pruning the other).
        State {
            workloads: N,
            edited: &[1, 2, 4],
            tag: "1.0.0",
            added: true,
            dropped: false,
        },
        // To and from either: every workload changed, staged beside the output and swapped in.
        State {
            workloads: N,
            edited: &[],
            tag: "2.0.0",
            added: true,
            dropped: true,
        },
    ];
    // Each state built into a directory of its own: no memo, no build cache, every node
    // rendered. A recovered output must equal it byte for byte.
    let expected: Vec<BTreeMap<String, Vec<u8>>> = states
        .iter()
        .enumerate()
        .map(|(i, st)| {
            st.write(&ws);
            let fresh = tmp.path().join(format!("fresh-{i}"));
            ok(&mut build_cmd(&ws, &fresh), "fresh build");
            let mut t = read_tree(&fresh);
            t.insert(USER_FILE.into(), b"mine\n".to_vec());
            t
        })
        .collect();
    assert_ne!(expected[0], expected[1]);

    states[0].write(&ws);
    ok(&mut build_cmd(&ws, &out), "first build");
    std::fs::write(out.join(USER_FILE), "mine\n").unwrap();
    // Every ordered pair once, un-killed: how long each change takes (the kills are spread
    // over that), and that 0↔1 is a patch and the rest a swap (the output keeps its inode
    // only when patched).
    let unknown = Timing {
        wall: Duration::ZERO,
        tail: Duration::ZERO,
    };
    let mut took = [[unknown; 3]; 3];
    // One aim per way of writing (patch, swap): the pairs of one way commit at about the same
    // point of their run, and sharing gives the bisection twice the kills to learn from.
    let mut aim = [Aim { frac: 1.0 }; 2];
    let way = |from: usize, to: usize| usize::from(from + to != 1);
    let mut current = 0;
    for to in [1, 2, 0, 2, 1, 0] {
        states[to].write(&ws);
        let inode = std::fs::metadata(&out).unwrap().ino();
        took[current][to] = timed_build(&ws, &out, "timed build");
        aim[way(current, to)] = Aim::start(&took[current][to]);
        assert!(
            read_tree(&out) == expected[to],
            "build {current} -> {to}:\n{}",
            tree_diff(&expected[to], &read_tree(&out))
        );
        let patched = std::fs::metadata(&out).unwrap().ino() == inode;
        assert_eq!(patched, current + to == 1, "{current} -> {to} patched");
        current = to;
    }
    eprintln!("un-killed build times [from][to]: {took:?}");

    let mut tally = BuildTally::default();
    for (k, frac) in rng.spread(KILLS).into_iter().enumerate() {
        let to = (current + 1 + rng.below(2)) % 3;
        states[to].write(&ws);
        // Even kills anywhere in the run, odd ones around the moment emit commits.
        let delay = if k % 2 == 0 {
            took[current][to].wall.mul_f64(frac)
        } else {
            aim[way(current, to)].moment(&took[current][to], frac)
        };
        let killed = run_killed(&mut build_cmd(&ws, &out), delay);
        let after = read_tree(&out);
        let left = siblings(&out);
        let ctx = format!("kill {k} ({current} -> {to}, after {delay:?}), beside: {left:?}");
        assert!(
            left.iter()
                .all(|n| n.starts_with(".out.platc-new-") || n.starts_with(".out.platc-patch-")),
            "{ctx}: only staging directories may be left beside the output"
        );
        tally.staged += usize::from(!left.is_empty());
        if k % 2 == 1 {
            aim[way(current, to)].learn(
                left.is_empty() && after == expected[current],
                left.is_empty() && after == expected[to],
            );
        }
        // Which state a clean output holds: the next build's time is then a fresh measure of
        // that change (the machine's load varies over the run, and so does a build's length).
        let mut clean = None;
        if !killed {
            tally.finished += 1;
            assert!(after == expected[to], "{ctx}: an un-killed build");
            clean = Some(to);
        } else if after == expected[current] {
            tally.old += 1;
            clean = Some(current);
        } else if after == expected[to] {
            tally.new += 1;
            clean = Some(to);
        } else {
            // Only a committed patch may be seen half applied (documented: a patch is kill-safe
            // but not atomic for a reader until the next run completes it): then every path
            // holds its old or its new bytes, or is absent in one of them.
            let committed = left.iter().any(|n| {
                n.starts_with(".out.platc-patch-") && parent.join(n).join("journal.json").is_file()
            });
            assert!(
                committed,
                "{ctx}: neither the old nor the new tree, and no committed patch:\nagainst old:\n{}\nagainst new:\n{}",
                tree_diff(&expected[current], &after),
                tree_diff(&expected[to], &after)
            );
            let paths = expected[current]
                .keys()
                .chain(expected[to].keys())
                .chain(after.keys());
            for p in paths {
                let got = after.get(p);
                assert!(
                    got == expected[current].get(p) || got == expected[to].get(p),
                    "{ctx}: `{p}` is neither its old nor its new self"
                );
            }
            tally.mixed += 1;
        }
        assert_eq!(
            after.get(USER_FILE).map(Vec::as_slice),
            Some(&b"mine\n"[..])
        );

        // The next build: a retry of the killed one, or a build of what was there before.
        let next = if rng.below(2) == 0 { to } else { current };
        states[next].write(&ws);
        let timing = timed_build(&ws, &out, &format!("{ctx}: the next build"));
        if let Some(from) = clean.filter(|&c| c != next && left.is_empty()) {
            took[from][next] = timing;
        }
        let got = read_tree(&out);
        assert!(
            got == expected[next],
            "{ctx}: the build of {next} after the kill differs from a fresh build:\n{}",
            tree_diff(&expected[next], &got)
        );
        assert_eq!(
            siblings(&out),
            Vec::<String>::new(),
            "{ctx}: left over after the next build"
        );
        let cache_tmp: Vec<_> = std::fs::read_dir(ws.join(".platc/cache"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.contains(".tmp-"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            cache_tmp,
            Vec::<String>::new(),
            "{ctx}: temporary cache files of a killed build are left after the next build"
        );
        current = next;
    }
    eprintln!("build kills: {tally:?}");
    assert_eq!(tally.finished + tally.old + tally.new + tally.mixed, KILLS);
    // Kills that all landed before emit, or all after, would prove nothing about emit. How
    // many land while a staging directory or patch exists depends on the file system (a
    // `syncfs` on a disk takes long, on tmpfs nothing): printed, not required.
    assert!(tally.old > 0 && tally.new > 0, "{tally:?}");
}

// ---------------------------------------------------------------------------------------------
// Publish

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        s(&o.stderr)
    );
    s(&o.stdout).trim_end().to_string()
}

/// The branch's tip in the bare repository, `None` while it does not exist.
fn tip(bare: &Path) -> Option<String> {
    let o = Command::new("git")
        .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
        .current_dir(bare)
        .output()
        .expect("git runs");
    o.status.success().then(|| s(&o.stdout).trim().to_string())
}

/// Every file of `commit`'s tree, from the objects themselves.
fn commit_files(bare: &Path, commit: &str, scratch: &Path) -> BTreeMap<String, Vec<u8>> {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap();
    let tar = scratch.with_extension("tar");
    git(bare, &["archive", "-o", tar.to_str().unwrap(), commit]);
    let o = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(scratch)
        .output()
        .expect("tar runs");
    assert!(o.status.success(), "{}", s(&o.stderr));
    read_tree(scratch)
}

fn publish_cmd(ws: &Path, bare: &Path, tmp: &Path) -> Command {
    let mut cmd = platc_cmd();
    cmd.arg("publish")
        .arg("-C")
        .arg(ws)
        .arg("--repo")
        .arg(bare)
        .env("TMPDIR", tmp);
    cmd
}

#[derive(Debug, Default)]
struct PublishTally {
    finished: usize,
    old: usize,
    new: usize,
}

#[test]
fn publish_killed_at_random_moments_leaves_the_old_or_new_commit_and_the_next_publish_recovers() {
    let mut rng = Rng::seeded("publish");
    let tmp = scratch_dir();
    let ws = tmp.path().join("ws");
    let bare = tmp.path().join("gitops.git");
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    git(tmp.path(), &["init", "-q", "--bare", "gitops.git"]);
    // Few workloads: a publish is a dozen git processes whatever the tree's size, and 200 of
    // them must fit the time budget.
    const N: usize = 4;
    let states = [
        State {
            workloads: N,
            edited: &[],
            tag: "1.0.0",
            added: false,
            dropped: false,
        },
        State {
            workloads: N,
            edited: &[1],
            tag: "1.0.0",
            added: true,
            dropped: true,
        },
    ];
    // Each state's published tree: the rendering (as `platc build` writes it) plus the
    // provenance file; its tree id is then what any later commit of that state must carry.
    let mut trees: Vec<String> = Vec::new();
    let mut took = [Duration::ZERO; 2];
    for i in [0, 1, 0] {
        let st = &states[i];
        st.write(&ws);
        let before = tip(&bare);
        let start = Instant::now();
        ok(&mut publish_cmd(&ws, &bare, &scratch), "timed publish");
        if before.is_some() {
            took[i] = start.elapsed();
        }
        let now = tip(&bare).expect("published");
        assert_eq!(
            git(&bare, &["rev-list", "--parents", "-n1", &now])
                .split(' ')
                .nth(1)
                .map(str::to_string),
            before
        );
        let tree = git(&bare, &["rev-parse", &format!("{now}^{{tree}}")]);
        if trees.len() <= i {
            let fresh = tmp.path().join(format!("fresh-{i}"));
            ok(&mut build_cmd(&ws, &fresh), "fresh build");
            let mut want = read_tree(&fresh);
            let mut got = commit_files(&bare, &now, &tmp.path().join("archive"));
            assert!(got.remove("hydrator.metadata").is_some());
            // The index differs by the provenance file it also lists.
            want.remove(".platc/index.json");
            got.remove(".platc/index.json");
            assert!(want == got, "{}", tree_diff(&want, &got));
            trees.push(tree);
        } else {
            assert_eq!(tree, trees[i], "the same state publishes the same tree");
        }
    }
    assert_ne!(trees[0], trees[1]);
    eprintln!("un-killed publish times: {took:?}");

    let mut tally = PublishTally::default();
    let mut current = 0;
    for (k, frac) in rng.spread(KILLS).into_iter().enumerate() {
        let to = 1 - current;
        states[to].write(&ws);
        let old = tip(&bare).expect("published before");
        // Even kills anywhere, odd ones in the second half, where the Git steps are (the first
        // is mostly rendering, which the build's kills cover).
        let delay = if k % 2 == 0 {
            took[to].mul_f64(frac)
        } else {
            took[to].mul_f64(0.5 + frac / 2.0)
        };
        let killed = run_killed(&mut publish_cmd(&ws, &bare, &scratch), delay);
        let ctx = format!("kill {k} ({current} -> {to}, after {delay:?})");
        let now = tip(&bare).expect("the branch still exists");
        if now == old {
            assert!(killed, "{ctx}: an un-killed publish made no commit");
            tally.old += 1;
        } else {
            let parents = git(&bare, &["rev-list", "--parents", "-n1", &now]);
            assert_eq!(
                parents,
                format!("{now} {old}"),
                "{ctx}: the new tip is not a child of the old"
            );
            let tree = git(&bare, &["rev-parse", &format!("{now}^{{tree}}")]);
            assert_eq!(tree, trees[to], "{ctx}: the new commit's tree");
            if killed {
                tally.new += 1;
            } else {
                tally.finished += 1;
            }
        }
        git(
            &bare,
            &["fsck", "--strict", "--no-progress", "--no-dangling"],
        );

        let next = if rng.below(2) == 0 { to } else { current };
        states[next].write(&ws);
        let before = tip(&bare);
        let start = Instant::now();
        ok(
            &mut publish_cmd(&ws, &bare, &scratch),
            &format!("{ctx}: the next publish"),
        );
        let now = tip(&bare).expect("published");
        let left: Vec<PathBuf> = std::fs::read_dir(&scratch)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(
            left,
            Vec::<PathBuf>::new(),
            "{ctx}: scratch directories of killed publishes are left in the temporary directory"
        );
        if Some(&now) != before.as_ref() {
            // A commit made: a fresh measure of a publish under the machine's present load.
            took[next] = start.elapsed();
        }
        let tree = git(&bare, &["rev-parse", &format!("{now}^{{tree}}")]);
        assert_eq!(tree, trees[next], "{ctx}: the next publish's tree");
        current = next;
    }
    eprintln!("publish kills: {tally:?}");
    assert_eq!(tally.finished + tally.old + tally.new, KILLS);
    assert!(tally.old > 0 && tally.new > 0, "{tally:?}");
    git(&bare, &["fsck", "--strict", "--no-progress"]);
}

/// What a build killed half-way through applying a patch leaves: the journal committed, one
/// file already moved into the output, the index not yet. Built by hand from the two trees so
/// that the moment is exact (a random kill lands in it rarely).
#[test]
fn a_build_the_cache_would_answer_first_completes_an_interrupted_patch() {
    let tmp = scratch_dir();
    let ws = tmp.path().join("ws");
    let out = tmp.path().join("site/out");
    let old = State {
        workloads: 3,
        edited: &[],
        tag: "1.0.0",
        added: false,
        dropped: false,
    };
    // Another image tag of the same length: the moved file keeps its size.
    let new = State {
        edited: &[1],
        ..old
    };
    new.write(&ws);
    let fresh = tmp.path().join("fresh");
    ok(&mut build_cmd(&ws, &fresh), "build of the new state");
    let new_tree = read_tree(&fresh);
    old.write(&ws);
    ok(&mut build_cmd(&ws, &out), "build of the old state");
    let old_tree = read_tree(&out);
    let moved = old_tree
        .iter()
        .find(|(p, b)| p.ends_with("deployment-w00001.yaml") && new_tree.get(*p) != Some(b))
        .map(|(p, _)| p.clone())
        .expect("a deployment the edit changes");
    assert_eq!(old_tree[&moved].len(), new_tree[&moved].len());

    // A pid no process has (above the kernel's limit): the patch's owner is dead.
    let patch = tmp.path().join("site/.out.platc-patch-4294967294");
    std::fs::create_dir(&patch).unwrap();
    std::fs::write(patch.join("index"), &new_tree[".platc/index.json"]).unwrap();
    std::fs::write(
        patch.join("journal.json"),
        format!(r#"{{"removes":[],"writes":[[0,"{moved}"]]}}"#),
    )
    .unwrap();
    std::fs::write(out.join(&moved), &new_tree[&moved]).unwrap();

    // The workspace is as the last build recorded it, the index unchanged, every file of the
    // recorded size: only the leftover beside the output says the output is not what it was.
    ok(&mut build_cmd(&ws, &out), "the next build");
    let got = read_tree(&out);
    assert!(got == old_tree, "{}", tree_diff(&old_tree, &got));
    assert_eq!(siblings(&out), Vec::<String>::new());
}

/// A build killed between writing a cache file's temporary and renaming it: the next build
/// that records removes the temporary (it would otherwise stay for good).
#[test]
fn a_killed_builds_temporary_cache_file_is_removed_by_the_next_build() {
    let tmp = scratch_dir();
    let ws = tmp.path().join("ws");
    let out = tmp.path().join("out");
    let st = State {
        workloads: 3,
        edited: &[],
        tag: "1.0.0",
        added: false,
        dropped: false,
    };
    st.write(&ws);
    ok(&mut build_cmd(&ws, &out), "first build");
    let cache = ws.join(".platc/cache");
    // A pid no process has (above the kernel's limit).
    let dead = cache.join("nodes-0123456789abcdef.tmp-4294967294");
    std::fs::write(&dead, "{\"format\":").unwrap();
    State { edited: &[0], ..st }.write(&ws);
    ok(&mut build_cmd(&ws, &out), "the next build");
    assert!(
        !dead.exists(),
        "the dead build's temporary cache file is still there"
    );
    // Killed after writing the build record but before the memo's rename: the next build is
    // answered from the cache and writes no record, and still removes the temporary file.
    std::fs::write(&dead, "{\"format\":").unwrap();
    let o = ok(&mut build_cmd(&ws, &out), "a build with nothing changed");
    assert!(o.contains("no input changed"), "{o}");
    assert!(
        !dead.exists(),
        "a build answered from the cache leaves a dead build's temporary file"
    );
}
