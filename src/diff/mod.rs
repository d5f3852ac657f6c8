//! `platc diff`: what a change to the platform or the workloads does to the rendered tree, object
//! by object, for review in a pull request.
//!
//! Three sources for the "before" side: a directory holding a rendered tree, the same workspace at
//! another Git revision (read from Git's object store into a temporary directory, never through
//! the user's working tree or index), or the tree published on a branch of a GitOps repository.
//! Both sides are parsed, so reformatting and key order are not changes; objects are matched by
//! file path and, inside multi-document files, by apiVersion/kind/namespace/name. Secret values
//! are masked before anything is turned into text. Nothing here prints.

mod affected;
mod compare;
mod fields;
mod markdown;
mod mask;
mod paths;
mod source;
mod text;

use std::collections::BTreeMap;

pub use affected::{Affected, affected, affected_mermaid};
pub use compare::{Change, ChangeKind, Diff, FieldChange, FileDiff, Summary, diff_trees};
pub use fields::{field_changes, field_diff};
pub use markdown::{MARKDOWN_BUDGET, MarkdownOptions, to_markdown};
pub use mask::{MASK, masked, secret_looking};
pub use paths::only_envs;
pub use source::*;
pub use text::{summary_line, to_json, to_text, unified};

/// Relative `/`-separated path → bytes: one side of a comparison.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Trees and objects shared by the tests of every part of the diff.
#[cfg(test)]
mod test_support {
    use super::Files;

    pub fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    pub const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: team-dev\n  labels:\n    platc.dev/environment: dev\n    platc.dev/plane: resource\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        env:\n        - name: DB_PASSWORD\n          value: hunter2\n        - name: MODE\n          value: fast\n      - name: sidecar\n        image: side:1\n";
}
