//! A workload's resource requests (`resources.<name>`): type, class, id, metadata and params,
//! whose strings are checked for placeholders at any depth.

use std::collections::BTreeMap;

use crate::diag::Spanned;
use crate::model::ResourceRequest;
use crate::yaml::{Node, NodeKind};

use super::Loader;
use super::fields::{RESOURCE_FIELDS, get, join};
use super::patterns::{ID_RULE, TYPE_RULE, is_resource_id, is_type_name, suggest_label};

impl Loader<'_> {
    pub(super) fn resource(
        &mut self,
        key: &Spanned<String>,
        node: &Node,
    ) -> Option<ResourceRequest> {
        let path = format!("resources.{}", key.value);
        let entries = self.fields(node, &path, RESOURCE_FIELDS)?;
        let rtype = self
            .required(entries, "type", &key.span, &path)
            .and_then(|v| self.string(v, &join(&path, "type")));
        if let Some(t) = &rtype {
            self.check_name(t, is_type_name(&t.value), "resource type", TYPE_RULE, None);
        }
        let class = get(entries, "class").and_then(|v| self.string(v, &join(&path, "class")));
        if let Some(c) = &class {
            self.check_name(c, is_type_name(&c.value), "resource class", TYPE_RULE, None);
        }
        let id = get(entries, "id").and_then(|v| self.string(v, &join(&path, "id")));
        if let Some(i) = &id {
            let ok = is_resource_id(&i.value);
            let fix = if ok { None } else { suggest_label(&i.value) };
            self.check_name(i, ok, "resource id", ID_RULE, fix);
        }
        let mut annotations = BTreeMap::new();
        let mut metadata = None;
        if let Some(m) = get(entries, "metadata") {
            let mpath = join(&path, "metadata");
            if let Some(me) = self.mapping(m, &mpath) {
                if let Some(a) = get(me, "annotations") {
                    annotations = self.annotations(a, &join(&mpath, "annotations"));
                }
                metadata = Some(m.clone());
            }
        }
        let mut params = None;
        if let Some(p) = get(entries, "params") {
            let ppath = join(&path, "params");
            if self.mapping(p, &ppath).is_some() {
                self.params_placeholders(p, &ppath);
                params = Some(p.clone());
            }
        }
        Some(ResourceRequest {
            key: key.clone(),
            resource_type: rtype?,
            class,
            id,
            params,
            annotations,
            metadata,
        })
    }

    fn params_placeholders(&mut self, node: &Node, path: &str) {
        match &node.kind {
            NodeKind::Scalar { text, .. } => self.check_placeholders(text, node, path),
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.params_placeholders(item, &format!("{path}[{i}]"));
                }
            }
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    self.params_placeholders(v, &join(path, &k.value));
                }
            }
            NodeKind::Null => {}
        }
    }
}
