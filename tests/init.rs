//! `platc init` through the real binary: the new workspace builds, passes `platc check` and the
//! independent judges, diffs after an edit; a second init, or one over any existing file, writes
//! nothing.

mod common;

use common::*;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn a_new_workspace_builds_checks_and_diffs() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("acme-platform");
    let ws_s = ws.to_str().unwrap();
    let o = platc(&["init", ws_s]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    assert!(s(&o.stdout).contains("platc build -C"), "{}", s(&o.stdout));

    let o = platc(&["build", "-C", ws_s]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    let out = ws.join("out");
    let deployment = std::fs::read_to_string(out.join("envs/prod/hello/deployment-hello.yaml"))
        .expect("the workload's deployment");
    assert!(
        deployment.contains("ghcr.io/acme/hello:1.0.0"),
        "{deployment}"
    );
    // The database came from the standard postgres provisioner, its password as a reference.
    assert!(deployment.contains("secretKeyRef"), "{deployment}");
    let tree = read_tree(&out);
    assert!(
        tree.values()
            .any(|b| String::from_utf8_lossy(b).contains("kind: Cluster")),
        "a CloudNativePG cluster for the postgres request"
    );
    let platform = std::fs::read_to_string(ws.join("platform/main.ncl")).unwrap();
    assert!(platform.contains("name = \"acme-platform\""), "{platform}");
    // One environment of each type the stdlib knows, each with its own Argo CD root.
    let envs = std::fs::read_to_string(ws.join("platform/environments.ncl")).unwrap();
    for t in ["development", "staging", "production"] {
        let n = envs.matches(&format!("type = \"{t}\"")).count();
        assert_eq!(n, 1, "environments of type {t}: {envs}");
    }
    let roots = tree
        .keys()
        .filter(|p| {
            // argocd/<env>/root.yaml; cluster roots are argocd/clusters/<cluster>/root.yaml.
            p.starts_with("argocd/") && p.ends_with("/root.yaml") && p.split('/').count() == 3
        })
        .count();
    assert_eq!(roots, 3, "{:?}", tree.keys().collect::<Vec<_>>());
    // The workload is plain Score: nothing of platc's in it.
    let workload = std::fs::read_to_string(ws.join("workloads/hello/score.yaml")).unwrap();
    let spec: Vec<&str> = workload.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        spec.first(),
        Some(&"apiVersion: score.dev/v1b1"),
        "{workload}"
    );
    assert!(
        spec.iter()
            .all(|l| !l.contains("platc") && !l.contains("annotations")),
        "{workload}"
    );

    let o = platc(&["check", "-C", ws_s]);
    assert!(o.status.success(), "{}{}", s(&o.stdout), s(&o.stderr));
    match validate_tree(&out) {
        Some(summary) => eprintln!("{summary}"),
        None => eprintln!("SKIPPED: independent judges not installed"),
    }

    let score = ws.join("workloads/hello/score.yaml");
    let text = std::fs::read_to_string(&score).unwrap();
    std::fs::write(&score, text.replace("hello:1.0.0", "hello:1.1.0")).unwrap();
    let o = platc(&["diff", "-C", ws_s, "--against", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    assert!(
        s(&o.stdout).contains("+        image: ghcr.io/acme/hello:1.1.0"),
        "{}",
        s(&o.stdout)
    );
}

#[test]
fn init_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("p");
    assert!(platc(&["init", ws.to_str().unwrap()]).status.success());
    let before = read_tree(&ws);
    let o = platc(&["init", ws.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(s(&o.stderr).contains("already has"), "{}", s(&o.stderr));
    assert_eq!(read_tree(&ws), before);

    // One existing file anywhere in the way: nothing at all is written.
    let other = tmp.path().join("q");
    std::fs::create_dir_all(other.join("workloads/hello")).unwrap();
    std::fs::write(other.join("workloads/hello/score.yaml"), "mine\n").unwrap();
    let o = platc(&["init", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        s(&o.stderr).contains("`workloads/hello/score.yaml`"),
        "{}",
        s(&o.stderr)
    );
    let left = read_tree(&other);
    assert_eq!(left.len(), 1, "{:?}", left.keys().collect::<Vec<_>>());
}

/// Without a directory, `platc init` scaffolds the current one, and `platc build` there works.
#[test]
fn init_without_a_directory_uses_the_current_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_platc"))
            .args(args)
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = run(&["init"]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    assert!(tmp.path().join("platform/main.ncl").is_file());
    let o = run(&["build"]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    assert!(
        tmp.path()
            .join("out/envs/dev/hello/deployment-hello.yaml")
            .is_file(),
        "{}",
        s(&o.stdout)
    );
}

#[test]
fn the_repo_url_goes_into_the_platform_or_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("p");
    let o = platc(&[
        "init",
        ws.to_str().unwrap(),
        "--repo",
        "git@example.com:acme/gitops.git",
    ]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    let main = std::fs::read_to_string(ws.join("platform/main.ncl")).unwrap();
    assert!(
        main.contains("repo_url = \"git@example.com:acme/gitops.git\""),
        "{main}"
    );
    assert!(
        platc(&["build", "-q", "-C", ws.to_str().unwrap()])
            .status
            .success()
    );

    let bad = tmp.path().join("q");
    let o = platc(&["init", bad.to_str().unwrap(), "--repo", "x\" ++ \"y"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        s(&o.stderr).contains("not a repository URL"),
        "{}",
        s(&o.stderr)
    );
    assert!(!bad.exists(), "nothing written");
}
