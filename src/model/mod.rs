//! The typed intermediate representation: what the loaders produce and every later stage reads.
//! Plain data, no I/O. Platform types deserialize from the exported Nickel value; workload types
//! are built by the Score loader and keep the spans of everything a later error may point at.

mod platform;
mod profile;
mod provisioner;
mod workload;

pub use platform::*;
pub use profile::*;
pub use provisioner::*;
pub use workload::*;
