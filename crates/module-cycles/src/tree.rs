//! A crate's module tree, read from its root file as rustc resolves `mod` declarations.

use std::path::{Path, PathBuf};

use syn::{Attribute, Item};

/// One module: where it is, and its own items (the items of its child modules are theirs).
pub struct Module {
    /// From the crate root: `[]` is the root, `["callback", "worker"]` is `crate::callback::worker`.
    pub path: Vec<String>,
    /// The file it is written in (for an inline module, the file holding it).
    pub file: PathBuf,
    pub items: Vec<Item>,
    /// The names of its child modules.
    pub children: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: syn::Error,
    },
    #[error("{file}: `mod {name};` has no file ({name}.rs or {name}/mod.rs in {dir})")]
    NoFile {
        file: PathBuf,
        name: String,
        dir: PathBuf,
    },
}

/// Every module of the crate whose root file (`src/lib.rs`, `src/main.rs`) is `root`, the root first.
pub fn read(root: &Path) -> Result<Vec<Module>, TreeError> {
    let items = parse(root)?;
    let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut modules = Vec::new();
    collect(Vec::new(), root, items, &dir, &mut modules)?;
    Ok(modules)
}

fn parse(path: &Path) -> Result<Vec<Item>, TreeError> {
    let text = std::fs::read_to_string(path).map_err(|source| TreeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = syn::parse_file(&text).map_err(|source| TreeError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file.items)
}

/// Adds the module at `path` (written in `file`, its children's files in `dir`) and its descendants.
fn collect(
    path: Vec<String>,
    file: &Path,
    items: Vec<Item>,
    dir: &Path,
    out: &mut Vec<Module>,
) -> Result<(), TreeError> {
    let mut children = Vec::new();
    let mut nested = Vec::new();
    for item in &items {
        let Item::Mod(child) = item else { continue };
        if is_test_only(&child.attrs) {
            continue;
        }
        let name = child.ident.to_string();
        let mut child_path = path.clone();
        child_path.push(name.clone());
        let child_dir = dir.join(&name);
        match &child.content {
            Some((_, content)) => {
                nested.push((child_path, file.to_path_buf(), content.to_vec(), child_dir))
            }
            None => {
                let (child_file, child_dir) = locate(file, dir, &name, &child.attrs)?;
                let content = parse(&child_file)?;
                nested.push((child_path, child_file, content, child_dir));
            }
        }
        children.push(name);
    }
    out.push(Module {
        path,
        file: file.to_path_buf(),
        items,
        children,
    });
    for (path, file, items, dir) in nested {
        collect(path, &file, items, &dir, out)?;
    }
    Ok(())
}

/// The file of `mod name;` declared in `file`, and the directory of that module's own children.
fn locate(
    file: &Path,
    dir: &Path,
    name: &str,
    attrs: &[Attribute],
) -> Result<(PathBuf, PathBuf), TreeError> {
    if let Some(explicit) = path_attribute(attrs) {
        let base = file.parent().unwrap_or(Path::new("."));
        let child = base.join(explicit);
        let child_dir = child.with_extension("");
        return Ok((child, child_dir));
    }
    let flat = dir.join(format!("{name}.rs"));
    if flat.is_file() {
        return Ok((flat, dir.join(name)));
    }
    let nested = dir.join(name).join("mod.rs");
    if nested.is_file() {
        return Ok((nested, dir.join(name)));
    }
    Err(TreeError::NoFile {
        file: file.to_path_buf(),
        name: name.to_owned(),
        dir: dir.to_path_buf(),
    })
}

/// `#[path = "…"]`.
fn path_attribute(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// `#[cfg(test)]` or `#[cfg(all(test, …))]`: test modules may import their parent freely.
fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let syn::Meta::List(list) = &attr.meta else {
            return false;
        };
        let condition = list.tokens.to_string();
        attr.path().is_ident("cfg")
            && (condition == "test" || (condition.starts_with("all") && condition.contains("test")))
    })
}
