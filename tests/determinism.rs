//! Determinism under stress (issue 11, item 4): random workspaces over the reference platform (a
//! few Score workloads of random teams and profiles, random resources, shared instances and
//! service links) render to the same bytes whatever the order their files and directories were
//! created in, the worker threads (`--threads` for the compile pool, `RAYON_NUM_THREADS` for the
//! global pool that loading and emitting use), the locale and the time zone, and whether the
//! build and render caches were used, cold, or deleted. `cli.rs` checks threads and reversed
//! directory order on the fixed examples, `memo.rs` scripted edits; this explores workspaces
//! neither wrote.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use proptest::prelude::*;

/// A resource a workload can request: (key, type, params, variables using its outputs).
type Kind = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const KINDS: [Kind; 8] = [
    (
        "db",
        "postgres",
        "",
        &[
            ("DB_HOST", "${resources.db.host}"),
            ("DB_PASSWORD", "${resources.db.password}"),
            (
                "DB_URL",
                "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/app",
            ),
        ],
    ),
    (
        "cache",
        "redis",
        "",
        &[
            ("REDIS_HOST", "${resources.cache.host}"),
            ("REDIS_PASSWORD", "${resources.cache.password}"),
        ],
    ),
    (
        "api",
        "endpoint",
        "    params:\n      host: api.example.com\n      port: 8443\n",
        &[("API_URL", "${resources.api.url}")],
    ),
    (
        "events",
        "kafka-topic",
        "    params:\n      partitions: 6\n",
        &[("TOPIC", "${resources.events.name}")],
    ),
    (
        "bucket",
        "s3",
        "",
        &[
            ("BUCKET", "${resources.bucket.bucket}"),
            ("AWS_ACCESS_KEY_ID", "${resources.bucket.access_key_id}"),
        ],
    ),
    (
        "dns",
        "dns",
        "",
        &[("PUBLIC_HOST", "${resources.dns.host}")],
    ),
    ("mq", "amqp", "", &[("AMQP_URI", "${resources.mq.uri}")]),
    ("data", "volume", "", &[]),
];

const TEAMS: [&str; 3] = ["payments", "storefront", "data"];
const NAMES: [&str; 4] = ["alpha", "bravo", "charlie", "delta"];

#[derive(Debug, Clone)]
struct Spec {
    team: usize,
    /// 0: web with a Service (and maybe a route), 1: worker, 2: cron.
    profile: usize,
    route: bool,
    kinds: Vec<usize>,
    /// Indices of other workloads to call (those with a Service).
    links: Vec<usize>,
    /// The `events` topic is the one shared instance of its id, not a private one.
    shared_topic: bool,
    tag: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..TEAMS.len(),
        0..3usize,
        any::<bool>(),
        proptest::sample::subsequence((0..KINDS.len()).collect::<Vec<_>>(), 0..=4),
        proptest::collection::vec(0..NAMES.len(), 0..3),
        any::<bool>(),
        0..20u8,
    )
        .prop_map(
            |(team, profile, route, kinds, links, shared_topic, tag)| Spec {
                team,
                profile,
                route,
                kinds,
                links,
                shared_topic,
                tag,
            },
        )
}

/// The Score file of workload `i`; `edited` adds a variable and changes its image tag.
fn score(i: usize, specs: &[Spec], edited: bool) -> String {
    let w = &specs[i];
    let name = NAMES[i];
    let mut y = format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\n");
    y += &format!("  annotations:\n    platc.dev/team: {}\n", TEAMS[w.team]);
    match w.profile {
        0 => y += "service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n",
        1 => y += "    platc.dev/profile: worker\n",
        _ => y += "    platc.dev/profile: cron\n    platc.dev/schedule: \"15 2 * * *\"\n",
    }
    let tag = w.tag + u8::from(edited);
    y += &format!("containers:\n  main:\n    image: ghcr.io/acme/{name}:1.{tag}.0\n");
    y += "    variables:\n      OTEL_SERVICE_NAME: ${metadata.name}\n";
    if edited {
        y += "      EDITED: \"yes\"\n";
    }
    let mut resources = String::new();
    for &k in &w.kinds {
        let (key, ty, params, vars) = KINDS[k];
        for (var, value) in vars {
            y += &format!("      {var}: \"{value}\"\n");
        }
        resources += &format!("  {key}:\n    type: {ty}\n");
        if key == "events" && w.shared_topic {
            resources += "    id: shared-events\n";
        }
        resources += params;
    }
    let callees: Vec<usize> = {
        let mut c: Vec<usize> = w
            .links
            .iter()
            .map(|l| l % specs.len())
            .filter(|&l| l != i && specs[l].profile == 0)
            .collect();
        c.sort();
        c.dedup();
        c
    };
    for &c in &callees {
        let callee = NAMES[c];
        y += &format!(
            "      {}_URL: ${{resources.{callee}.url}}\n",
            callee.to_uppercase()
        );
        resources += &format!("  {callee}:\n    type: service\n");
    }
    if w.profile == 0 && w.route {
        y += "      PUBLIC_URL: ${resources.web.url}\n";
        resources += "  web:\n    type: route\n";
    }
    y += "    files:\n      /etc/app/app.yaml:\n        content: |\n          name: ${metadata.name}\n";
    if w.kinds.contains(&0) {
        y += "          db: ${resources.db.host}\n";
    }
    if w.kinds.contains(&7) {
        y += "    volumes:\n      /data:\n        source: ${resources.data}\n";
    }
    if !resources.is_empty() {
        y += "resources:\n";
        y += &resources;
    }
    y
}

fn path_of(i: usize, specs: &[Spec]) -> String {
    format!("examples/{}/{}/score.yaml", TEAMS[specs[i].team], NAMES[i])
}

/// Writes the workspace: the reference platform (its entries in name or reverse name order),
/// then the workloads' directories and files in the order `order` gives.
fn write_workspace(dir: &Path, specs: &[Spec], order: &[usize], reverse_platform: bool) {
    copy_dir(
        &repo().join("platform"),
        &dir.join("platform"),
        reverse_platform,
    );
    let paths: Vec<String> = order
        .iter()
        .filter(|&&i| i < specs.len())
        .map(|&i| path_of(i, specs))
        .collect();
    for p in &paths {
        std::fs::create_dir_all(dir.join(p).parent().unwrap()).unwrap();
    }
    for &i in order.iter().rev().filter(|&&i| i < specs.len()) {
        std::fs::write(dir.join(path_of(i, specs)), score(i, specs, false)).unwrap();
    }
}

/// How a build is run: `--threads`, `RAYON_NUM_THREADS`, and locale and time zone variables.
#[derive(Debug, Clone, Copy)]
struct Run {
    threads: usize,
    rayon: usize,
    env: usize,
}

const ENVS: [[(&str, &str); 3]; 3] = [
    [("LC_ALL", "C"), ("LANG", "C"), ("TZ", "UTC")],
    // Turkish casing (dotless i), comma decimals and a +14:00 zone.
    [
        ("LC_ALL", "tr_TR.UTF-8"),
        ("LANG", "de_DE.UTF-8"),
        ("TZ", "Pacific/Kiritimati"),
    ],
    // A half-hour offset west of UTC, another script.
    [
        ("LC_ALL", "ja_JP.UTF-8"),
        ("LANG", "ja_JP.UTF-8"),
        ("TZ", "America/St_Johns"),
    ],
];

fn build(ws: &Path, out: &Path, run: Run) -> BTreeMap<String, Vec<u8>> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platc"));
    cmd.args(["build", "-C"])
        .arg(ws)
        .arg("--out")
        .arg(out)
        .args(["--threads", &run.threads.to_string()])
        .env("NO_COLOR", "1")
        .env("RAYON_NUM_THREADS", run.rayon.to_string());
    for (k, v) in ENVS[run.env] {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("the platc binary runs");
    assert!(
        o.status.success(),
        "{run:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_tree(out)
}

fn same(what: &str, a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) {
    assert!(a == b, "{what}:\n{}", tree_diff(a, b));
}

fn edit(ws: &Path, specs: &[Spec], i: usize) {
    std::fs::write(ws.join(path_of(i, specs)), score(i, specs, true)).unwrap();
}

fn runs() -> impl Strategy<Value = Run> {
    (
        prop_oneof![Just(1usize), Just(2), Just(8)],
        prop_oneof![Just(1usize), Just(2), Just(8)],
        0..ENVS.len(),
    )
        .prop_map(|(threads, rayon, env)| Run {
            threads,
            rayon,
            env,
        })
}

proptest! {
    // Each case runs eight builds of the debug binary; a handful of cases keeps the file under a
    // minute, and a failure shrinks only a little before it is reported.
    #![proptest_config(ProptestConfig { cases: 5, max_shrink_iters: 16, ..ProptestConfig::default() })]

    #[test]
    fn random_workspaces_render_the_same_bytes_however_they_are_built(
        specs in proptest::collection::vec(spec(), 2..=NAMES.len()),
        order in Just((0..NAMES.len()).collect::<Vec<_>>()).prop_shuffle(),
        reverse_platform in any::<bool>(),
        other in runs(),
        edited in 0..NAMES.len(),
    ) {
        let edited = edited % specs.len();
        let tmp = tempfile::tempdir().unwrap();
        let (ws1, ws2, ws3) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
        let natural: Vec<usize> = (0..specs.len()).collect();
        write_workspace(&ws1, &specs, &natural, false);
        write_workspace(&ws2, &specs, &order, reverse_platform);
        let reversed: Vec<usize> = natural.iter().rev().copied().collect();
        write_workspace(&ws3, &specs, &reversed, !reverse_platform);

        let base = Run { threads: 1, rayon: 1, env: 0 };
        let out1 = tmp.path().join("out1");
        let a = build(&ws1, &out1, base);
        prop_assert!(a.keys().any(|p| p.ends_with(".platc/index.json")));
        let out2 = tmp.path().join("out2");
        same(&format!("shuffled files, {other:?}"), &a, &build(&ws2, &out2, other));
        let opposite = Run { threads: 9 - other.threads.min(8), rayon: 9 - other.rayon.min(8), env: (other.env + 1) % ENVS.len() };
        same(&format!("reversed files, {opposite:?}"), &a, &build(&ws3, &tmp.path().join("out3"), opposite));

        // After an edit: the incremental build (build and render caches warm) equals a build into
        // a new directory, one with the caches deleted, and the same edit built elsewhere.
        edit(&ws1, &specs, edited);
        let incremental = build(&ws1, &out1, other);
        prop_assert!(incremental != a, "the edit changed nothing");
        same("a fresh directory after the edit", &incremental, &build(&ws1, &tmp.path().join("fresh"), base));
        std::fs::remove_dir_all(ws1.join(".platc/cache")).unwrap();
        same("caches deleted, a fresh directory", &incremental, &build(&ws1, &tmp.path().join("cold"), opposite));
        std::fs::remove_dir_all(ws1.join(".platc/cache")).unwrap();
        same("caches deleted, the same directory", &incremental, &build(&ws1, &out1, base));
        edit(&ws2, &specs, edited);
        same("the edit in the shuffled workspace, incremental", &incremental, &build(&ws2, &out2, opposite));
    }
}
