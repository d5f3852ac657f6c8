//! The embedded platc standard library (Nickel contracts and templates).
//!
//! Everything here is compiled into the binary so a platform can `import "platc.ncl"` and name
//! templates `platc/<type>/<file>` without any platc files on disk. The platform loader registers
//! the Nickel files as in-memory sources under a virtual directory; see `load::platform`.

/// Nickel files of the standard library: (name relative to the stdlib root, contents).
/// `platc.ncl` is the entry a platform imports.
pub const NICKEL_FILES: &[(&str, &str)] = &[("platc.ncl", include_str!("../stdlib/platc.ncl"))];

/// The file a platform imports (`import "platc.ncl"`).
pub const ENTRY: &str = "platc.ncl";

/// How stdlib files are named in spans and `Platform::sources`.
pub const DISPLAY: &str = "<stdlib>";

/// Built-in manifest templates' names start with this; a workspace's cannot.
const BUILTIN_TEMPLATE_PREFIX: &str = "platc/";

/// Whether a manifest template is the stdlib's (not a file of the workspace).
pub fn is_builtin_template(name: &str) -> bool {
    name.starts_with(BUILTIN_TEMPLATE_PREFIX)
}

/// The file a manifest template is read from, as positions name files: the stdlib's
/// (`platc/…`) under `<stdlib>/templates/`, the workspace's relative to `platform/`.
pub fn template_file(name: &str) -> String {
    match name.strip_prefix(BUILTIN_TEMPLATE_PREFIX) {
        Some(rest) => format!("{DISPLAY}/templates/{rest}"),
        None => format!("platform/{name}"),
    }
}

/// Built-in manifest templates: (name as a provisioner's `manifests` entry names it, source).
/// Names are `platc/<resource type>/<file>`; the sources live in `stdlib/templates/<type>/<file>`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "platc/amqp/rabbitmq-cluster.yaml.j2",
        include_str!("../stdlib/templates/amqp/rabbitmq-cluster.yaml.j2"),
    ),
    (
        "platc/dns/dns-endpoint.yaml.j2",
        include_str!("../stdlib/templates/dns/dns-endpoint.yaml.j2"),
    ),
    (
        "platc/kafka-topic/kafka-topic.yaml.j2",
        include_str!("../stdlib/templates/kafka-topic/kafka-topic.yaml.j2"),
    ),
    (
        "platc/mongodb/mongodb-community.yaml.j2",
        include_str!("../stdlib/templates/mongodb/mongodb-community.yaml.j2"),
    ),
    (
        "platc/postgres/cnpg-cluster.yaml.j2",
        include_str!("../stdlib/templates/postgres/cnpg-cluster.yaml.j2"),
    ),
    (
        "platc/redis/redis.yaml.j2",
        include_str!("../stdlib/templates/redis/redis.yaml.j2"),
    ),
    (
        "platc/route/route.yaml.j2",
        include_str!("../stdlib/templates/route/route.yaml.j2"),
    ),
    (
        "platc/volume/pvc.yaml.j2",
        include_str!("../stdlib/templates/volume/pvc.yaml.j2"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_are_sorted_unique_and_namespaced() {
        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("platc/") && n.ends_with(".j2"))
        );
    }

    #[test]
    fn entry_is_embedded() {
        assert!(
            NICKEL_FILES
                .iter()
                .any(|(n, src)| *n == ENTRY && src.contains("Platform"))
        );
    }
}
