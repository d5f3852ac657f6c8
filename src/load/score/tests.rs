//! Whole workloads through `parse_workload`: every field read, errors collected and sorted, the
//! shipped examples and the bad-input corpus; and the helpers the parts' unit tests share.

use std::collections::BTreeMap;

use super::parse_workload;
use crate::diag::{Diagnostics, Span, Spanned};
use crate::model::{FileContent, Workload};

pub(super) fn no_sources(path: &str) -> Result<String, String> {
    Err(format!("no such file: {path}"))
}

pub(super) fn load(text: &str) -> Result<Workload, Diagnostics> {
    parse_workload("w.yaml", text, &mut no_sources)
}

/// All diagnostics of a file, rendered as the CLI shows them.
pub(super) fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d.0.iter().map(ToString::to_string).collect(),
    }
}

pub(super) fn one_error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap_or_default()
}

pub(super) const HEAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\n";

pub(super) fn with_head(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

const FULL: &str = r##"apiVersion: score.dev/v1b1
metadata:
  name: checkout
  annotations:
    platc.dev/team: storefront
    platc.dev/profile: web
  description: extra metadata is kept
service:
  ports:
    http:
      port: 80
      targetPort: 8080
    metrics:
      port: 9090
      protocol: TCP
containers:
  main:
    image: ghcr.io/acme/checkout:1.4.2
    command: ["/app/checkout"]
    args: ["--listen", ":8080", "--db=${resources.db.host}"]
    variables:
      APP_NAME: ${metadata.name}
      DB_PASSWORD: ${resources.db.password}
      PORT: 8080
      LITERAL: $${not-a-placeholder}
    files:
      /etc/checkout/config.yaml:
        mode: "0644"
        content: |
          db: ${resources.db.uri}
      /etc/checkout/logo.png:
        binaryContent: aGVsbG8=
      /etc/checkout/raw.txt:
        source: ./raw.txt
        noExpand: true
    volumes:
      /data:
        source: ${resources.data}
        path: sub
        readOnly: true
    before:
      migrate:
        ready: complete
    resources:
      limits:
        cpu: 500m
        memory: 512Mi
      requests:
        cpu: "0.25"
        memory: 256Mi
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
        scheme: HTTP
        host: localhost
        httpHeaders:
          - name: X-Probe
            value: liveness
    readinessProbe:
      exec:
        command: ["/bin/ready", "--quick"]
  migrate:
    image: ghcr.io/acme/checkout-migrate:1.4.2
    files:
      - target: /etc/legacy.conf
        content: legacy
    volumes:
      - target: /legacy
        source: ${resources.data}
resources:
  db:
    type: postgres
    class: large
    id: orders-db
    metadata:
      annotations:
        platc.dev/owner: payments
      labels-are-free: yes
    params:
      extensions: [pgcrypto]
      host: ${resources.dns.host}
  data:
    type: volume
  dns:
    type: dns
x-team-notes:
  oncall: "#storefront"
"##;

#[test]
fn reads_every_field() {
    let mut asked = Vec::new();
    let mut read = |p: &str| {
        asked.push(p.to_string());
        Ok::<_, String>("raw ${text}".to_string())
    };
    let w = match parse_workload("w.yaml", FULL, &mut read) {
        Ok(w) => w,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(asked, vec!["./raw.txt".to_string()]);
    assert_eq!(w.name.value, "checkout");
    assert_eq!(w.name.span, Span::new("w.yaml", 3, 9));
    assert_eq!(&*w.file, "w.yaml");
    assert_eq!(
        w.team.as_ref().map(|t| t.value.as_str()),
        Some("storefront")
    );
    assert_eq!(
        w.team.as_ref().map(|t| t.span.clone()),
        Some(Span::new("w.yaml", 5, 21))
    );
    assert_eq!(w.profile.as_ref().map(|t| t.value.as_str()), Some("web"));
    assert_eq!(
        w.metadata.get("description").map(|d| d.to_json()),
        Some("extra metadata is kept".into())
    );
    assert_eq!(
        w.extensions.keys().collect::<Vec<_>>(),
        vec!["x-team-notes"]
    );

    let svc = w.service.as_ref().unwrap();
    let http = &svc.ports["http"];
    assert_eq!(
        (http.port.value, http.target_port.as_ref().map(|p| p.value)),
        (80, Some(8080))
    );
    assert_eq!(http.port.span, Span::new("w.yaml", 11, 13));
    assert_eq!(
        svc.ports["metrics"]
            .protocol
            .as_ref()
            .map(|p| p.value.as_str()),
        Some("TCP")
    );

    let main = &w.containers["main"];
    assert_eq!(main.image.value, "ghcr.io/acme/checkout:1.4.2");
    assert_eq!(
        main.command
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>(),
        ["/app/checkout"]
    );
    assert_eq!(main.args.len(), 3);
    assert_eq!(main.variables["APP_NAME"].value, "${metadata.name}");
    assert_eq!(main.variables["PORT"].value, "8080");
    assert_eq!(main.variables["LITERAL"].value, "$${not-a-placeholder}");
    let cfg = &main.files["/etc/checkout/config.yaml"];
    assert_eq!(cfg.mode.as_ref().map(|m| m.value.as_str()), Some("0644"));
    assert_eq!(
        cfg.content,
        FileContent::Text(Spanned::new(
            "db: ${resources.db.uri}\n".into(),
            Span::new("w.yaml", 30, 11)
        ))
    );
    assert!(!cfg.no_expand);
    assert!(
        matches!(&main.files["/etc/checkout/logo.png"].content, FileContent::Binary(b) if b.value == "aGVsbG8=")
    );
    let raw = &main.files["/etc/checkout/raw.txt"];
    assert!(raw.no_expand);
    assert!(matches!(&raw.content, FileContent::Text(t) if t.value == "raw ${text}"));
    let data = &main.volumes["/data"];
    assert_eq!(data.source.value, "${resources.data}");
    assert_eq!(data.path.as_ref().map(|p| p.value.as_str()), Some("sub"));
    assert!(data.read_only);
    assert_eq!(main.before["migrate"].value, "complete");
    let res = main.resources.as_ref().unwrap();
    assert_eq!(
        res.limits.cpu.as_ref().map(|c| c.value.as_str()),
        Some("500m")
    );
    assert_eq!(
        res.limits.memory.as_ref().map(|c| c.value.as_str()),
        Some("512Mi")
    );
    assert_eq!(
        res.requests.cpu.as_ref().map(|c| c.value.as_str()),
        Some("0.25")
    );
    let live = main.liveness_probe.as_ref().unwrap();
    let hg = live.http_get.as_ref().unwrap();
    assert_eq!((hg.path.value.as_str(), hg.port.value), ("/healthz", 8080));
    assert_eq!(hg.scheme.as_ref().map(|s| s.value.as_str()), Some("HTTP"));
    assert_eq!(
        hg.host.as_ref().map(|s| s.value.as_str()),
        Some("localhost")
    );
    assert_eq!(hg.headers[0].0.value, "X-Probe");
    assert_eq!(hg.headers[0].1.value, "liveness");
    let ready = main.readiness_probe.as_ref().unwrap();
    assert_eq!(
        ready
            .exec
            .as_ref()
            .unwrap()
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>(),
        ["/bin/ready", "--quick"]
    );

    let migrate = &w.containers["migrate"];
    assert!(
        matches!(&migrate.files["/etc/legacy.conf"].content, FileContent::Text(t) if t.value == "legacy")
    );
    assert_eq!(migrate.volumes["/legacy"].target.value, "/legacy");

    let db = &w.resources["db"];
    assert_eq!(db.key.value, "db");
    assert_eq!(db.resource_type.value, "postgres");
    assert_eq!(db.class.as_ref().map(|c| c.value.as_str()), Some("large"));
    assert_eq!(db.id.as_ref().map(|c| c.value.as_str()), Some("orders-db"));
    assert_eq!(db.annotations["platc.dev/owner"].value, "payments");
    assert!(
        db.metadata
            .as_ref()
            .unwrap()
            .get("labels-are-free")
            .is_some()
    );
    assert_eq!(
        db.params.as_ref().unwrap().to_json(),
        serde_json::json!({"extensions": ["pgcrypto"], "host": "${resources.dns.host}"})
    );
    assert_eq!(w.resources["data"].resource_type.value, "volume");
    assert!(w.resources["data"].params.is_none());
}

#[test]
fn extensions_are_allowed_everywhere() {
    let w = load(&with_head(
        "containers:\n  main:\n    image: a:1\n    x-note: ok\nx-top: 1\n",
    ))
    .unwrap();
    assert_eq!(w.extensions["x-top"].to_json(), serde_json::json!(1));
}

#[test]
fn api_version() {
    assert_eq!(
        one_error(
            "apiVersion: score.dev/v1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: a:1\n"
        ),
        "w.yaml:1:13: error: unsupported apiVersion `score.dev/v1`: expected `score.dev/v1b1`\n  help: platc reads Score workloads of `apiVersion: score.dev/v1b1`"
    );
}

#[test]
fn collects_all_errors_sorted() {
    let e = errors(
        "apiVersion: v2\nmetadata:\n  name: A\ncontainers:\n  main:\n    imag: x\nservice:\n  ports:\n    web:\n      port: -1\n",
    );
    // `imag` is reported as a typo of `image`, not also as a missing `image`.
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("w.yaml:1:13: error: unsupported apiVersion `v2`"));
    assert!(e[1].starts_with("w.yaml:3:9: error: invalid workload name `A`"));
    assert!(e[2].starts_with("w.yaml:6:5: error: unknown field `imag`"));
    assert!(e[2].ends_with("help: did you mean `image`?"));
    assert!(e[3].starts_with("w.yaml:10:13: error: port -1 is out of range"));
    let e = errors(&with_head("containers:\n  main:\n    commands: [x]\n"));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(
        e[0],
        "w.yaml:5:3: error: missing required field `image` in `containers.main`"
    );
}

#[test]
fn yaml_errors_come_through() {
    assert!(
        one_error(&with_head(
            "containers:\n  main:\n    image: a:1\n    image: b:2\n"
        ))
        .starts_with("w.yaml:7:5: error: duplicate key `image`")
    );
}

/// The shipped examples load cleanly and cover what the reference platform offers.
#[test]
fn examples_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = walk(&root.join("examples"));
    files.sort();
    assert!(files.len() >= 12, "{} examples", files.len());
    let mut types = std::collections::BTreeSet::new();
    let mut shared: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut teams = std::collections::BTreeSet::new();
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        let w = parse_workload(&rel, &text, &mut no_sources).unwrap_or_else(|e| panic!("{e}"));
        // The team's directory; the platform's `paths` claim it, and an annotation, where
        // an example keeps one, must agree.
        let team = rel.split('/').nth(1).unwrap_or_default().to_string();
        if let Some(t) = &w.team {
            assert_eq!(t.value, team, "{rel}");
        }
        assert!(
            rel.starts_with(&format!("examples/{team}/{}/", w.name.value)),
            "{rel}"
        );
        teams.insert(team.clone());
        for c in w.containers.values() {
            assert!(
                c.image
                    .value
                    .rsplit_once(':')
                    .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest"),
                "{rel}: unpinned image"
            );
        }
        for r in w.resources.values() {
            types.insert(r.resource_type.value.clone());
            if let Some(id) = &r.id {
                shared
                    .entry((r.resource_type.value.clone(), id.value.clone()))
                    .or_default()
                    .push(format!("{team}/{}", w.name.value));
            }
        }
    }
    assert_eq!(
        teams.into_iter().collect::<Vec<_>>(),
        ["data", "payments", "storefront"]
    );
    let all = [
        "amqp",
        "dns",
        "endpoint",
        "kafka-topic",
        "mongodb",
        "mssql",
        "mysql",
        "postgres",
        "redis",
        "route",
        "s3",
        "service",
        "volume",
    ];
    assert_eq!(types.iter().map(String::as_str).collect::<Vec<_>>(), all);
    assert_eq!(
        shared[&("postgres".to_string(), "orders-db".to_string())],
        ["storefront/checkout", "storefront/orders"]
    );
}

/// The bad-input corpus (`tests/bad/<case>/`) of workload errors: each case's workload must
/// produce every line of its `expected.txt`, so the corpus and the loader stay in sync.
#[test]
fn bad_corpus_matches_the_loader() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    for case in BAD_CASES {
        let dir = root.join(case);
        let expected = std::fs::read_to_string(dir.join("expected.txt"))
            .unwrap_or_else(|e| panic!("{case}: cannot read expected.txt: {e}"));
        let mut out = String::new();
        let mut files: Vec<_> = walk(&dir.join("examples"));
        files.sort();
        assert!(!files.is_empty(), "{case}: no workload under examples/");
        for f in files {
            let rel = f
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&f).unwrap();
            let base = f.parent().unwrap().to_path_buf();
            let mut read =
                |p: &str| std::fs::read_to_string(base.join(p)).map_err(|e| e.to_string());
            if let Err(d) = parse_workload(&rel, &text, &mut read) {
                out.push_str(&d.to_string());
                out.push('\n');
            }
        }
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                out.contains(line.trim()),
                "{case}: expected line not produced:\n  {line}\nloader output:\n{out}"
            );
        }
    }
}

const BAD_CASES: &[&str] = &[
    "unknown-field",
    "wrong-type",
    "missing-image",
    "bad-api-version",
    "invalid-name",
    "duplicate-key",
    "port-out-of-range",
    "yaml-syntax",
    "unclosed-placeholder",
    "file-content-and-source",
    "unknown-protocol",
    "alias-bomb",
    "bad-memory-quantity",
    "unknown-tag",
];

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.to_string_lossy().ends_with("score.yaml") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_misspelt_metadata_name_is_a_missing_name() {
    // Found by fuzzing: metadata takes any key, so `nmae` got no unknown-field error, and the
    // missing `name` was not reported either: a workload without a name loaded.
    let e = one_error(
        "apiVersion: score.dev/v1b1\nmetadata:\n  nmae: app\ncontainers:\n  web:\n    image: nginx\n",
    );
    assert!(
        e.contains("missing required field `name` in `metadata`"),
        "{e}"
    );
    assert!(e.contains("did you mean `name` instead of `nmae`?"), "{e}");
}

#[test]
fn an_extension_named_like_a_missing_field_does_not_hide_it() {
    // Found by fuzzing: `x-deepmetadata` counted as a misspelt `metadata`, which had got its
    // own error, so the missing `metadata` was not reported and a nameless workload loaded.
    let e = one_error(
        "apiVersion: score.dev/v1b1\nx-deepmetadata:\n  name: app\ncontainers:\n  web:\n    image: nginx\n",
    );
    assert!(
        e.contains("missing required field `metadata` in the workload"),
        "{e}"
    );
}

#[test]
fn an_unclosed_placeholder_in_a_folded_plain_scalar_is_located_at_the_value() {
    // Found by fuzzing: the column of the `${` in the folded text was added to the first
    // line's, past that line's end.
    let e = one_error(&with_head(
        "containers:\n  web:\n    image: nginx\n    variables:\n      A: ${resources.db.host}\"\n        user = \"${res\n",
    ));
    assert!(
        e.starts_with("w.yaml:8:10: error: unclosed placeholder"),
        "{e}"
    );
    // On one line the `${` itself is pointed at.
    let e = one_error(&with_head(
        "containers:\n  web:\n    image: nginx\n    variables:\n      A: x ${res\n",
    ));
    assert!(
        e.starts_with("w.yaml:8:12: error: unclosed placeholder"),
        "{e}"
    );
}
