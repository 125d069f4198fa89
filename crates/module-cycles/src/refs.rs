//! The paths one module names: its `use` trees flattened, every path in its code and types, and the
//! `crate::`/`self::`/`super::` paths written inside macro calls (whose bodies syn leaves as tokens). The items of
//! child modules are not walked: each module is a node of its own.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Item, ItemMod, ItemUse, Macro, UseTree};

/// A path as written, split at `::`, and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub segments: Vec<String>,
    pub line: usize,
}

/// Every path named by `items` (a module's own items).
pub fn collect(items: &[Item]) -> Vec<Reference> {
    let mut collector = Collector::default();
    for item in items {
        collector.visit_item(item);
    }
    collector.found
}

#[derive(Default)]
struct Collector {
    found: Vec<Reference>,
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, _: &'ast ItemMod) {
        // A child module: its own node.
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {
        // `pub(crate)`, `pub(super)`: who may see an item, not a use of another module.
    }

    fn visit_item_use(&mut self, item: &'ast ItemUse) {
        if item.leading_colon.is_none() {
            flatten(&item.tree, &mut Vec::new(), &mut self.found);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            self.found.push(Reference {
                segments: path.segments.iter().map(|s| s.ident.to_string()).collect(),
                line: line(path.segments.first().map(|s| s.ident.span())),
            });
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        tokens(mac.tokens.clone(), &mut self.found);
        visit::visit_macro(self, mac);
    }
}

/// `use a::{b, c::d as e, f::*}` → `a::b`, `a::c::d`, `a::f`.
fn flatten(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<Reference>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        // `use a::{self, …}` names `a` itself.
        UseTree::Name(n) if n.ident == "self" => out.push(Reference {
            segments: prefix.to_vec(),
            line: line(Some(n.ident.span())),
        }),
        UseTree::Name(n) => push(prefix, &n.ident, out),
        UseTree::Rename(r) => push(prefix, &r.ident, out),
        UseTree::Glob(g) => out.push(Reference {
            segments: prefix.clone(),
            line: line(Some(g.star_token.spans[0])),
        }),
        UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

fn push(prefix: &[String], last: &syn::Ident, out: &mut Vec<Reference>) {
    let mut segments = prefix.to_vec();
    segments.push(last.to_string());
    out.push(Reference {
        segments,
        line: line(Some(last.span())),
    });
}

/// `crate :: a :: b`, `self :: …` and `super :: super :: …` sequences in a macro call's tokens.
fn tokens(stream: TokenStream, out: &mut Vec<Reference>) {
    let flat: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < flat.len() {
        match &flat[i] {
            TokenTree::Group(group) => tokens(group.stream(), out),
            TokenTree::Ident(ident)
                if ["crate", "self", "super"].contains(&ident.to_string().as_str()) =>
            {
                let line = line(Some(ident.span()));
                let mut segments = vec![ident.to_string()];
                // Each further segment is `:` `:` ident.
                while let (
                    Some(TokenTree::Punct(a)),
                    Some(TokenTree::Punct(b)),
                    Some(TokenTree::Ident(next)),
                ) = (flat.get(i + 1), flat.get(i + 2), flat.get(i + 3))
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    segments.push(next.to_string());
                    i += 3;
                }
                if segments.len() > 1 {
                    out.push(Reference { segments, line });
                }
            }
            _ => {}
        }
        i += 1;
    }
}

fn line(span: Option<proc_macro2::Span>) -> usize {
    span.map_or(0, |s| s.start().line)
}
