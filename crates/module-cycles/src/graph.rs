//! The import graph of one crate's modules and its cycles: the strongly connected sets of two or more modules
//! (Tarjan's algorithm), each with the imports inside it, any one of which removed would open the circle there.
//!
//! An edge is an import of another module's item, except a module's imports from its own descendants: a parent
//! declares its children, re-exports and drives them (`mod.rs` facades), which is containment. A child importing
//! its parent's items (`super::Error`) counts, so a parent driving a child that imports from a sibling that imports
//! from the parent is still a circle.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::refs;
use crate::tree::Module;

/// An import from one module to another: the first place it is written, and how many places there are.
#[derive(Debug, Clone)]
pub struct Import {
    pub from: usize,
    pub to: usize,
    pub file: PathBuf,
    pub line: usize,
    /// The path as written, e.g. `crate::payment::checkout::CreateRequest`.
    pub text: String,
    pub count: usize,
}

pub struct Graph {
    /// `crate::a::b` names of the modules, by index.
    pub names: Vec<String>,
    /// By (from, to).
    pub imports: BTreeMap<(usize, usize), Import>,
}

/// A set of modules that import each other in a circle, and the imports between them.
pub struct Cycle {
    pub modules: Vec<String>,
    pub imports: Vec<Import>,
}

impl Graph {
    /// The graph of `modules` (one crate, as [`crate::tree::read`] returns it), named under `crate_name`.
    pub fn build(crate_name: &str, modules: &[Module]) -> Graph {
        let index: HashMap<&[String], usize> = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.path.as_slice(), i))
            .collect();
        let mut imports = BTreeMap::new();
        for (from, module) in modules.iter().enumerate() {
            for reference in refs::collect(&module.items) {
                let Some(to) = resolve(&index, module, &reference.segments) else {
                    continue;
                };
                // A module reaching into its own children (declaring, re-exporting, driving them) is
                // containment, not a circle; a child importing its parent's items is an import like any other.
                if to == from || modules[to].path.starts_with(&module.path) {
                    continue;
                }
                imports
                    .entry((from, to))
                    .and_modify(|i: &mut Import| i.count += 1)
                    .or_insert_with(|| Import {
                        from,
                        to,
                        file: module.file.clone(),
                        line: reference.line,
                        text: reference.segments.join("::"),
                        count: 1,
                    });
            }
        }
        let names = modules
            .iter()
            .map(|m| {
                std::iter::once(crate_name.to_owned())
                    .chain(m.path.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("::")
            })
            .collect();
        Graph { names, imports }
    }

    /// Every circle, the modules of each in index order (the crate's declaration order).
    pub fn cycles(&self) -> Vec<Cycle> {
        let mut successors = vec![Vec::new(); self.names.len()];
        for &(from, to) in self.imports.keys() {
            successors[from].push(to);
        }
        strongly_connected(&successors)
            .into_iter()
            .filter(|set| set.len() > 1)
            .map(|mut set| {
                set.sort_unstable();
                let imports = self
                    .imports
                    .values()
                    .filter(|i| set.contains(&i.from) && set.contains(&i.to))
                    .cloned()
                    .collect();
                Cycle {
                    modules: set.iter().map(|&m| self.names[m].clone()).collect(),
                    imports,
                }
            })
            .collect()
    }
}

/// The module a path names: the longest prefix of it that is a module, for paths from `crate`, `self`, `super`
/// or a child module of `module`; `None` for anything else (other crates, local items, prelude names).
fn resolve(
    index: &HashMap<&[String], usize>,
    module: &Module,
    segments: &[String],
) -> Option<usize> {
    let (first, rest) = segments.split_first()?;
    match first.as_str() {
        "crate" => longest_module(index, Vec::new(), rest),
        "self" => longest_module(index, module.path.clone(), rest),
        "super" => {
            let mut base = module.path.clone();
            base.pop()?;
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            longest_module(index, base, rest)
        }
        name if module.children.iter().any(|c| c == name) => {
            longest_module(index, module.path.clone(), segments)
        }
        _ => None,
    }
}

fn longest_module(
    index: &HashMap<&[String], usize>,
    mut path: Vec<String>,
    rest: &[String],
) -> Option<usize> {
    let mut found = index.get(path.as_slice()).copied();
    for segment in rest {
        path.push(segment.clone());
        match index.get(path.as_slice()) {
            Some(&m) => found = Some(m),
            None => break,
        }
    }
    found
}

/// Tarjan's strongly connected components, iteratively (deep module trees must not overflow the stack).
fn strongly_connected(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = successors.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut sets = Vec::new();
    let mut next = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        // (node, position in its successor list)
        let mut work = vec![(start, 0)];
        while let Some(&mut (node, ref mut position)) = work.last_mut() {
            if *position == 0 {
                index[node] = next;
                low[node] = next;
                next += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&succ) = successors[node].get(*position) {
                *position += 1;
                if index[succ] == usize::MAX {
                    work.push((succ, 0));
                } else if on_stack[succ] {
                    low[node] = low[node].min(index[succ]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut set = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    set.push(member);
                    if member == node {
                        break;
                    }
                }
                sets.push(set);
            }
        }
    }
    sets
}
