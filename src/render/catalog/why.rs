//! What the catalog's entities are made from, recorded when asked: each relation (`dependsOn`,
//! `consumesApis`, `providesApis`, `members`, `memberOf`) → the graph edge or platform setting
//! behind it and the Score line that created it; the rest from the team's settings or the
//! workload's Score file by the renderer's rules. The catalog is rendered once for all
//! environments: an edge is named from the first environment (in promotion order) that has it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::names::Names;
use crate::graph::{EdgeKind, resource_id, workload_id};
use crate::model::Platform;
use crate::render::origins::{Origin, Recorder, Sources, platform, service_links};
use crate::resolve::{EnvResolution, Instance, RPort, RWorkload};

const CAT: &str = "developer-control";

/// Recording for the catalog; exists only when the compilation records origins.
pub(super) struct Why<'a> {
    pub(super) platform: &'a Platform,
    pub(super) sources: &'a Sources<'a>,
}

/// A recorder that is off: what every entity gets in a build.
pub(super) fn off() -> Recorder {
    Recorder::new(false)
}

fn frame(rec: &mut Recorder, made: Vec<Origin>) {
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || made.clone());
    }
}

/// `path[i]` for each item of a sorted relation list, with the causes gathered for it.
fn relation(
    rec: &mut Recorder,
    path: &str,
    items: &[String],
    causes: &BTreeMap<String, Vec<Origin>>,
) {
    for (ix, item) in items.iter().enumerate() {
        if let Some(o) = causes.get(item) {
            rec.record(|| crate::fieldpath::index(path, ix), || o.clone());
        }
    }
}

/// What an annotation of platc's says, by its key.
fn annotation_rule(key: &str) -> &'static str {
    match key {
        "platc.dev/team" => "the team the entity belongs to",
        "platc.dev/argocd-project" => "the team's Argo CD project",
        "platc.dev/idp-group" => "the team's group in the identity provider",
        "platc.dev/source" => "the Score file the entity was rendered from",
        "platc.dev/port" => "the service port the API is served on",
        "platc.dev/environments" => "the environments that run it, in promotion order",
        "platc.dev/namespaces" => "its namespace in each environment",
        "platc.dev/profile" => "its profile in each environment",
        "platc.dev/provisioner" => "its provisioner in each environment",
        "platc.dev/instance" => "the resource instance's key (type, class, id)",
        "platc.dev/class" => "the resource instance's class",
        "platc.dev/requires" => "the components its provisioner requires",
        "argocd/app-selector" => "the portal finds the workload's Applications by their labels",
        "backstage.io/kubernetes-label-selector" => {
            "the portal finds the workload's objects by their name label"
        }
        _ => "an annotation of the entity",
    }
}

/// An entity's name, description, annotations and tags (`entity` as made), each by its rule,
/// after what the entity is made for (`made`).
fn identity(rec: &mut Recorder, entity: &Value, subject: &str, made: &[Origin]) {
    let with = |r: &'static str| {
        let mut o = vec![Origin::rule(CAT, r, subject)];
        o.extend(made.iter().cloned());
        o
    };
    rec.at("metadata.name", || {
        with("an entity is named by the catalog's name rules: lower-case, unique per kind")
    });
    rec.at("metadata.description", || {
        with("the description says what the entity stands for")
    });
    let meta = &entity["metadata"];
    if let Some(a) = meta["annotations"].as_object() {
        for k in a.keys() {
            rec.record(
                || crate::fieldpath::key("metadata.annotations", k),
                || with(annotation_rule(k)),
            );
        }
    }
    let tags = meta["tags"].as_array().map_or(0, Vec::len);
    for ix in 0..tags {
        rec.record(
            || crate::fieldpath::index("metadata.tags", ix),
            || with("a tag per environment that runs it"),
        );
    }
}

impl Why<'_> {
    fn team(&self, team: &str) -> Origin {
        platform(self.platform, &[format!("teams.{team}"), "teams".into()])
    }

    fn owners(&self, team: &str) -> Origin {
        platform(
            self.platform,
            &[format!("teams.{team}.owners"), format!("teams.{team}")],
        )
    }

    fn workload(&self, w: &str) -> Vec<Origin> {
        self.sources
            .score(w)
            .map(|s| Origin::score(format!("metadata.name of workload {w}"), &s.name.span))
            .into_iter()
            .collect()
    }

    /// A team's Group: its settings; its members from its owners.
    pub(super) fn group(&self, team: &str, members: &[String], entity: &Value) -> Recorder {
        let mut rec = Recorder::new(true);
        let made = vec![
            Origin::rule(CAT, "a Group per team", format!("team {team}")),
            self.team(team),
        ];
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, &format!("team {team}"), &made);
        let p = self.platform;
        rec.at("metadata.description", || {
            vec![platform(
                p,
                &[format!("teams.{team}.description"), format!("teams.{team}")],
            )]
        });
        let rule = |r: &'static str| {
            vec![
                Origin::rule(CAT, r, format!("team {team}")),
                self.team(team),
            ]
        };
        rec.at("spec.type", || rule("a team's Group is of type `team`"));
        rec.at("spec.profile.displayName", || {
            rule("a Group is displayed by its team's name")
        });
        rec.at("spec.children", || rule("teams have no sub-groups"));
        rec.at("spec", || made);
        let causes = members
            .iter()
            .map(|m| (m.clone(), vec![self.owners(team)]))
            .collect();
        relation(&mut rec, "spec.members", members, &causes);
        rec
    }

    /// A team's System, owned by its Group.
    pub(super) fn system(&self, team: &str, entity: &Value) -> Recorder {
        let mut rec = Recorder::new(true);
        let made = vec![
            Origin::rule(
                CAT,
                "a System per team, owned by the team's Group",
                format!("team {team}"),
            ),
            self.team(team),
        ];
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, &format!("team {team}"), &made);
        rec.at("spec.owner", || made.clone());
        rec.at("spec", || made);
        rec
    }

    /// An owner's User: the teams that list the e-mail.
    pub(super) fn user(
        &self,
        teams: &BTreeSet<String>,
        member_of: &[String],
        entity: &Value,
    ) -> Recorder {
        let mut rec = Recorder::new(true);
        let mut made = vec![Origin::rule(
            CAT,
            "a User per owner e-mail of any team",
            "teams",
        )];
        made.extend(teams.iter().map(|t| self.owners(t)));
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, "teams", &made);
        rec.at("spec.profile.email", || made.clone());
        rec.at("spec", || made);
        let causes = teams
            .iter()
            .zip(member_of)
            .map(|(t, g)| (g.clone(), vec![self.owners(t)]))
            .collect();
        relation(&mut rec, "spec.memberOf", member_of, &causes);
        rec
    }

    /// A workload's Component: its relations from the graph edges of every environment.
    pub(super) fn component(
        &self,
        names: &Names,
        w: &RWorkload,
        seen: &[(&EnvResolution, &RWorkload)],
        entity: &Value,
    ) -> Recorder {
        let mut rec = Recorder::new(true);
        let spec = &entity["spec"];
        let id = workload_id(&w.name);
        let mut made = vec![Origin::rule(CAT, "a Component per workload", id.clone())];
        made.extend(self.workload(&w.name));
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, &id, &made);
        rec.at("spec.type", || {
            vec![
                Origin::rule(
                    CAT,
                    "a Component's type: cronjob, else service with ports, else worker",
                    id.clone(),
                ),
                platform(
                    self.platform,
                    &[
                        format!("profiles.{}.kind", w.profile_name),
                        format!("profiles.{}", w.profile_name),
                    ],
                ),
            ]
        });
        rec.at("spec", || made);
        rec.at("spec.lifecycle", || {
            vec![Origin::rule(
                CAT,
                "production when an environment of type production runs it, else experimental",
                id.clone(),
            )]
        });
        rec.at("spec.owner", || vec![self.team(&w.team)]);
        rec.at("spec.system", || vec![self.team(&w.team)]);
        let (depends, consumes) = self.uses_and_calls(names, w, seen);
        let list = |f: &str| -> Vec<String> {
            spec.get(f)
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        relation(&mut rec, "spec.dependsOn", &list("dependsOn"), &depends);
        relation(
            &mut rec,
            "spec.consumesApis",
            &list("consumesApis"),
            &consumes,
        );
        let provides: BTreeMap<String, Vec<Origin>> = names
            .api_ports_of(&w.name)
            .into_iter()
            .map(|(port, api)| (api, self.port(w, port)))
            .collect();
        relation(
            &mut rec,
            "spec.providesApis",
            &list("providesApis"),
            &provides,
        );
        rec
    }

    /// The causes of a Component's `dependsOn` and `consumesApis` items: the ordering edge
    /// from each resource it uses and the communication edge to each workload it calls, with
    /// the Score request or `service` link behind it.
    fn uses_and_calls(
        &self,
        names: &Names,
        w: &RWorkload,
        seen: &[(&EnvResolution, &RWorkload)],
    ) -> (BTreeMap<String, Vec<Origin>>, BTreeMap<String, Vec<Origin>>) {
        let (mut depends, mut consumes) = (BTreeMap::new(), BTreeMap::new());
        let score = self.sources.score(&w.name);
        for (_, rw) in seen {
            for (rkey, ikey) in &rw.uses {
                let Some(n) = names.resource(ikey) else {
                    continue;
                };
                depends.entry(n).or_insert_with(|| {
                    let mut o = vec![Origin::Edge {
                        from: resource_id(ikey),
                        to: workload_id(&w.name),
                        kind: EdgeKind::Ordering,
                    }];
                    o.extend(score.and_then(|s| s.resources.get(rkey)).map(|r| {
                        Origin::score(
                            format!("resources.{rkey} of workload {}", w.name),
                            &r.key.span,
                        )
                    }));
                    o
                });
            }
            for callee in &rw.calls {
                let call = || {
                    let mut o = vec![Origin::Edge {
                        from: workload_id(&w.name),
                        to: workload_id(callee),
                        kind: EdgeKind::Communication,
                    }];
                    o.extend(service_links(self.sources, &w.name, callee));
                    o
                };
                if let Some(c) = names.component(callee) {
                    depends.entry(c).or_insert_with(call);
                }
                for api in names.apis_of(callee) {
                    consumes.entry(api).or_insert_with(call);
                }
            }
        }
        (depends, consumes)
    }

    /// A service port of the workload, where its Score file writes it.
    fn port(&self, w: &RWorkload, port: &str) -> Vec<Origin> {
        let mut o = vec![Origin::rule(
            CAT,
            "an API per service port",
            workload_id(&w.name),
        )];
        let sp = self
            .sources
            .score(&w.name)
            .and_then(|s| s.service.as_ref())
            .and_then(|s| s.ports.get(port));
        o.extend(sp.map(|p| Origin::score(format!("service.ports.{port}"), &p.name.span)));
        o
    }

    /// An API entity of one service port.
    pub(super) fn api(&self, w: &RWorkload, p: &RPort, entity: &Value) -> Recorder {
        let mut rec = Recorder::new(true);
        let made = self.port(w, &p.name);
        frame(&mut rec, made.clone());
        let id = workload_id(&w.name);
        identity(&mut rec, entity, &id, &made);
        let with = |r: &'static str| {
            let mut o = vec![Origin::rule(CAT, r, id.clone())];
            o.extend(made.iter().cloned());
            o
        };
        rec.at("spec.type", || {
            with("an API's type from its port's name and protocol")
        });
        rec.at("spec.lifecycle", || {
            with("production when an environment of type production runs it, else experimental")
        });
        rec.at("spec.definition", || {
            with("a definition of where the API listens in each environment, nothing more")
        });
        rec.at("spec", || made);
        rec.at("spec.owner", || vec![self.team(&w.team)]);
        rec.at("spec.system", || vec![self.team(&w.team)]);
        rec
    }

    /// An instance's Resource: the request that made it, its `dependsOn` from the ordering
    /// edges of the instances whose outputs its params use.
    pub(super) fn resource(
        &self,
        names: &Names,
        seen: &[(&EnvResolution, &Instance)],
        depends: &[String],
        entity: &Value,
    ) -> Recorder {
        let mut rec = Recorder::new(true);
        let Some((_, first)) = seen.first() else {
            return rec;
        };
        let id = resource_id(&first.key);
        let made = vec![
            Origin::rule(
                CAT,
                "one Resource per provisioned instance across environments",
                id.clone(),
            ),
            Origin::score(
                format!("the request of resource {}", first.name),
                &first.span,
            ),
        ];
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, &id, &made);
        rec.at("spec.type", || made.clone());
        rec.at("spec", || made);
        rec.at("spec.owner", || vec![self.team(&first.team)]);
        rec.at("spec.system", || vec![self.team(&first.team)]);
        let mut causes: BTreeMap<String, Vec<Origin>> = BTreeMap::new();
        for (_, i) in seen {
            for k in &i.needs {
                let Some(n) = names.resource(k) else { continue };
                causes.entry(n).or_insert_with(|| {
                    vec![
                        Origin::Edge {
                            from: resource_id(k),
                            to: resource_id(&i.key),
                            kind: EdgeKind::Ordering,
                        },
                        Origin::score(format!("the request of resource {}", i.name), &i.span),
                        Origin::rule(
                            "resolve",
                            "a resource whose params use another's outputs is provisioned after it",
                            format!("{} → {}", resource_id(k), resource_id(&i.key)),
                        ),
                    ]
                });
            }
        }
        relation(&mut rec, "spec.dependsOn", depends, &causes);
        rec
    }

    /// The Location that lists every entity file.
    pub(super) fn location(&self, entity: &Value) -> Recorder {
        let mut rec = Recorder::new(true);
        let made = vec![
            Origin::rule(
                CAT,
                "a Location listing every entity file of the catalog",
                "the catalog",
            ),
            platform(self.platform, &["name".into()]),
        ];
        frame(&mut rec, made.clone());
        identity(&mut rec, entity, "the catalog", &made);
        let targets = entity["spec"]["targets"].as_array().map_or(0, Vec::len);
        for ix in 0..targets {
            rec.record(
                || crate::fieldpath::index("spec.targets", ix),
                || {
                    vec![Origin::rule(
                        CAT,
                        "each entity file of the catalog, by its path below the catalog",
                        "the catalog",
                    )]
                },
            );
        }
        rec.at("spec", || made);
        rec
    }
}
