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
}

fn watch(ws: &std::path::Path) -> Watch {
    let mut child = Command::new(env!("CARGO_BIN_EXE_platc"))
        .args(["build", "--watch", "-C"])
        .arg(ws)
        .env("NO_COLOR", "1")
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
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(
        &web,
        text.replace("storefront-web:3.12.0", "storefront-web:3.13.0"),
    )
    .unwrap();
    let second = w.until("wrote");
    assert!(
        second
            .iter()
            .any(|l| l == "changed: examples/storefront/web/score.yaml"),
        "{second:?}"
    );
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
    let repaired = w.until("wrote");
    assert!(
        repaired.iter().any(|l| l == "changed: platform/main.ncl"),
        "{repaired:?}"
    );
}

/// A platform whose evaluation never finishes is reported after its time limit; the evaluation
/// cannot be stopped inside the process, so the watch ends with an error saying why instead of
/// leaving it running.
#[test]
fn watch_ends_when_an_evaluation_cannot_be_stopped() {
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_platc"))
        .args(["build", "--watch", "-C"])
        .arg(ws.path())
        .env("NO_COLOR", "1")
        .env("PLATC_EVAL_TIMEOUT_SECS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("platc runs");
    // A generous deadline for a loaded machine; the watch must end by itself well before.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the watch went on with an evaluation it cannot stop");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("did not finish evaluating within 2 s"),
        "{text}"
    );
    assert!(
        text.contains(
            "stopping the watch: the platform's evaluation that ran out of time is still running"
        ),
        "{text}"
    );
}
