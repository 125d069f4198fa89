//! `module-cycles [--warn-only] [CRATE_DIR …]`: reports the import circles between the modules of each crate
//! (its `src/lib.rs` and `src/main.rs` trees); by default the workspace's root crate, `bench` and every
//! `crates/*`.
//! Exit 0 without circles, 1 with (0 with `--warn-only`, which still prints them), 2 when a crate cannot be read.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use module_cycles::{tree, Graph};

fn main() -> ExitCode {
    let mut warn_only = false;
    let mut dirs = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--warn-only" => warn_only = true,
            "-h" | "--help" => {
                println!("usage: module-cycles [--warn-only] [CRATE_DIR ...]   (default: ., bench and crates/*)");
                return ExitCode::SUCCESS;
            }
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    if dirs.is_empty() {
        dirs = workspace_crates();
    }
    let mut circles = 0;
    let mut modules = 0;
    for dir in &dirs {
        let name = crate_name(dir);
        // `./src/lib.rs` reads better as `src/lib.rs`.
        let roots = ["src/lib.rs", "src/main.rs"].map(|r| {
            if dir == Path::new(".") {
                PathBuf::from(r)
            } else {
                dir.join(r)
            }
        });
        for root in roots.iter().filter(|r| r.is_file()) {
            let tree = match tree::read(root) {
                Ok(tree) => tree,
                Err(e) => {
                    eprintln!("module-cycles: {}", with_causes(&e));
                    return ExitCode::from(2);
                }
            };
            modules += tree.len();
            let graph = Graph::build(&name, &tree);
            for cycle in graph.cycles() {
                circles += 1;
                println!("circle {circles}: {}", cycle.modules.join(", "));
                for import in &cycle.imports {
                    let more = if import.count > 1 {
                        format!(" (and {} more)", import.count - 1)
                    } else {
                        String::new()
                    };
                    println!(
                        "  {} -> {}: {}:{}: {}{more}",
                        graph.names[import.from],
                        graph.names[import.to],
                        import.file.display(),
                        import.line,
                        import.text
                    );
                }
            }
        }
    }
    if circles == 0 {
        println!(
            "module-cycles: {} crate(s), {modules} modules, no import circle",
            dirs.len()
        );
        return ExitCode::SUCCESS;
    }
    println!("module-cycles: {circles} import circle(s); remove one import of each circle listed to open it");
    if warn_only {
        println!("module-cycles: --warn-only: not failing");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `.`, every `crates/*` with a `Cargo.toml`, and `bench` (a workspace of its own, in the same repository).
fn workspace_crates() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if Path::new("bench/Cargo.toml").is_file() {
        dirs.push(PathBuf::from("bench"));
    }
    if let Ok(entries) = std::fs::read_dir("crates") {
        let mut members: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        members.sort();
        dirs.extend(members);
    }
    dirs
}

/// The package name in `dir/Cargo.toml` (its first `name = "…"` line), else the directory's name.
fn crate_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let value = line
                    .trim()
                    .strip_prefix("name")?
                    .trim_start()
                    .strip_prefix('=')?;
                Some(value.trim().trim_matches('"').replace('-', "_"))
            })
        })
        .unwrap_or_else(|| dir.display().to_string())
}

/// The error and its sources on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line
}
