//! YAML in (with spans) and canonical YAML out.

pub mod node;
pub mod read;
pub mod text;
pub mod write;
pub use node::{Node, NodeKind};
