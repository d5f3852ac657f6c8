//! No secret value in anything platc writes or prints (issue 11, item 5). The corpus under
//! `tests/secrets/` gives every resource type a secret output and uses secrets in every position
//! a workload value can take; its variants under `tests/secrets/bad/` put canaries where platc
//! does read something secret (Secret names and keys, a Secret rendered by a template), and the
//! diff and publish tests seed an old rendered tree with the leaks an older tool could have
//! written. The rendered tree, `diff` in every format, `explain`, `check` and `graph` in every
//! format, `publish`'s commit messages and every error are scanned for the canaries and for common
//! secret shapes.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// Every resource type of the reference platform: the corpus gives each one a `canary` secret
/// output (key = the type).
const TYPES: [&str; 12] = [
    "endpoint",
    "route",
    "dns",
    "postgres",
    "mysql",
    "mssql",
    "mongodb",
    "redis",
    "amqp",
    "kafka-topic",
    "volume",
    "s3",
];

/// The shaped canaries, as written in `tests/secrets/bad/*` and in the seeded old trees.
const AWS_KEY: &str = "AKIACANARY0123456789";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ";
const PEM_BODY: &str = "MIIBOgIBAAJBAKjcanarycanary";
const PEM: &str =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKjcanarycanary\n-----END RSA PRIVATE KEY-----\n";
/// `AKIACANARY0123456789` in base64, as a Secret's `data` holds it.
const AWS_KEY_B64: &str = "QUtJQUNBTkFSWTAxMjM0NTY3ODk=";

fn canaries() -> Vec<String> {
    let mut c: Vec<String> = TYPES
        .iter()
        .chain(&["legacy-api", "old"])
        .map(|t| format!("canary-{t}-s3cr3t"))
        .collect();
    c.extend([AWS_KEY, JWT, PEM_BODY, AWS_KEY_B64].map(String::from));
    c
}

/// Where `text` leaks: every canary it contains, then every common secret shape, matched by
/// hand (no regex crate): `-----BEGIN [A-Z ]*PRIVATE KEY-----`, `AKIA[0-9A-Z]{16}`,
/// `eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.` and `password=` followed by a literal. A `password=`
/// followed by `$(` (a Kubernetes reference to a hidden variable) or `${` (the placeholder as the
/// workload wrote it, which `explain` quotes) is not a value.
fn leaks(text: &str) -> Vec<String> {
    let mut found: Vec<String> = canaries()
        .into_iter()
        .filter(|c| text.contains(c.as_str()))
        .collect();
    let b = text.as_bytes();
    for (i, _) in text.match_indices("-----BEGIN ") {
        let rest = &b[i + 11..];
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_uppercase() || **c == b' ')
            .count();
        if rest[..n].ends_with(b"PRIVATE KEY") && rest[n..].starts_with(b"-----") {
            found.push(format!("private key at byte {i}"));
        }
    }
    for (i, _) in text.match_indices("AKIA") {
        let rest = &b[i + 4..];
        if rest.len() >= 16
            && rest[..16]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            found.push(format!("AWS access key id at byte {i}"));
        }
    }
    let b64url = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    for (i, _) in text.match_indices("eyJ") {
        let rest = &b[i + 3..];
        let head = rest.iter().take_while(|c| b64url(c)).count();
        if head == 0 || rest.get(head) != Some(&b'.') {
            continue;
        }
        let body = rest[head + 1..].iter().take_while(|c| b64url(c)).count();
        if body > 0 && rest.get(head + 1 + body) == Some(&b'.') {
            found.push(format!("JWT at byte {i}"));
        }
    }
    let lower = text.to_ascii_lowercase();
    for (i, m) in lower.match_indices("password=") {
        let rest = &text[i + m.len()..];
        if !(rest.starts_with("$(") || rest.starts_with("${")) {
            found.push(format!(
                "`password=` and a literal at byte {i}: {}",
                &text[i..(i + 40).min(text.len())]
            ));
        }
    }
    found
}

fn assert_clean(what: &str, text: &str) {
    let found = leaks(text);
    assert!(found.is_empty(), "{what} leaks {found:?}:\n{text}");
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn the_scan_finds_every_kind_of_leak_and_passes_references() {
    for leak in [
        "canary-postgres-s3cr3t".to_string(),
        format!("key: {PEM}"),
        "-----BEGIN OPENSSH PRIVATE KEY-----".to_string(),
        "-----BEGIN PRIVATE KEY-----".to_string(),
        "id: AKIAIOSFODNN7EXAMPLE".to_string(),
        "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_string(),
        "dsn: host=db password=hunter2".to_string(),
        "PASSWORD=\"x\"".to_string(),
        format!("data: {AWS_KEY_B64}"),
    ] {
        assert!(!leaks(&leak).is_empty(), "not caught: {leak}");
    }
    for fine in [
        "value: host=db password=$(PLATC_SECRET_DB_PASSWORD)",
        "sets DB_DSN = \"password=${resources.db.password}\"",
        "-----BEGIN CERTIFICATE-----",
        "AKIA is a prefix",
        "name: consumer-db-app",
        "eyJ.only",
    ] {
        assert_eq!(leaks(fine), Vec::<String>::new(), "{fine}");
    }
}

fn run(ws: &Path, args: &[&str]) -> Output {
    let mut all = vec![args[0], "-C", ws.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    platc(&all)
}

fn build(ws: &Path, out: &Path) {
    let o = run(ws, &["build", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    assert_clean("build's output", &(s(&o.stdout) + &s(&o.stderr)));
}

fn scan_tree(out: &Path) -> usize {
    let tree = read_tree(out);
    for (path, bytes) in &tree {
        assert_clean(path, &s(bytes));
        assert_clean("a path of the tree", path);
    }
    tree.len()
}

fn yaml(path: &str, bytes: &[u8]) -> Value {
    platc::yaml::read::parse(path, &s(bytes))
        .unwrap_or_else(|d| panic!("{path}: {d}"))
        .to_json()
}

/// `check` in every format: (exit code, stdout + stderr) per format, each scanned.
fn check_every_format(ws: &Path) -> Vec<(i32, String)> {
    ["text", "json", "sarif", "markdown"]
        .iter()
        .map(|f| {
            let o = run(ws, &["check", "--format", f]);
            let text = s(&o.stdout) + &s(&o.stderr);
            assert_clean(&format!("check --format {f}"), &text);
            (o.status.code().unwrap_or(-1), text)
        })
        .collect()
}

#[test]
fn every_type_has_a_secret_output_and_every_use_renders_as_a_reference() {
    let (tmp, ws) = secrets_workspace(None);
    let out = tmp.path().join("out");
    build(&ws, &out);
    assert!(scan_tree(&out) > 100);
    for (code, text) in check_every_format(&ws) {
        assert_eq!(code, 0, "{text}");
    }
    for format in ["dot", "mermaid", "json"] {
        let o = run(&ws, &["graph", "--format", format]);
        assert!(o.status.success(), "{}", s(&o.stderr));
        assert_clean(
            &format!("graph --format {format}"),
            &(s(&o.stdout) + &s(&o.stderr)),
        );
    }

    for env in ["dev", "staging", "prod"] {
        let rel = format!("envs/{env}/consumer/deployment-consumer.yaml");
        let doc = yaml(&rel, &std::fs::read(out.join(&rel)).unwrap());
        let c = &doc["spec"]["template"]["spec"]["containers"][0];
        let env_vars = c["env"].as_array().unwrap();
        let by_name = |n: &str| {
            env_vars
                .iter()
                .find(|e| e["name"] == n)
                .unwrap_or_else(|| panic!("{rel}: no variable {n}"))
        };
        let keys: BTreeSet<&str> = env_vars
            .iter()
            .filter_map(|e| e["valueFrom"]["secretKeyRef"]["key"].as_str())
            .collect();
        for t in TYPES {
            assert!(keys.contains(t), "{rel}: no reference to the {t} canary");
        }
        // A whole value is a secretKeyRef to the provisioner's Secret and key.
        for (var, secret, key) in [
            ("DB_PASSWORD", "consumer-db-app", "password"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "consumer-bucket-s3",
                "secret_access_key",
            ),
            ("CANARY_ENDPOINT", "consumer-api-canary", "endpoint"),
            ("CANARY_VOLUME", "consumer-data-canary", "volume"),
        ] {
            let e = by_name(var);
            assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], secret, "{rel} {e}");
            assert_eq!(e["valueFrom"]["secretKeyRef"]["key"], key, "{rel} {e}");
            assert!(e.get("value").is_none(), "{rel} {e}");
        }
        // Inside a longer string, a reference to a hidden variable; `$(` written by the workload
        // is escaped so that it cannot name one.
        assert_eq!(
            by_name("REDIS_URL")["value"],
            format!(
                "redis://default:$(PLATC_SECRET_CACHE_PASSWORD)@consumer-cache.apps-{env}.svc.cluster.local:6379/0"
            )
        );
        assert_eq!(
            by_name("TWICE")["value"],
            "$(PLATC_SECRET_DB_CANARY)$(PLATC_SECRET_DB_CANARY)"
        );
        assert_eq!(
            c["command"],
            serde_json::json!(["/bin/consumer", "--db-password=$(PLATC_SECRET_DB_PASSWORD)"])
        );
        assert_eq!(
            c["args"],
            serde_json::json!([
                "--mongo=$(PLATC_SECRET_MONGO_URI)",
                "$(PLATC_SECRET_CACHE_PASSWORD)",
                "--s3=$(PLATC_SECRET_BUCKET_ACCESS_KEY_ID):$(PLATC_SECRET_BUCKET_SECRET_ACCESS_KEY)",
                "--literal=$$(NOT_A_VAR)"
            ])
        );
        // Every `$(VAR)` names a hidden variable that is a secretKeyRef defined before its use
        // (Kubernetes expands only variables defined earlier in the list).
        let mut defined = BTreeSet::new();
        let mut texts: Vec<String> = Vec::new();
        for e in env_vars {
            let name = e["name"].as_str().unwrap();
            if let Some(v) = e["value"].as_str() {
                assert!(!v.contains("${"), "{rel}: {name} keeps a placeholder: {v}");
                for var in hidden_refs(v) {
                    assert!(
                        defined.contains(&var),
                        "{rel}: {name} uses {var} before it exists"
                    );
                }
            } else {
                assert!(e["valueFrom"]["secretKeyRef"].is_object(), "{rel}: {e}");
            }
            if name.starts_with("PLATC_SECRET_") {
                assert!(e["valueFrom"]["secretKeyRef"].is_object(), "{rel}: {e}");
            }
            defined.insert(name.to_string());
        }
        for list in ["command", "args"] {
            for a in c[list].as_array().unwrap() {
                texts.push(a.as_str().unwrap().to_string());
            }
        }
        for t in texts {
            for var in hidden_refs(&t) {
                assert!(
                    defined.contains(&var),
                    "{rel}: `{t}` names {var}, which is not defined"
                );
            }
        }
    }
}

/// Names of the hidden variables `$(PLATC_SECRET_…)` in a string.
fn hidden_refs(s: &str) -> Vec<String> {
    s.match_indices("$(PLATC_SECRET_")
        .filter_map(|(i, _)| s[i + 2..].split(')').next().map(str::to_string))
        .collect()
}

/// An old rendered tree as an older, leaking tool could have written it: a Secret with values,
/// literal credentials in variables with secret and with innocent names, and a key in a
/// ConfigMap.
fn seed_leaks(old: &Path) {
    let deploy = old.join("envs/dev/consumer/deployment-consumer.yaml");
    let text = std::fs::read_to_string(&deploy).unwrap();
    let leaked = text
        .replace(
            "value: Bearer $(PLATC_SECRET_API_CANARY)",
            &format!("value: Bearer {JWT}"),
        )
        .replace(
            "user=consumer_db password=$(PLATC_SECRET_DB_PASSWORD)",
            "user=consumer_db password=canary-old-s3cr3t",
        );
    assert_eq!(leaked.matches("canary-old-s3cr3t").count(), 1);
    assert!(leaked.contains(JWT));
    std::fs::write(&deploy, leaked).unwrap();
    std::fs::write(
        old.join("envs/dev/consumer/secret-consumer.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: consumer\n  namespace: apps-dev\n\
             data:\n  key: {AWS_KEY_B64}\nstringData:\n  password: canary-postgres-s3cr3t\n"
        ),
    )
    .unwrap();
    std::fs::write(
        old.join("envs/dev/consumer/configmap-consumer-client.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: consumer-client\n  namespace: apps-dev\n\
             data:\n  client.pem: {}\n  aws: id {AWS_KEY}\n",
            serde_json::to_string(PEM).unwrap()
        ),
    )
    .unwrap();
    assert!(
        !leaks(&s(&read_tree(old)
            .into_values()
            .flatten()
            .collect::<Vec<u8>>()))
        .is_empty()
    );
}

#[test]
fn diff_and_explain_never_print_a_secret_of_either_side() {
    let (tmp, ws) = secrets_workspace(None);
    let out = tmp.path().join("out");
    build(&ws, &out);
    let old = tmp.path().join("old");
    copy_dir(&out, &old, false);
    seed_leaks(&old);
    let score = ws.join("workloads/consumer/score.yaml");
    let text = std::fs::read_to_string(&score).unwrap();
    let next = text.replace(
        "      DB_PASSWORD: ${resources.db.password}\n",
        "      DB_PASSWORD: ${resources.db.password}\n      NEW_TOKEN: \"t=${resources.mq.password}\"\n",
    );
    assert_ne!(text, next);
    std::fs::write(&score, next).unwrap();

    for format in ["text", "markdown", "json"] {
        let o = run(
            &ws,
            &[
                "diff",
                "--against",
                old.to_str().unwrap(),
                "--format",
                format,
            ],
        );
        let text = s(&o.stdout) + &s(&o.stderr);
        assert!(o.status.success(), "{text}");
        // The diff shows the changes whose values it hides, so the masking was exercised (JSON
        // lists removed objects without their content).
        let mut shown = vec![
            "AUTHORIZATION",
            "NEW_TOKEN",
            "secret-consumer.yaml",
            "configmap-consumer-client.yaml",
            "***",
        ];
        if format != "json" {
            shown.extend(["client.pem", "stringData"]);
        }
        for want in shown {
            assert!(
                text.contains(want),
                "diff --format {format} lacks {want}:\n{text}"
            );
        }
        assert_clean(&format!("diff --format {format}"), &text);
    }

    let field = "spec.template.spec.containers[name=main]";
    let mut targets: Vec<String> = [
        "DB_PASSWORD",
        "DB_DSN",
        "AUTHORIZATION",
        "PLATC_SECRET_DB_PASSWORD",
    ]
    .iter()
    .map(|v| format!("Deployment/apps-dev/consumer#{field}.env[name={v}]"))
    .collect();
    targets.push(format!("Deployment/apps-dev/consumer#{field}.args"));
    targets.push(format!("Deployment/apps-dev/consumer#{field}.command"));
    // A file of the leaking tree on disk: explain answers from a fresh compilation.
    let on_disk = old.join("envs/dev/consumer/deployment-consumer.yaml");
    targets.push(format!(
        "{}#{field}.env[name=AUTHORIZATION]",
        on_disk.to_str().unwrap()
    ));
    for target in &targets {
        for format in ["text", "json"] {
            let o = run(&ws, &["explain", "--format", format, target]);
            let text = s(&o.stdout) + &s(&o.stderr);
            assert!(o.status.success(), "explain {target}: {text}");
            assert_clean(&format!("explain --format {format} {target}"), &text);
        }
    }
    let o = run(&ws, &["explain", &targets[0]]);
    assert!(
        s(&o.stdout)
            .contains("a reference to key `password` of Secret `consumer-db-app`, never its value"),
        "{}",
        s(&o.stdout)
    );
}

/// A hidden variable is explained by the string resolve made it from: the secret
/// `bucket.access_key_id` is a whole variable (`AWS_ACCESS_KEY_ID`, a `secretKeyRef`) and,
/// inside `args[2]`, the hidden `PLATC_SECRET_BUCKET_ACCESS_KEY_ID`. (Found again from the
/// Score strings at explain time, the first string naming the placeholder was the variable.)
#[test]
fn a_hidden_variable_is_explained_by_the_string_that_made_it() {
    let (_dir, ws) = secrets_workspace(None);
    let field =
        "spec.template.spec.containers[name=main].env[name=PLATC_SECRET_BUCKET_ACCESS_KEY_ID]";
    let target = format!("Deployment/apps-dev/consumer#{field}");
    let o = run(&ws, &["explain", "--format", "json", &target]);
    let text = s(&o.stdout);
    assert!(o.status.success(), "{text}{}", s(&o.stderr));
    assert!(
        text.contains("(containers.main.args[2])"),
        "the hidden variable names the string that made it: {text}"
    );
    assert!(
        !text.contains("variables.AWS_ACCESS_KEY_ID"),
        "a whole-secret variable made no hidden variable: {text}"
    );
    assert_clean(&format!("explain {target}"), &text);
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Dev Eloper")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev Eloper")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", s(&o.stderr));
    s(&o.stdout)
}

fn publish(ws: &Path, bare: &Path, extra: &[&str]) -> String {
    let o = as_bot(Command::new(env!("CARGO_BIN_EXE_platc")).args([
        "publish",
        "-C",
        ws.to_str().unwrap(),
        "--repo",
        bare.to_str().unwrap(),
    ]))
    .args(extra)
    .output()
    .expect("the platc binary runs");
    let text = s(&o.stdout) + &s(&o.stderr);
    assert!(o.status.success(), "publish {extra:?}: {text}");
    assert_clean(&format!("publish {extra:?}"), &text);
    text
}

#[test]
fn publish_commits_and_messages_hold_no_secret() {
    let (tmp, ws) = secrets_workspace(None);
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "corpus"]);
    git(tmp.path(), &["init", "-q", "--bare", "gitops.git"]);
    let bare = tmp.path().join("gitops.git");
    publish(&ws, &bare, &[]);

    // Someone (an older tool) commits leaks to the branch: platc's next commit replaces the
    // files it owns, and its message must not quote what it replaced.
    let clone = tmp.path().join("clone");
    git(
        tmp.path(),
        &["clone", "-q", "-b", "main", "gitops.git", "clone"],
    );
    seed_leaks(&clone);
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "hand edit"]);
    git(&clone, &["push", "-q", "origin", "main"]);

    let score = ws.join("workloads/consumer/score.yaml");
    let text = std::fs::read_to_string(&score).unwrap();
    std::fs::write(&score, text.replace("consumer:1.0.0", "consumer:1.0.1")).unwrap();
    git(&ws, &["commit", "-q", "-am", "consumer 1.0.1"]);
    // The other two sources of a diff's old side: a Git revision of the workspace, and the
    // published branch with the leaks seeded into it.
    for (source, shows) in [
        (["--base", "HEAD~1"], "consumer:1.0.1"),
        (["--repo", bare.to_str().unwrap()], "AUTHORIZATION"),
    ] {
        for format in ["text", "markdown", "json"] {
            let mut args = vec!["diff", "--format", format];
            args.extend(source);
            let o = run(&ws, &args);
            let text = s(&o.stdout) + &s(&o.stderr);
            assert!(o.status.success(), "diff {source:?}: {text}");
            assert!(
                text.contains(shows),
                "diff {source:?} --format {format}: {text}"
            );
            assert_clean(&format!("diff {source:?} --format {format}"), &text);
        }
    }
    let dry = publish(&ws, &bare, &["--dry-run"]);
    assert!(dry.contains("deployment-consumer.yaml"), "{dry}");
    publish(&ws, &bare, &[]);

    let log = git(&bare, &["log", "--format=%H%n%B", "main"]);
    let ours: Vec<&str> = log
        .split("\n")
        .filter(|l| l.starts_with("platc: render"))
        .collect();
    assert_eq!(ours.len(), 2, "{log}");
    // The hand edit's own message is the only one not written by platc; it holds no secret
    // either, so the whole log must be clean.
    assert_clean("the published branch's log", &log);
    // The owned file the hand edit leaked into is rendered again.
    let deploy = git(
        &bare,
        &["show", "main:envs/dev/consumer/deployment-consumer.yaml"],
    );
    assert_clean("the republished Deployment", &deploy);
}

/// The 1-based line and column of `needle` in `text`, plus `offset` characters.
fn pos(text: &str, needle: &str, offset: usize) -> String {
    let i = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the file"));
    let line = text[..i].matches('\n').count() + 1;
    let col = text[..i].rsplit('\n').next().unwrap().chars().count() + 1 + offset;
    format!("{line}:{col}")
}

#[test]
fn a_secret_where_no_reference_is_possible_is_an_error_that_does_not_print_it() {
    let (tmp, ws) = secrets_workspace(Some("secret-names"));
    let out = tmp.path().join("out");
    let o = run(&ws, &["build", "--out", out.to_str().unwrap()]);
    let err = s(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!out.exists(), "a failed build wrote {}", out.display());
    assert_clean("the failed build's errors", &(s(&o.stdout) + &err));

    let file = "workloads/misuse/score.yaml";
    let text = std::fs::read_to_string(ws.join(file)).unwrap();
    for (at, hint, place) in [
        (
            pos(&text, "ghcr.io/acme/misuse", 0),
            "cache_canary",
            "an image",
        ),
        (pos(&text, "[db]", 0), "db_canary", "file contents"),
        (
            pos(&text, "${resources.api.canary}", 0),
            "api_canary",
            "file contents",
        ),
        (
            pos(&text, "\"${resources.db.canary}.example.com\"", 0),
            "db_canary",
            "resource params",
        ),
        (
            pos(&text, "/${resources.mq.canary}", 0),
            "mq_canary",
            "resource params",
        ),
    ] {
        let want = format!(
            "{file}:{at}: error: the secret output `{hint}` cannot be used in {place}: it would be written into Git"
        );
        assert!(err.contains(&want), "missing `{want}` in:\n{err}");
    }
    assert_eq!(err.matches(": error: ").count(), 5, "{err}");

    for (code, text) in check_every_format(&ws) {
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("db_canary"), "{text}");
    }
}

#[test]
fn a_template_that_renders_a_secret_with_values_is_refused_without_printing_them() {
    let (tmp, ws) = secrets_workspace(Some("template-secret"));
    let out = tmp.path().join("out");
    let o = run(&ws, &["build", "--out", out.to_str().unwrap()]);
    let err = s(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!out.exists(), "a failed build wrote {}", out.display());
    assert_clean("the refused template's error", &(s(&o.stdout) + &err));
    assert!(
        err.contains(
            "error: template `templates/legacy-api.yaml.j2` rendered a Secret with `stringData`: its values would be written into Git"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "for resource `legacy-api` of provisioner `legacy-api` (workloads/legacy/score.yaml:"
        ),
        "{err}"
    );
    for (code, text) in check_every_format(&ws) {
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("rendered a Secret"), "{text}");
    }
}

/// A platform value that breaks a contract on a line holding credentials: Nickel's report quotes
/// the line, and the error must still name the value's place without echoing them.
#[test]
fn a_nickel_error_quoting_a_credential_does_not_print_it() {
    let (tmp, ws) = secrets_workspace(None);
    let profiles = ws.join("platform/profiles.ncl");
    let text = std::fs::read_to_string(&profiles).unwrap();
    let broken = text.replacen(
        "    replicas = 2,",
        &format!("    replicas = \"{AWS_KEY} password=canary-nickel-s3cr3t\","),
        1,
    );
    assert_ne!(
        broken, text,
        "the reference profile's replicas were not found"
    );
    std::fs::write(&profiles, broken).unwrap();
    let out = tmp.path().join("out");
    let o = run(&ws, &["build", "--out", out.to_str().unwrap()]);
    let err = s(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("platform/profiles.ncl:8:"), "{err}");
    assert_clean("the Nickel error", &(s(&o.stdout) + &err));
    for (code, text) in check_every_format(&ws) {
        assert_eq!(code, 1, "{text}");
        assert_clean("check's report of the Nickel error", &text);
    }
}
