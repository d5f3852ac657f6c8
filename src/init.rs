//! `platc init`: a new workspace that builds at once. The platform is the reference platform's
//! golden paths, environments (one per environment type), operators and standard provisioners,
//! imported from files written beside a short `main.ncl` that names one team and where workloads
//! live; plus one plain Score workload. Nothing that exists is ever overwritten: every path is
//! checked before the first file is written.

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics};

/// The files of a new workspace named `name` whose rendered tree is published to `repo_url`
/// (relative path, contents).
pub fn files(name: &str, repo_url: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = crate::load::platform::reference_files()
        .filter(|(p, _)| !matches!(*p, "platform/main.ncl" | "platform/teams.ncl"))
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect();
    out.push(("platform/main.ncl".into(), main_ncl(name, repo_url)));
    out.push(("platform/provisioners/custom.ncl".into(), CUSTOM.into()));
    out.push(("workloads/hello/score.yaml".into(), HELLO.into()));
    out.push((".gitignore".into(), "/out/\n/.platc/\n".into()));
    out.sort();
    out
}

/// Writes a new workspace into `dir` (created if missing), publishing to `repo_url` (a
/// placeholder when `None`). Refuses, writing nothing, when any of its files already exists.
pub fn init(dir: &Path, repo_url: Option<&str>) -> Result<Vec<PathBuf>, Diagnostics> {
    let name = workspace_name(dir);
    let placeholder = format!("https://git.example.com/{name}/gitops.git");
    let repo_url = repo_url.unwrap_or(&placeholder);
    // It goes into a Nickel string literal as it is.
    if repo_url.is_empty() || repo_url.contains(['"', '\\', '\n']) || repo_url.contains("%{") {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!("`{repo_url}` is not a repository URL platc init can write into the platform"),
        )
        .with_help("give a URL or path without quotes, backslashes, newlines or `%{`")
        .into());
    }
    let files = files(&name, repo_url);
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| dir.join(p).symlink_metadata().is_ok())
        .map(|(p, _)| p.clone())
        .collect();
    if !existing.is_empty() {
        return Err(Diagnostic::error(
            Code::OutputConflict,
            None,
            format!(
                "`{}` already has {}: platc init writes only into a new workspace",
                dir.display(),
                existing
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_help("choose an empty directory, or move those files away first")
        .into());
    }
    let mut written = Vec::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        let io = |e: std::io::Error| {
            Diagnostics::from(Diagnostic::error(
                Code::Io,
                None,
                format!("cannot write `{}`: {e}", path.display()),
            ))
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // create_new: a file that appeared since the check is still not overwritten.
        use std::io::Write;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

/// A platform name from the directory's name: lower-case letters, digits and dashes.
fn workspace_name(dir: &Path) -> String {
    let raw = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("platform-{name}").trim_end_matches('-').to_string();
    }
    name
}

fn main_ncl(name: &str, repo_url: &str) -> String {
    MAIN.replace("{repo_url}", repo_url).replace("{name}", name)
}

const MAIN: &str = r#"# The platform: what platc compiles workload specs against. Start here.
#
# Everything is checked against the platc standard library's contracts (`platc.Platform`): a
# typo or a dangling reference is reported with file, line and column. The imported files are the
# reference platform's golden paths, environments, operators and provisioners; edit them freely.
let platc = import "platc.ncl" in
{
  name = "{name}",

  # Where developers' Score files live, relative to this workspace.
  workloads = ["workloads/**/score.yaml", "workloads/**/*.score.yaml"],

  # The repository Argo CD syncs; `platc publish` commits the rendered tree there.
  gitops = {
    repo_url = "{repo_url}",
    target_revision = "main",
    path = "",
  },

  # Argo CD destinations, and how traffic gets into each.
  clusters = {
    nonprod = {
      server = "https://nonprod.k8s.example.internal",
      domain = "nonprod.example.com",
      routes = 'ingress,
      ingress_class = "nginx",
    },
    prod = {
      server = "https://prod.k8s.example.internal",
      domain = "example.com",
      routes = 'httproute,
      gateway = { name = "public", namespace = "gateway-system" },
    },
  },

  # dev (development), staging and prod (production), in promotion order.
  environments = import "environments.ncl",

  # One team owns every workload until you add more (a team claims files by `paths`).
  teams = {
    apps = {
      owners = ["you@example.com"],
      group = "team-apps",
      namespace = "apps",
      project = "apps",
      paths = ["workloads/"],
      description = "Every workload of this platform, for now.",
    },
  },
  default_team = "apps",

  # Golden paths: `web` unless a workload's `platc.dev/profile` annotation says otherwise.
  profiles = import "profiles.ncl",
  default_profile = "web",

  # The first provisioner whose type, class and environment match a resource request wins:
  # your own (custom.ncl) come first, so they can also replace a standard one.
  provisioners =
    (import "provisioners/custom.ncl").provisioners
    @ (import "provisioners/network.ncl").provisioners
    @ (import "provisioners/data.ncl").provisioners
    @ (import "provisioners/messaging.ncl").provisioners
    @ (import "provisioners/storage.ncl").provisioners,

  # Operators and controllers installed per cluster (provisioners name the kinds they need).
  components = import "components.ncl",

  schemas = {
    "platform.example.com/v1alpha1/ObjectStorage" = import "schemas/object-storage.ncl",
  },

  # `platc check` runs every built-in policy; listing one configures it. Images are pinned by tag
  # for now; `digest_env_types = ["production"]` requires digests in production.
  policies = [
    {
      id = "images-pinned",
      description = "Images come from the company registry, pinned by tag; never `latest`.",
      severity = "error",
      params = { allowed_registries = ["ghcr.io/acme/"], digest_env_types = [] },
    },
  ],
} | platc.Platform
"#;

const CUSTOM: &str = r#"# Your own resource types: add provisioners here (see docs/adding-a-resource-type.md).
let platc = import "platc.ncl" in
{
  provisioners = [],
} | { provisioners | Array platc.Provisioner }
"#;

const HELLO: &str = r#"# A plain Score workload (https://docs.score.dev): nothing platc-specific in it. Its team and
# golden path come from the platform (`teams.apps.paths`, `default_profile`).
apiVersion: score.dev/v1b1
metadata:
  name: hello
service:
  ports:
    http:
      port: 80
      targetPort: 8080
containers:
  hello:
    image: ghcr.io/acme/hello:1.0.0
    variables:
      DATABASE_URL: postgres://${resources.db.username}@${resources.db.host}:${resources.db.port}/${resources.db.database}
      DATABASE_PASSWORD: ${resources.db.password}
resources:
  db:
    type: postgres
  dns:
    type: dns
  route:
    type: route
    params:
      host: ${resources.dns.host}
      path: /
      port: 80
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_directory() {
        assert_eq!(workspace_name(Path::new("/x/My Platform")), "my-platform");
        assert_eq!(workspace_name(Path::new("/x/42")), "platform-42");
    }
}
