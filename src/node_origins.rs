//! Field origins of single graph nodes of a compilation, recorded on demand: the node is rendered
//! again with recording on and nothing else of its environment is. `check` locates a finding in
//! a provisioned manifest with them, so the template line it names is the one `platc explain`
//! names for that field (both read what the renderer recorded; neither searches the template's
//! text).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::diag::Span;
use crate::fieldpath;
use crate::pipeline::{Compilation, EnvResult};
use crate::render::origins::{Origin, Origins, Sources};
use crate::render::{self, EnvCx, Object};
use crate::template::Templates;

/// Object path → its record, for the objects of one node.
type Recorded = BTreeMap<String, Origins>;

pub struct NodeOrigins<'c> {
    c: &'c Compilation,
    /// Compiled at the first question (most checks ask none); `None` when the platform's
    /// templates do not compile, which a compilation that got here rules out.
    templates: OnceLock<Option<Templates>>,
    sources: Sources<'c>,
    /// (environment, node) → its objects' records, each node rendered at most once.
    made: Mutex<BTreeMap<(String, String), Arc<Recorded>>>,
}

impl<'c> NodeOrigins<'c> {
    pub fn new(c: &'c Compilation) -> NodeOrigins<'c> {
        NodeOrigins {
            c,
            templates: OnceLock::new(),
            sources: Sources::new(&c.workloads),
            made: Mutex::new(BTreeMap::new()),
        }
    }

    /// The line of a platform template that wrote `field` of object `o` (a field path as
    /// [`crate::fieldpath`] writes it), from the record of `o`'s node: the record at the field
    /// or its nearest ancestor; for a field the object lacks (a missing `securityContext`), the
    /// first template line written below its nearest present ancestor. `None` when no
    /// template line is recorded there (a built-in template, a field the renderer completes).
    pub fn template_line(&self, env: &EnvResult, o: &Object, field: &str) -> Option<Span> {
        let recorded = self.of_node(env, &o.provenance.node)?;
        template_line_in(recorded.get(&o.path)?, field)
    }

    fn of_node(&self, env: &EnvResult, node: &str) -> Option<Arc<Recorded>> {
        let key = (env.resolution.env.clone(), node.to_string());
        if let Some(r) = self.made.lock().ok()?.get(&key) {
            return Some(r.clone());
        }
        let cx = EnvCx::new(
            &self.c.platform,
            self.templates
                .get_or_init(|| Templates::new(&self.c.platform).ok())
                .as_ref()?,
            &env.resolution,
            &env.graph,
        )
        .only(node)
        .recording(Some(&self.sources));
        let recorded: Recorded = render::render_env(&cx)
            .ok()?
            .into_iter()
            .filter(|o| o.provenance.node == node)
            .filter_map(|o| Some((o.path, *o.origins?)))
            .collect();
        let recorded = Arc::new(recorded);
        self.made.lock().ok()?.insert(key, recorded.clone());
        Some(recorded)
    }
}

/// The line of a workspace template in `origins`: a built-in template is not a file the
/// platform team can open, so a finding there is left to the resource's request.
fn template_at(origins: &[Origin]) -> Option<&Span> {
    origins.iter().find_map(|o| match o {
        Origin::Template { template, at, .. } if !crate::stdlib::is_builtin_template(template) => {
            Some(at)
        }
        _ => None,
    })
}

/// See [`NodeOrigins::template_line`].
fn template_line_in(origins: &Origins, field: &str) -> Option<Span> {
    if let Some(at) = origins.of(field).and_then(|(_, o)| template_at(o)) {
        return Some(at.clone());
    }
    let mut at = Some(field);
    while let Some(path) = at {
        let first = origins
            .below(path)
            .filter_map(|(_, o)| template_at(o))
            .min_by_key(|s| (s.line, s.col));
        if first.is_some() {
            return first.cloned();
        }
        at = fieldpath::parent(path);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::origins::TemplateLine;

    fn line(n: u32) -> Vec<Origin> {
        vec![Origin::Template {
            template: "t.yaml.j2".into(),
            at: Span::new("platform/t.yaml.j2".to_string(), n, 3),
            how: TemplateLine::Rendered,
        }]
    }

    #[test]
    fn a_field_is_answered_by_its_record_else_the_first_line_below_its_ancestors() {
        let mut o = Origins::default();
        o.0.insert("spec.replicas".into(), line(7));
        o.0.insert(
            "spec.template.spec.containers[name=db].image".into(),
            line(12),
        );
        o.0.insert(
            "spec.template.spec.containers[name=db].name".into(),
            line(11),
        );
        o.0.insert("metadata.namespace".into(), vec![]);
        let at = |f: &str| template_line_in(&o, f).map(|s| s.line);
        assert_eq!(at("spec.replicas"), Some(7));
        // A field the object lacks: the container it would belong to starts at line 11.
        assert_eq!(
            at("spec.template.spec.containers[name=db].securityContext.privileged"),
            Some(11)
        );
        assert_eq!(at("spec.template.spec.hostNetwork"), Some(11));
        // A record without a template line is not answered by an unrelated line of the object.
        assert_eq!(at("metadata.namespace"), None);
        assert_eq!(template_line_in(&Origins::default(), "spec"), None);
    }

    #[test]
    fn a_built_in_templates_line_is_not_a_findings_place() {
        let mut o = Origins::default();
        o.0.insert(
            "spec.instances".into(),
            vec![Origin::Template {
                template: "platc/postgres/cnpg-cluster.yaml.j2".into(),
                at: Span::new(
                    "<stdlib>/templates/postgres/cnpg-cluster.yaml.j2".to_string(),
                    9,
                    3,
                ),
                how: TemplateLine::Rendered,
            }],
        );
        assert_eq!(template_line_in(&o, "spec.instances"), None);
        assert_eq!(template_line_in(&o, "spec.storage"), None);
    }
}
