//! A Group and a System per team, a User per owner e-mail, each field recorded beside its value
//! (the team's settings, its owners).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::entity::{CAT, Cat, Made, prov};
use super::names::Names;
use super::{API_VERSION, Owners};
use crate::model::Team;
use crate::render::Object;
use crate::render::origins::{Origin, platform};

const USERS_DIR: &str = "catalog/_users";
const PLATFORM_SOURCE: &str = "platform/main.ncl";

/// A Group and a System per team, in team order.
pub(super) fn team_entities(cx: Cat<'_>, names: &Names) -> Vec<Object> {
    let mut out = Vec::new();
    for (team, t) in &cx.platform.teams {
        let dir = names.team_dir(team);
        for (m, value) in [group(cx, names, team, t), system(cx, names, team)] {
            out.push(m.object(&dir, value, prov(PLATFORM_SOURCE, String::new())));
        }
    }
    out
}

/// A team's Group: its settings; its members from its owners.
fn group(cx: Cat<'_>, names: &Names, team: &str, t: &Team) -> (Made, Value) {
    let p = cx.platform;
    let mut m = Made::new(
        cx,
        || format!("team {team}"),
        || {
            vec![
                Origin::rule(CAT, "a Group per team", format!("team {team}")),
                cx.team(team),
            ]
        },
    );
    let description = t
        .description
        .clone()
        .unwrap_or_else(|| format!("Team {team}."));
    let mut meta = m.identity(&names.team(team), Some(description));
    m.rec.at("metadata.description", || {
        vec![platform(
            p,
            &[format!("teams.{team}.description"), format!("teams.{team}")],
        )]
    });
    let mut annotations = Map::new();
    annotations.insert("platc.dev/team".into(), json!(team));
    annotations.insert("platc.dev/argocd-project".into(), json!(t.project));
    if let Some(g) = &t.group {
        annotations.insert("platc.dev/idp-group".into(), json!(g));
    }
    m.annotations(&mut meta, annotations);
    let rule = |r: &'static str| vec![Origin::rule(CAT, r, format!("team {team}")), cx.team(team)];
    m.rec
        .at("spec.type", || rule("a team's Group is of type `team`"));
    m.rec.at("spec.profile.displayName", || {
        rule("a Group is displayed by its team's name")
    });
    m.rec
        .at("spec.children", || rule("teams have no sub-groups"));
    let made = m.made();
    m.rec.at("spec", || made);
    let members: BTreeSet<String> = t
        .owners
        .iter()
        .filter_map(|o| names.user(o))
        .map(|n| format!("user:default/{n}"))
        .collect();
    let members = members.into_iter().collect();
    let members = m.relation("spec.members", members, || {
        t.owners
            .iter()
            .filter_map(|o| names.user(o))
            .map(|n| (format!("user:default/{n}"), vec![cx.owners(team)]))
            .collect()
    });
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": "Group",
        "metadata": meta,
        "spec": {
            "type": "team",
            "profile": {"displayName": team},
            "children": [],
            "members": members,
        },
    });
    (m, value)
}

/// A team's System, owned by its Group.
fn system(cx: Cat<'_>, names: &Names, team: &str) -> (Made, Value) {
    let mut m = Made::new(
        cx,
        || format!("team {team}"),
        || {
            vec![
                Origin::rule(
                    CAT,
                    "a System per team, owned by the team's Group",
                    format!("team {team}"),
                ),
                cx.team(team),
            ]
        },
    );
    let description = format!("Workloads, APIs and resources of team {team} (rendered by platc).");
    let mut meta = m.identity(&names.team(team), Some(description));
    let mut annotations = Map::new();
    annotations.insert("platc.dev/team".into(), json!(team));
    m.annotations(&mut meta, annotations);
    let made = m.made();
    m.rec.at("spec.owner", || made.clone());
    m.rec.at("spec", || made);
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": "System",
        "metadata": meta,
        "spec": {"owner": names.group(team)},
    });
    (m, value)
}

/// A User per owner, in owner order: the teams that list the e-mail.
pub(super) fn user_entities(cx: Cat<'_>, owners: &Owners, names: &Names) -> Vec<Object> {
    let mut out = Vec::new();
    for (email, teams) in owners.values() {
        let Some(un) = names.user(email) else {
            continue;
        };
        let mut m = Made::new(
            cx,
            || "teams".to_string(),
            || {
                let mut made = vec![Origin::rule(
                    CAT,
                    "a User per owner e-mail of any team",
                    "teams",
                )];
                made.extend(teams.iter().map(|t| cx.owners(t)));
                made
            },
        );
        let meta = m.identity(un, None);
        let made = m.made();
        m.rec.at("spec.profile.email", || made.clone());
        m.rec.at("spec", || made);
        // A user's groups, in its teams' order (each team's Group is its own).
        let member_of: Vec<String> = teams.iter().map(|t| names.group(t)).collect();
        for (ix, t) in teams.iter().enumerate() {
            m.rec.record(
                || crate::fieldpath::index("spec.memberOf", ix),
                || vec![cx.owners(t)],
            );
        }
        let user = json!({
            "apiVersion": API_VERSION,
            "kind": "User",
            "metadata": meta,
            "spec": {"profile": {"email": email}, "memberOf": member_of},
        });
        out.push(m.object(USERS_DIR, user, prov(PLATFORM_SOURCE, String::new())));
    }
    out
}
