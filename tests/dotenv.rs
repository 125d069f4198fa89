//! The `.env` file in the working directory, as the binary reads it: its variables configure the service, a
//! variable set in the environment wins over the file's, and a broken file is reported without its contents.
//! Observed through start-up's configuration check, so no NATS is needed.

use std::process::{Command, Output};

/// `payments` run in `dir` with only `env` (and PATH) in its environment.
fn payments_in(dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payments"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_file_configures_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# a publishable key, the classic mistake: only the file can have set it\n\
         STRIPE_SECRET=pk_test_from_the_file\n\
         STRIPE_ENDPOINT_SECRET=whsec_from_the_file\n\
         STRIPE_SUCCESS_URL=http://localhost/ok\n\
         STRIPE_CANCEL_URL=http://localhost/cancel\n\
         PORT=eighty\n",
    )
    .unwrap();
    let output = payments_in(dir.path(), &[("PORT", "0"), ("LOG_FORMAT", "xml")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // From the file: the key's kind is refused, the other required variables are there.
    assert!(stderr.contains("publishable key"), "{stderr}");
    assert!(!stderr.contains("is required"), "{stderr}");
    // The environment's PORT won over the file's; its LOG_FORMAT was read.
    assert!(!stderr.contains("PORT"), "{stderr}");
    assert!(stderr.contains("LOG_FORMAT"), "{stderr}");
    assert!(!stderr.contains("pk_test_from_the_file"), "{stderr}");
}

#[test]
fn a_broken_file_is_reported_without_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "STRIPE_ENDPOINT_SECRET=whsec_before_the_break\n\
         STRIPE_SECRET='sk_test_unterminated_secret\n",
    )
    .unwrap();
    let output = payments_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".env has a line that does not parse"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk_test_unterminated_secret"), "{stderr}");
    // What came before the broken line was read; the broken line was not.
    assert!(!stderr.contains("STRIPE_ENDPOINT_SECRET"), "{stderr}");
    assert!(stderr.contains("STRIPE_SECRET is required"), "{stderr}");
}
