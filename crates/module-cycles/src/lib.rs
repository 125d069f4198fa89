//! Import circles between the modules of a crate, found from its source alone: [`tree`] reads the crate's module
//! tree the way rustc does (`mod x;` → `x.rs` or `x/mod.rs`, inline `mod x { … }`; `#[cfg(test)]` modules left
//! out), [`refs`] collects every path a module names (`use` trees, paths in code and types, `crate::`/`super::`
//! paths inside macro calls), and [`graph`] resolves them to modules and reports each strongly connected set of
//! modules with the imports that tie it together.
//!
//! A light stand-in for `cargo modules dependencies --acyclic`, whose install compiles rust-analyzer (the README's
//! contributing section says why that does not fit CI). It does not expand macros or follow re-exports through
//! `pub use` chains: an import counts as an edge to the module it names.
#![forbid(unsafe_code)]

pub mod graph;
pub mod refs;
pub mod tree;

pub use graph::{Cycle, Graph};
pub use tree::{Module, TreeError};

#[cfg(test)]
mod tests;
