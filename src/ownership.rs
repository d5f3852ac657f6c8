//! Who owns a workload and which golden path it follows. A plain Score file carries no platc
//! annotation, so the platform decides: the workload's `platc.dev/team` / `platc.dev/profile`
//! annotation when there is one, else the platform's path claims (each team's `paths`,
//! `profile_paths`, read like CODEOWNERS), else `default_team` / `default_profile`.
//! Resolve, the policies and `platc explain` all ask here, so they cannot disagree.

use crate::diag::{Code, Diagnostic, Span, did_you_mean};
use crate::discover::glob_match;
use crate::model::{ANN_PROFILE, ANN_TEAM, Platform, Workload};

/// What decided a choice, for messages and `platc explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The workload's own annotation, at its span.
    Annotation(Span),
    /// A path claim of the platform: the field that holds it (`teams.payments.paths`) and the
    /// glob that matched.
    Path { field: String, glob: String },
    /// The platform's default (`default_team` or `default_profile`).
    Default(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    pub origin: Origin,
}

impl Choice {
    /// One line for explain: where the choice was made.
    pub fn describe(&self, what: &str) -> String {
        match &self.origin {
            Origin::Annotation(span) => {
                format!("{what} `{}` from its annotation at {span}", self.name)
            }
            Origin::Path { field, glob } => {
                format!("{what} `{}` from platform {field} (`{glob}`)", self.name)
            }
            Origin::Default(field) => format!("{what} `{}` from platform {field}", self.name),
        }
    }
}

/// Does a claim glob match a workspace-relative file? `**` spans directories and a pattern
/// ending in `/` claims everything below that directory, as in CODEOWNERS.
pub fn claims(glob: &str, file: &str) -> bool {
    let glob = glob.trim_start_matches("./").trim_start_matches('/');
    let owned;
    let glob = if glob.ends_with('/') {
        owned = format!("{glob}**");
        owned.as_str()
    } else {
        glob
    };
    let pattern: Vec<&str> = glob.split('/').collect();
    let path: Vec<&str> = file.split('/').collect();
    glob_match(&pattern, &path)
}

/// The first glob of each claimant that matches `file`.
fn claimants<'a>(
    claims_by_name: impl Iterator<Item = (&'a String, &'a Vec<String>)>,
    file: &str,
) -> Vec<(&'a str, &'a str)> {
    claims_by_name
        .filter_map(|(name, globs)| {
            globs
                .iter()
                .find(|g| claims(g, file))
                .map(|g| (name.as_str(), g.as_str()))
        })
        .collect()
}

pub fn team_of(platform: &Platform, w: &Workload) -> Result<Choice, Diagnostic> {
    let names = || join_names(platform.teams.keys());
    if let Some(t) = &w.team {
        return annotated(t, platform.teams.keys(), Code::UnknownTeam, "team");
    }
    let found = claimants(platform.teams.iter().map(|(n, t)| (n, &t.paths)), &w.file);
    match found.as_slice() {
        [(team, glob)] => Ok(Choice {
            name: team.to_string(),
            origin: Origin::Path {
                field: format!("teams.{team}.paths"),
                glob: glob.to_string(),
            },
        }),
        [] => match &platform.default_team {
            Some(t) => Ok(Choice {
                name: t.clone(),
                origin: Origin::Default("default_team"),
            }),
            None => Err(Diagnostic::at(
                Code::UnknownTeam,
                &w.name.span,
                format!(
                    "workload `{}` has no owning team: no team's `paths` claims `{}` and the platform sets no `default_team`",
                    w.name.value, w.file
                ),
            )
            .with_help(format!(
                "claim the file in a team's `paths` (or set `default_team`) in the platform, or add the annotation `{ANN_TEAM}: <team>` (teams: {})",
                names()
            ))),
        },
        many => Err(ambiguous(w, Code::UnknownTeam, "team", ANN_TEAM, "teams.<team>.paths", many)),
    }
}

pub fn profile_of(platform: &Platform, w: &Workload) -> Result<Choice, Diagnostic> {
    if let Some(p) = &w.profile {
        return annotated(p, platform.profiles.keys(), Code::UnknownProfile, "profile");
    }
    let found = claimants(platform.profile_paths.iter(), &w.file);
    match found.as_slice() {
        [(profile, glob)] => Ok(Choice {
            name: profile.to_string(),
            origin: Origin::Path {
                field: format!("profile_paths.{profile}"),
                glob: glob.to_string(),
            },
        }),
        [] => Ok(Choice {
            name: platform.default_profile.clone(),
            origin: Origin::Default("default_profile"),
        }),
        many => Err(ambiguous(
            w,
            Code::UnknownProfile,
            "profile",
            ANN_PROFILE,
            "profile_paths",
            many,
        )),
    }
}

/// The choice an annotation names, if the platform knows it.
fn annotated<'a>(
    a: &crate::diag::Spanned<String>,
    known: impl Iterator<Item = &'a String> + Clone,
    code: Code,
    what: &str,
) -> Result<Choice, Diagnostic> {
    if known.clone().any(|k| *k == a.value) {
        return Ok(Choice {
            name: a.value.clone(),
            origin: Origin::Annotation(a.span.clone()),
        });
    }
    let d = Diagnostic::at(code, &a.span, format!("unknown {what} `{}`", a.value));
    Err(
        match did_you_mean(&a.value, known.clone().map(String::as_str)) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None => d.with_help(format!("{what}s: {}", join_names(known))),
        },
    )
}

fn ambiguous(
    w: &Workload,
    code: Code,
    what: &str,
    annotation: &str,
    field: &str,
    found: &[(&str, &str)],
) -> Diagnostic {
    let mut d = Diagnostic::at(
        code,
        &w.name.span,
        format!(
            "workload file `{}` is claimed by {} {what}s: {}",
            w.file,
            found.len(),
            found
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    for (name, glob) in found {
        d = d.with_note(format!("`{name}` claims it with `{glob}`"));
    }
    d.with_help(format!(
        "make the platform's {field} globs disjoint, or pick one with the annotation `{annotation}: <{what}>`"
    ))
}

fn join_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::platform::load_embedded_platform;

    fn workload(file: &str, annotations: &str) -> Workload {
        let text = format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: wl\n{annotations}containers:\n  main:\n    image: ghcr.io/acme/w:1.0.0\n"
        );
        crate::load::score::parse_workload(file, &text, &mut |_| Err("no files".into()))
            .unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn the_annotation_wins_then_path_claims_then_the_default() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let claimed = workload("examples/payments/api/score.yaml", "");
        let t = team_of(&p, &claimed).expect("team");
        assert_eq!(t.name, "payments");
        assert_eq!(
            t.origin,
            Origin::Path {
                field: "teams.payments.paths".into(),
                glob: "examples/payments/".into()
            }
        );
        let annotated = workload(
            "examples/payments/api/score.yaml",
            "  annotations:\n    platc.dev/team: data\n",
        );
        let t = team_of(&p, &annotated).expect("team");
        assert_eq!(t.name, "data");
        assert!(matches!(t.origin, Origin::Annotation(_)));
        let unclaimed = workload("examples/boutique/cart/score.yaml", "");
        let t = team_of(&p, &unclaimed).expect("team");
        assert_eq!(
            (t.name.as_str(), &t.origin),
            ("apps", &Origin::Default("default_team"))
        );
    }

    #[test]
    fn profiles_follow_path_claims_and_fall_back_to_the_default() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let job = workload("examples/data/jobs/nightly/score.yaml", "");
        assert_eq!(profile_of(&p, &job).expect("profile").name, "cron");
        let worker = workload("examples/shop/workers/mailer/score.yaml", "");
        assert_eq!(profile_of(&p, &worker).expect("profile").name, "worker");
        let web = workload("examples/shop/api/score.yaml", "");
        let c = profile_of(&p, &web).expect("profile");
        assert_eq!(
            (c.name.as_str(), &c.origin),
            ("web", &Origin::Default("default_profile"))
        );
        let annotated = workload(
            "examples/data/jobs/nightly/score.yaml",
            "  annotations:\n    platc.dev/profile: worker\n",
        );
        assert_eq!(profile_of(&p, &annotated).expect("profile").name, "worker");
    }

    #[test]
    fn two_claims_are_an_error_naming_both() {
        let mut p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        p.profile_paths
            .insert("web".into(), vec!["examples/**/jobs/**".into()]);
        let job = workload("examples/data/jobs/nightly/score.yaml", "");
        let d = profile_of(&p, &job).expect_err("ambiguous");
        assert_eq!(
            d.message,
            "workload file `examples/data/jobs/nightly/score.yaml` is claimed by 2 profiles: `cron`, `web`"
        );
        assert_eq!(d.span.map(|s| s.line), Some(3));
        p.default_team = None;
        let d = team_of(&p, &workload("elsewhere/score.yaml", "")).expect_err("unowned");
        assert!(
            d.message
                .contains("no team's `paths` claims `elsewhere/score.yaml`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn claims_read_like_codeowners() {
        assert!(claims(
            "examples/payments/",
            "examples/payments/api/score.yaml"
        ));
        assert!(claims(
            "examples/payments/**",
            "examples/payments/api/score.yaml"
        ));
        assert!(claims(
            "/examples/payments/",
            "examples/payments/score.yaml"
        ));
        assert!(claims(
            "**/jobs/**",
            "examples/data/jobs/nightly/score.yaml"
        ));
        assert!(!claims(
            "examples/payments/",
            "examples/payments-old/api/score.yaml"
        ));
        assert!(!claims(
            "examples/payments/*.yaml",
            "examples/payments/api/score.yaml"
        ));
    }
}
