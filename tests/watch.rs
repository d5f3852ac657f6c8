//! `platc build --watch` through the real binary: a first build, a rebuild per saved change that
//! renders only what changed, a broken save reported without ending the watch, and the fix
//! picked up. Waits have a generous deadline and assert nothing about time.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use common::*;

struct Watch {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    /// Lines (stdout and stderr) until one contains `what`; panics with what was seen after a
    /// deadline long enough for a debug build on a loaded machine.
    fn until(&self, what: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(l) => {
                    let done = l.contains(what);
                    seen.push(l);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with `{what}`; saw:\n{}", seen.join("\n")),
            }
        }
    }

    /// The lines printed within `window`.
    fn lines_within(&self, window: Duration) -> Vec<String> {
        let end = std::time::Instant::now() + window;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        seen
    }

    /// Waits for the rebuild after a save of `rel`, which must name it as the change.
    fn rebuilt_after(&self, rel: &str) -> Vec<String> {
        let seen = self.until("wrote");
        assert!(
            seen.iter().any(|l| *l == format!("changed: {rel}")),
            "{seen:?}"
        );
        seen
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }
}

fn watch(ws: &std::path::Path) -> Watch {
    watch_with(ws, &[])
}

fn watch_with(ws: &std::path::Path, vars: &[(&str, &str)]) -> Watch {
    let mut child = Command::new(env!("CARGO_BIN_EXE_platc"))
        .args(["build", "--watch", "-C"])
        .arg(ws)
        .env("NO_COLOR", "1")
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("platc runs");
    let (tx, rx) = channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    Watch { child, lines: rx }
}

#[test]
fn watch_rebuilds_what_changed_and_survives_a_broken_save() {
    let ws = example_workspace(false);
    let w = watch(ws.path());
    w.until("watching");
    let first = w.until("wrote");
    assert!(first.iter().any(|l| l.contains(" written")), "{first:?}");

    let web = ws.path().join("examples/storefront/web/score.yaml");
    let text = bump_web_image(ws.path());
    let second = w.rebuilt_after("examples/storefront/web/score.yaml");
    let summary = second.last().unwrap();
    assert!(
        summary.contains("rendered ") && !summary.contains(" 0 written"),
        "{summary}"
    );
    let deployment = ws.path().join("out/envs/dev/web/deployment-web.yaml");
    assert!(
        std::fs::read_to_string(&deployment)
            .unwrap()
            .contains("3.13.0")
    );

    // A broken save: the error, and the watch goes on.
    std::fs::write(&web, "apiVersion: score.dev/v1b1\nmetadata: [\n").unwrap();
    let broken = w.until("error");
    assert!(
        broken.iter().any(|l| l.contains("score.yaml")),
        "{broken:?}"
    );
    std::fs::write(&web, &text).unwrap();
    let fixed = w.until("wrote");
    assert!(
        std::fs::read_to_string(&deployment)
            .unwrap()
            .contains("3.12.0"),
        "{fixed:?}"
    );

    // A broken save of the platform: its error names the Nickel file, the output stays as it
    // was, and the repaired platform builds again.
    let main = ws.path().join("platform/main.ncl");
    let platform = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{platform}\n  oops = ,\n")).unwrap();
    let broken = w.until("error");
    let seen = broken.join("\n");
    assert!(broken.iter().any(|l| l.contains("main.ncl")), "{seen}");
    assert!(
        std::fs::read_to_string(&deployment)
            .unwrap()
            .contains("3.12.0")
    );
    std::fs::write(&main, &platform).unwrap();
    w.rebuilt_after("platform/main.ncl");
}

/// A platform whose evaluation never finishes is reported after its time limit. The evaluation
/// cannot be stopped inside the process, so the watch starts itself afresh (the same process id)
/// without it, waits for the next save instead of evaluating the same platform again, and builds
/// the repaired platform.
#[test]
fn watch_restarts_past_an_evaluation_it_cannot_stop() {
    let ws = example_workspace(false);
    let main = ws.path().join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap();
    let looping = text.replacen(
        "  name = \"acme\",\n",
        "  name = let rec spin = fun x => spin x in spin 1,\n",
        1,
    );
    assert_ne!(looping, text, "the reference platform's name was not found");
    std::fs::write(&main, looping).unwrap();
    let mut w = watch_with(ws.path(), &[("PLATC_EVAL_TIMEOUT_SECS", "2")]);
    let pid = w.child.id();
    w.until("did not finish evaluating within 2 s");
    w.until(
        "restarting the watch: the platform's evaluation that ran out of time is still running",
    );
    w.until("again");
    // Nothing changed while it restarted: it must not evaluate the same platform again (that
    // would print the time-out after 2 s).
    let idle = w.lines_within(Duration::from_secs(5));
    assert!(
        !idle.iter().any(|l| l.contains("did not finish")),
        "the restarted watch evaluated the unchanged platform again: {idle:?}"
    );
    assert!(w.alive(), "the watch ended: {idle:?}");
    assert_eq!(w.child.id(), pid);
    std::fs::write(&main, &text).unwrap();
    w.rebuilt_after("platform/main.ncl");
}

/// nickel-lang-core keeps part of every evaluation's memory until the process ends, so a watch
/// starts itself afresh after a number of platform evaluations (two here); a workload's save,
/// which reuses the kept evaluation, does not count.
#[test]
fn watch_restarts_to_release_the_memory_of_evaluations() {
    let ws = example_workspace(false);
    let mut w = watch_with(ws.path(), &[("PLATC_WATCH_RESTART_AFTER", "2")]);
    w.until("wrote");
    let main = ws.path().join("platform/main.ncl");
    let platform = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{platform}\n# a saved comment\n")).unwrap();
    // stdout and stderr are read apart: the note may come before the summary line.
    let mut restarted = w.until("wrote");
    if !restarted.iter().any(|l| l.contains("again")) {
        restarted.extend(w.until("again"));
    }
    assert!(
        restarted
            .iter()
            .any(|l| l
                .contains("restarting the watch to release the memory of 2 platform evaluations")),
        "{restarted:?}"
    );
    bump_web_image(ws.path());
    w.rebuilt_after("examples/storefront/web/score.yaml");
    let after = w.lines_within(Duration::from_secs(2));
    assert!(
        !after.iter().any(|l| l.contains("restarting")),
        "a workload's save counted as an evaluation: {after:?}"
    );
    assert!(w.alive());
    assert!(
        std::fs::read_to_string(ws.path().join("out/envs/dev/web/deployment-web.yaml"))
            .unwrap()
            .contains("3.13.0")
    );
}
