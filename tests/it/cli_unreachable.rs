//! Every operator command fails fast when NATS cannot be reached: exit status 2 within seconds, naming the server
//! (`host:port`, never credentials) and the cause; and the commands read the `.env` that `scripts/run.sh` writes,
//! from the directory they run in.

use std::{
    process::Output,
    time::{Duration, Instant},
};

use crate::support::{self, process::payments};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    support::free_port()
}

fn run(dir: &std::path::Path, vars: &[(String, String)], args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = payments()
        .current_dir(dir)
        .envs(vars.iter().cloned())
        .args(args)
        .output()
        .expect("payments runs");
    (output, started.elapsed())
}

const COMMANDS: &[&[&str]] = &[
    &["watch"],
    &["inspect", "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"],
    &["inspect", "pi_3NobodyKnowsThis", "--json"],
    &["replay", "--since", "1h"],
    &["reconcile", "--since", "1h"],
];

#[test]
fn every_command_exits_2_at_once_naming_the_server_and_the_cause() {
    let port = closed_port();
    let url = format!("nats://someone:pa55word@127.0.0.1:{port}");
    let vars = support::vars(&url, "http://127.0.0.1:9", &[]);
    for args in COMMANDS {
        let (output, took) = run(&std::env::temp_dir(), &vars, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        let named = format!("cannot connect to NATS at 127.0.0.1:{port}");
        assert!(stderr.contains(&named), "{args:?}: {stderr}");
        assert!(
            stderr.contains("refused"),
            "{args:?} names no cause: {stderr}"
        );
        assert!(!stderr.contains("pa55word"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn commands_read_the_env_file_of_the_directory_they_run_in() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let lines: String = support::vars(
        &format!("nats://127.0.0.1:{port}"),
        "http://127.0.0.1:9",
        &[],
    )
    .iter()
    .map(|(k, v)| format!("{k}={v}\n"))
    .collect();
    std::fs::write(dir.path().join(".env"), lines).unwrap();
    for args in COMMANDS {
        // Nothing in the environment: every setting, NATS_SERVERS included, comes from .env.
        let (output, _) = run(dir.path(), &[], args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("127.0.0.1:{port}")),
            "{args:?} did not use .env: {stderr}"
        );
    }
}
