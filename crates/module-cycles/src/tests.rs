//! The checker on small crates written to a temporary directory: what is a circle, what is not, and where it
//! says the imports are.

use std::path::Path;

use crate::{tree, Graph, TreeError};

/// Writes `files` (path under `src/`, text) and returns the circles of the crate rooted at `src/lib.rs`, each as
/// its module names and its imports as `from -> to @ line: text`.
fn circles(files: &[(&str, &str)]) -> Vec<(Vec<String>, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    let modules = tree::read(&dir.path().join("src/lib.rs")).unwrap();
    let graph = Graph::build("demo", &modules);
    graph
        .cycles()
        .into_iter()
        .map(|cycle| {
            let imports = cycle
                .imports
                .iter()
                .map(|i| {
                    format!(
                        "{} -> {} @ {}: {}",
                        graph.names[i.from], graph.names[i.to], i.line, i.text
                    )
                })
                .collect();
            (cycle.modules, imports)
        })
        .collect()
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join("src").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn two_siblings_importing_each_other_are_a_circle_with_both_imports_named() {
    let found = circles(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "use crate::b::Thing;\npub fn make() -> Thing { Thing }\n",
        ),
        (
            "b.rs",
            "pub struct Thing;\n\nfn f() {\n    crate::a::make();\n}\n",
        ),
    ]);
    assert_eq!(
        found,
        [(
            vec!["demo::a".to_owned(), "demo::b".to_owned()],
            vec![
                "demo::a -> demo::b @ 1: crate::b::Thing".to_owned(),
                "demo::b -> demo::a @ 4: crate::a::make".to_owned(),
            ]
        )]
    );
}

#[test]
fn a_parent_driving_its_children_that_use_its_types_is_no_circle() {
    let found = circles(&[
        ("lib.rs", "pub mod config;\npub use config::Config;\n"),
        ("config/mod.rs", "mod validate;\npub struct Config;\npub struct Error;\npub fn load() { validate::check(); }\n"),
        ("config/validate.rs", "use super::Error;\nuse crate::Config;\npub fn check() {}\n"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_circle_through_a_child_and_its_parent_is_found() {
    // pipeline -> store (the parent's own import); store -> pipeline::worker; worker -> pipeline (super::Job).
    let found = circles(&[
        ("lib.rs", "mod pipeline;\nmod store;\n"),
        (
            "pipeline.rs",
            "mod worker;\nuse crate::store::Store;\npub struct Job;\n",
        ),
        ("pipeline/worker.rs", "use super::Job;\npub fn run() {}\n"),
        (
            "store.rs",
            "pub struct Store;\nfn go() { crate::pipeline::worker::run() }\n",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].0,
        ["demo::pipeline", "demo::pipeline::worker", "demo::store"]
    );
}

#[test]
fn paths_inside_macro_calls_and_nested_use_groups_count() {
    let found = circles(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "pub const NAME: &str = \"a\";\nfn f() -> String { format!(\"{}\", crate::b::NAME) }\n",
        ),
        (
            "b.rs",
            "pub const NAME: &str = \"b\";\nuse crate::{a::{self, NAME as A}};\n",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .1
            .contains(&"demo::a -> demo::b @ 2: crate::b::NAME".to_owned()),
        "{found:?}"
    );
}

#[test]
fn test_modules_visibility_and_other_crates_are_no_edges() {
    let found = circles(&[
        ("lib.rs", "mod a;\nmod b;\npub struct Root;\n"),
        ("a.rs", "use crate::b::B;\npub(crate) struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n"),
        (
            "b.rs",
            "pub(crate) struct B;\npub(super) fn f() { ::std::mem::drop(1); std::mem::drop(2); }\n\
             #[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_missing_module_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("lib.rs", "mod gone;\n")]);
    match tree::read(&dir.path().join("src/lib.rs")) {
        Err(TreeError::NoFile { name, .. }) => assert_eq!(name, "gone"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a crate with a missing module file was read"),
    }
}
