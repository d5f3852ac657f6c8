//! platc: compiles a platform (Nickel) and workloads (Score YAML) into a deterministic GitOps tree.
//! See ARCHITECTURE.md for the pipeline and the invariants.

pub mod aside;
pub mod bench;
pub mod build;
pub mod cache;
pub mod diag;
pub mod diff;
pub mod digest;
pub mod discover;
pub mod emit;
pub mod explain;
pub mod fieldpath;
/// Fuzz target bodies (`fuzz/`), also run by `tests/fuzz_regressions.rs`; not an interface.
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod init;
pub mod load;
pub(crate) mod maker;
pub mod memo;
pub mod model;
pub mod node_origins;
pub mod ownership;
pub mod pipeline;
pub mod policy;
pub mod publish;
pub mod redact;
pub mod render;
pub mod resolve;
pub mod schema;
pub mod stdlib;
pub mod template;
pub mod watch;
pub mod workload_schema;
pub mod yaml;
