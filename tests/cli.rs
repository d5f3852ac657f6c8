//! The real binary, end to end.

mod common;

use std::process::Command;

use common::*;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn build_writes_the_tree_and_a_rebuild_changes_nothing() {
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    let first = platc(&["build", "-C", dir]);
    assert!(first.status.success(), "{}", s(&first.stderr));
    let out = ws.path().join("out");
    let tree = read_tree(&out);
    assert!(tree.contains_key(".platc/index.json"));
    assert!(tree.contains_key("argocd/prod/root.yaml"));
    assert!(tree.keys().any(|k| k.starts_with("envs/dev/")));
    let second = platc(&["build", "-C", dir]);
    assert!(second.status.success());
    assert!(
        s(&second.stdout).contains(" 0 written"),
        "rebuild wrote files: {}",
        s(&second.stdout)
    );
    assert_eq!(read_tree(&out), tree);
}

#[test]
fn output_does_not_depend_on_thread_count_or_directory_order() {
    // 1, 2 and 8 threads (environments, planes and serialisation run in parallel), from
    // workspaces created in opposite directory orders.
    let runs: Vec<_> = [("1", false), ("2", true), ("8", false)]
        .into_iter()
        .map(|(threads, reverse)| {
            let ws = example_workspace(reverse);
            let o = platc(&[
                "build",
                "-C",
                ws.path().to_str().unwrap(),
                "--threads",
                threads,
            ]);
            assert!(o.status.success(), "{threads} threads: {}", s(&o.stderr));
            (threads, read_tree(&ws.path().join("out")), ws)
        })
        .collect();
    let (_, first, _) = &runs[0];
    assert!(!first.is_empty());
    for (threads, tree, _) in &runs[1..] {
        assert!(
            tree == first,
            "{threads} threads: {}",
            tree_diff(first, tree)
        );
    }
}

#[test]
fn files_platc_did_not_write_survive_and_stale_files_are_pruned() {
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    assert!(platc(&["build", "-C", dir]).status.success());
    let out = ws.path().join("out");
    std::fs::write(out.join("NOTES.md"), "mine\n").unwrap();
    // Drop the dev environment: its files must go, the user's file must stay.
    let o = platc(&["build", "-C", dir, "--env", "prod"]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    let tree = read_tree(&out);
    assert_eq!(
        tree.get("NOTES.md").map(Vec::as_slice),
        Some(&b"mine\n"[..])
    );
    assert!(
        !tree.keys().any(|k| k.starts_with("envs/dev/")),
        "dev files were not pruned"
    );
    assert!(tree.keys().any(|k| k.starts_with("envs/prod/")));
}

#[test]
fn check_succeeds_on_the_examples_and_writes_nothing() {
    let ws = example_workspace(false);
    let o = platc(&["check", "-C", ws.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", s(&o.stderr));
    assert!(s(&o.stdout).starts_with("ok: "));
    assert!(!ws.path().join("out").exists());
}

#[test]
fn check_reports_errors_with_exit_code_1_and_json() {
    let ws = workspace_with(&[(
        "examples/a/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\n  annotations:\n    platc.dev/team: payments\ncontainers:\n  main:\n    imgae: nginx:1.27\n",
    )]);
    let o = platc(&["check", "-C", ws.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = s(&o.stderr);
    assert!(err.contains("examples/a/score.yaml:8:5: error:"), "{err}");
    assert!(err.contains("did you mean `image`?"), "{err}");
    let j = platc(&[
        "check",
        "-C",
        ws.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(j.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"][0]["span"]["line"], 8);
}

#[test]
fn unknown_environment_is_an_input_error_with_a_suggestion() {
    let ws = example_workspace(false);
    let o = platc(&["build", "-C", ws.path().to_str().unwrap(), "--env", "prd"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(s(&o.stderr).contains("unknown environment `prd`"));
    assert!(s(&o.stderr).contains("did you mean `prod`?"));
    assert!(!ws.path().join("out").exists());
}

#[test]
fn usage_errors_exit_2_and_help_has_examples() {
    assert_eq!(platc(&["build", "--no-such-flag"]).status.code(), Some(2));
    let h = platc(&["--help"]);
    assert!(h.status.success());
    let top = s(&h.stdout);
    assert!(top.contains("Examples:"));
    // Every subcommand the top-level help lists has examples of its own, each naming itself.
    let subcommands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(subcommands.len() >= 10, "{top}");
    for sub in subcommands {
        let h = platc(&[sub, "--help"]);
        assert!(h.status.success(), "{sub}");
        let text = s(&h.stdout);
        let examples = text
            .split_once("Example")
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("`platc {sub} --help` has no examples:\n{text}"));
        assert!(
            examples.contains(&format!("platc {sub}")),
            "`platc {sub} --help` examples do not show the command:\n{text}"
        );
    }
}

/// Colour only on a terminal and never with `NO_COLOR`: the same bad workspace's error,
/// through a pipe, on a terminal, and on a terminal with `NO_COLOR`.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    std::fs::write(
        ws.path().join("examples/storefront/web/score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    imgae: nginx\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_platc");
    let piped = std::process::Command::new(bin)
        .args(["build", "-C", dir])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(2));
    let err = s(&piped.stderr);
    assert!(err.contains("error:") && !err.contains('\x1b'), "{err:?}");
    let on_tty = |no_color: Option<&str>| on_terminal(&format!("build -C {dir}"), no_color);
    let Some((_, coloured)) = on_tty(None) else {
        eprintln!("note: `script` is not installed; the terminal half of this test is skipped");
        return;
    };
    assert!(coloured.contains("\x1b[1;31merror:\x1b[0m"), "{coloured:?}");
    let (_, plain) = on_tty(Some("1")).unwrap();
    assert!(
        plain.contains("error:") && !plain.contains("\x1b[1;31m"),
        "{plain:?}"
    );
}

#[test]
fn graph_prints_both_edge_kinds_in_every_format() {
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    let dot = platc(&["graph", "-C", dir, "--format", "dot", "--env", "dev"]);
    assert!(dot.status.success(), "{}", s(&dot.stderr));
    let dot = s(&dot.stdout);
    assert!(dot.starts_with("digraph \"dev\""));
    assert!(dot.contains("style=solid") && dot.contains("style=dashed"));
    let mm = s(&platc(&["graph", "-C", dir, "--format", "mermaid", "--env", "dev"]).stdout);
    assert!(mm.contains("flowchart LR") && mm.contains("-->") && mm.contains("-.->"));
    let js = platc(&["graph", "-C", dir, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 3);
    for g in envs {
        let waves: std::collections::BTreeMap<&str, u64> = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_str().unwrap(), n["wave"].as_u64().unwrap()))
            .collect();
        let edges = g["edges"].as_array().unwrap();
        assert!(edges.iter().any(|e| e["kind"] == "communication"));
        for e in edges.iter().filter(|e| e["kind"] == "ordering") {
            let (a, b) = (e["from"].as_str().unwrap(), e["to"].as_str().unwrap());
            assert!(
                waves[b] > waves[a],
                "ordering edge {a} -> {b} but waves {} -> {}",
                waves[a],
                waves[b]
            );
        }
    }
}

#[test]
fn applications_sync_in_graph_order() {
    // For every ordering edge between two nodes that have Applications, the later node's
    // Application has a strictly larger sync wave.
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    assert!(platc(&["build", "-C", dir]).status.success());
    let js = platc(&["graph", "-C", dir, "--format", "json", "--env", "prod"]);
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    let g = &v["environments"][0];
    let tree = read_tree(&ws.path().join("out"));
    let wave_of_app = |node: &serde_json::Value| -> Option<u64> {
        let name = match node["kind"].as_str()? {
            "workload" => format!("prod-{}", node["name"].as_str()?),
            "resource" => format!("prod-res-{}", node["name"].as_str()?),
            "namespace" => format!("prod-ns-{}", node["name"].as_str()?),
            _ => return None,
        };
        let text = tree.get(&format!("argocd/prod/apps/{name}.yaml"))?;
        let text = String::from_utf8_lossy(text);
        let line = text
            .lines()
            .find(|l| l.contains("argocd.argoproj.io/sync-wave"))?;
        line.split(':')
            .nth(1)?
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .parse()
            .ok()
    };
    let nodes: std::collections::BTreeMap<&str, &serde_json::Value> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let mut checked = 0;
    for e in g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ordering")
    {
        let (a, b) = (
            nodes[e["from"].as_str().unwrap()],
            nodes[e["to"].as_str().unwrap()],
        );
        if let (Some(wa), Some(wb)) = (wave_of_app(a), wave_of_app(b)) {
            assert!(
                wb > wa,
                "{} (wave {wa}) must sync before {} (wave {wb})",
                a["id"],
                b["id"]
            );
            checked += 1;
        }
    }
    assert!(
        checked > 10,
        "only {checked} edges had Applications on both ends"
    );
}

#[test]
fn completion_scripts_name_every_subcommand_and_bash_parses_its_own() {
    for shell in ["bash", "zsh", "fish"] {
        let o = platc(&["completions", shell]);
        assert!(
            o.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let script = String::from_utf8_lossy(&o.stdout).to_string();
        for sub in [
            "init", "build", "check", "diff", "publish", "explain", "graph",
        ] {
            assert!(script.contains(sub), "{shell} script lacks `{sub}`");
        }
        // fish names long flags `-l watch`.
        assert!(
            script.contains("--watch") || script.contains("-l watch"),
            "{shell} script lacks build's flags"
        );
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("platc.bash");
            std::fs::write(&path, &script).unwrap();
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output();
            if let Ok(c) = check {
                assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
            }
        }
    }
    let o = platc(&["completions", "tcsh-or-so"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn quiet_prints_only_errors_and_verbose_names_every_file() {
    let ws = example_workspace(false);
    let dir = ws.path().to_str().unwrap();
    let o = platc(&["build", "-q", "-C", dir]);
    assert!(o.status.success());
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "{}",
        s(&o.stdout)
    );

    std::fs::remove_dir_all(ws.path().join("out")).unwrap();
    std::fs::remove_dir_all(ws.path().join(".platc")).unwrap();
    let o = platc(&["--verbose", "build", "-C", dir]);
    assert!(o.status.success());
    let out = s(&o.stdout);
    assert!(
        out.contains("  written envs/dev/web/deployment-web.yaml"),
        "{out}"
    );
    assert!(out.lines().last().unwrap().starts_with("wrote "), "{out}");
    // Where the time went, stage by stage and in pipeline order.
    let stages: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(" ms  ").map(|(t, stage)| (t.trim(), stage)))
        .filter(|(t, _)| t.parse::<f64>().is_ok())
        .map(|(_, stage)| stage)
        .collect();
    assert_eq!(
        stages,
        [
            "build cache lookup",
            "load + render memo read",
            "render memo salt",
            "resolve + graph + render",
            "tree",
            "emit",
            "render memo and build cache record"
        ],
        "{out}"
    );

    // Errors are never quiet, and quiet and verbose do not mix.
    std::fs::write(
        ws.path().join("examples/storefront/web/score.yaml"),
        "metadata: [\n",
    )
    .unwrap();
    let o = platc(&["-q", "check", "-C", dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(s(&o.stderr).contains("score.yaml"), "{}", s(&o.stderr));
    let o = platc(&["-q", "-v", "build", "-C", dir]);
    assert_eq!(o.status.code(), Some(2));
}

/// Every subcommand's documented exit codes, in one table: 0 on success, 1 for findings (for
/// `check`, every error is one) or (with `--exit-code`) changes, 2 for a usage error or bad
/// input. Bad input also writes nothing.
#[test]
fn every_subcommand_exits_as_documented() {
    let ws = example_workspace(false);
    let good = ws.path().to_str().unwrap();
    // A workload with a misspelt field: every command that loads it must refuse it.
    let bad_ws = workspace_with(&[(
        "examples/x/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: xy\ncontainers:\n  main:\n    imgae: busybox\n",
    )]);
    let bad = bad_ws.path().to_str().unwrap();
    // A workload that loads but breaks a built-in policy: `check` reports a finding.
    let finding_ws = workspace_with(&[(
        "examples/x/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: xy\ncontainers:\n  main:\n    image: busybox:latest\n",
    )]);
    let finding = finding_ws.path().to_str().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    let out_s = out.to_str().unwrap();
    let bad_out = scratch.path().join("bad-out");
    let fresh = scratch.path().join("fresh");
    let fresh_s = fresh.to_str().unwrap();
    let other = scratch.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_s = other.to_str().unwrap();

    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["build", "-C", good, "--out", out_s], 0),
        (
            vec!["build", "-C", bad, "--out", bad_out.to_str().unwrap()],
            2,
        ),
        (vec!["build", "--no-such-flag"], 2),
        (
            vec!["build", "-C", good, "--env", "nowhere", "--out", out_s],
            2,
        ),
        (vec!["check", "-C", good], 0),
        (vec!["check", "-C", finding], 1),
        // `check` reports what is wrong with the input as errors, so it exits 1 (its help says so).
        (vec!["check", "-C", bad], 1),
        (vec!["check", "--format", "yaml"], 2),
        (vec!["graph", "-C", good], 0),
        (vec!["graph", "-C", bad], 2),
        (vec!["diff", "-C", good, "--against", out_s], 0),
        (
            vec!["diff", "-C", good, "--against", out_s, "--exit-code"],
            0,
        ),
        (
            vec!["diff", "-C", good, "--against", other_s, "--exit-code"],
            1,
        ),
        (vec!["diff", "-C", good, "--against", other_s], 0),
        (vec!["diff", "-C", good], 2),
        (vec!["diff", "-C", bad, "--against", out_s], 2),
        (
            vec!["explain", "-C", good, "Deployment/storefront-prod/checkout"],
            0,
        ),
        (
            vec!["explain", "-C", good, "Deployment/storefront-prod/nope"],
            2,
        ),
        (vec!["schema", "-C", good], 0),
        (vec!["schema", "--no-such-flag"], 2),
        (vec!["completions", "bash"], 0),
        (vec!["completions", "nosh"], 2),
        (vec!["init", fresh_s], 0),
        (vec!["init", fresh_s], 2),
        (vec!["publish", "-C", good], 2),
        (vec!["publish", "-C", bad, "--repo", other_s], 2),
        (vec!["bench", "--workloads", "many"], 2),
        (vec!["no-such-command"], 2),
    ];
    let mut wrong = Vec::new();
    for (args, want) in &cases {
        let o = platc(args);
        if o.status.code() != Some(*want) {
            wrong.push(format!(
                "platc {}: exit {:?}, documented {want}\n{}",
                args.join(" "),
                o.status.code(),
                s(&o.stderr)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(!bad_out.exists(), "a refused build wrote its output");
}

/// `platc ARGS` on a pseudo-terminal (util-linux `script`), `NO_COLOR` as given: whether it
/// succeeded and what the terminal showed (stdout and stderr together). `None` when `script` is
/// not installed.
fn on_terminal(args: &str, no_color: Option<&str>) -> Option<(bool, String)> {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_platc"));
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let o = c.output().ok()?;
    Some((o.status.success(), s(&o.stdout)))
}

/// On a terminal a long build names the stage it is in on stderr, on one line it rewrites and
/// clears at the end; in a pipe (CI logs, `| tee`) it never does.
#[test]
fn a_long_build_shows_progress_only_on_a_terminal() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path().to_str().unwrap();
    // Large enough to take longer than the progress delay in a test build.
    let o = platc(&["bench", "--workloads", "300", "--write-workspace", dir]);
    assert!(o.status.success(), "{}", s(&o.stderr));

    let piped = platc(&["build", "-C", dir, "--out", &format!("{dir}/out-pipe")]);
    assert!(piped.status.success(), "{}", s(&piped.stderr));
    // Only the note that the (bench) workspace builds the embedded reference platform.
    let err = s(&piped.stderr);
    assert!(err.lines().all(|l| l.starts_with("note: ")), "{err}");

    let Some((ok, text)) = on_terminal(&format!("build -C {dir} --out {dir}/out-tty"), None) else {
        eprintln!("note: `script` is not installed; the terminal half of this test is skipped");
        return;
    };
    assert!(ok, "{text}");
    let line = text
        .split('\r')
        .find_map(|l| l.strip_prefix("\x1b[2Kplatc: "))
        .unwrap_or_else(|| panic!("no progress line in {text:?}"));
    let stage = line.split('…').next().unwrap();
    let stages = [
        "load + render memo read",
        "resolve + graph + render",
        "tree",
        "emit",
        "render memo and build cache record",
    ];
    assert!(stages.contains(&stage), "{line:?}");
    // Cleared before the summary line, which is as it is in a pipe.
    assert!(text.contains("\r\x1b[2Kwrote "), "{text:?}");
    let summary = s(&piped.stdout);
    assert!(summary.starts_with("wrote "), "{summary}");

    // `--quiet` on a terminal: nothing at all.
    let (ok, quiet) =
        on_terminal(&format!("build -q -C {dir} --out {dir}/out-quiet"), None).unwrap();
    assert!(ok && quiet.trim().is_empty(), "{quiet:?}");

    // A quick build on a terminal (the build cache answers) prints its summary line. On a
    // loaded machine even the cache lookup can outlast the progress delay (seen in CI beside the
    // fuzzers): then the lookup is the only stage shown, cleared before the summary.
    let (ok, quick) = on_terminal(&format!("build -C {dir} --out {dir}/out-tty"), None).unwrap();
    assert!(ok && quick.contains("no input changed"), "{quick:?}");
    let shown: Vec<&str> = quick
        .split('\r')
        .filter_map(|l| l.strip_prefix("\x1b[2Kplatc: "))
        .collect();
    assert!(
        shown.iter().all(|l| l.starts_with("build cache lookup")),
        "{quick:?}"
    );
    let after_progress = quick.rsplit("\x1b[2K").next().unwrap_or_default();
    let summary = after_progress.lines().last().unwrap_or_default();
    assert!(summary.starts_with("wrote "), "{quick:?}");
}

/// Found by a red-team session: a mistyped `-C` built the embedded reference platform into a
/// directory it created, and `publish` from a directory without a platform pushed the reference
/// platform's tree.
#[test]
fn a_workspace_must_exist_and_only_a_platform_of_your_own_is_published() {
    let scratch = tempfile::tempdir().unwrap();
    let typo = scratch.path().join("typo-dir");
    for cmd in [
        "build", "check", "graph", "diff", "explain", "schema", "publish",
    ] {
        let out = platc(&[cmd, "-C", typo.to_str().unwrap()]);
        let err = s(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("no directory `"), "{cmd}: {err}");
    }
    assert!(!typo.exists(), "a mistyped workspace was created");

    // A build in a workload's directory says which platform it used and where the workspace is.
    let ws = example_workspace(false);
    let dir = ws.path().join("examples/storefront/web");
    let out = Command::new(env!("CARGO_BIN_EXE_platc"))
        .args(["build", "--out"])
        .arg(scratch.path().join("out"))
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let root = ws.path().canonicalize().unwrap();
    assert!(
        err.contains("has no platform/main.ncl: using the embedded reference platform")
            && err.contains(&format!("the workspace seems to be `{}`", root.display())),
        "{err}"
    );
    // A workspace with a platform of its own says nothing of the kind.
    let own = platc(&["check", "-C", ws.path().to_str().unwrap()]);
    assert!(!s(&own.stderr).contains("embedded"), "{}", s(&own.stderr));

    let repo = scratch.path().join("gitops.git");
    let out = platc(&[
        "publish",
        "-C",
        dir.to_str().unwrap(),
        "--repo",
        repo.to_str().unwrap(),
        "--author",
        "bot <bot@example.com>",
    ]);
    let err = s(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("has no platform/main.ncl: publish commits your platform's tree")
            && err.contains(&format!("run with -C {}", root.display())),
        "{err}"
    );
    assert!(!repo.exists(), "publish touched the repository");
}

/// Found by a red-team session: `--out ..` swapped the workspace's parent directory and
/// `--out platform` wrote manifests among the Nickel files.
#[test]
fn the_output_directory_holds_none_of_the_workspace() {
    let ws = example_workspace(false);
    let root = ws.path();
    let before = read_tree(root);
    for (out, problem) in [
        (".", "holds the workspace"),
        ("..", "holds the workspace"),
        ("platform", "is inside the platform's files"),
        ("platform/out", "is inside the platform's files"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_platc"))
            .args(["build", "--out", out])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let err = s(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{out}: {err}");
        assert!(
            err.contains(&format!("error: the output directory `{out}` {problem}")),
            "{out}: {err}"
        );
    }
    assert!(read_tree(root) == before, "the workspace changed");
}
