//! The `payments` binary as a separate process: as an operator runs it (subcommands, exit codes, output) and as
//! a service that a test can SIGTERM or SIGKILL. Each process gets an empty environment plus what the test
//! passes, and runs from an empty directory, so neither a developer's shell nor a `.env` can leak in.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use stripe_standin::StandIn;
use testkit::{await_until, NatsServer};

use super::{vars, wait_ready_at, TestApp};

/// `payments` with an empty environment (but `PATH`), from the temporary directory.
pub fn payments() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_payments"));
    cmd.current_dir(std::env::temp_dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Starts `payments` (serve) on `port` with the test environment plus `extra`; its output goes nowhere.
pub fn spawn_binary(
    nats: &NatsServer,
    standin: &StandIn,
    port: u16,
    extra: &[(&str, &str)],
) -> Child {
    spawn_serving(nats, standin, port, extra, Stdio::null())
}

/// Starts `payments` on a free port with `stderr` as its log and waits until it is ready; it and its base URL.
pub async fn serve(
    nats: &NatsServer,
    standin: &StandIn,
    extra: &[(&str, &str)],
    stderr: Stdio,
) -> (Child, String) {
    let port = free_port();
    let child = spawn_serving(nats, standin, port, extra, stderr);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready_at(&base).await;
    (child, base)
}

fn spawn_serving(
    nats: &NatsServer,
    standin: &StandIn,
    port: u16,
    extra: &[(&str, &str)],
    stderr: Stdio,
) -> Child {
    let port = port.to_string();
    let mut env = vec![("PORT", port.as_str())];
    env.extend_from_slice(extra);
    payments()
        .envs(vars(&nats.url(), &standin.base_url(), &env))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("service starts")
}

/// Runs `payments <args>` as an operator would, with the test service's environment plus `extra`.
pub async fn run_cli(app: &TestApp, args: &[&str], extra: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = payments();
    cmd.envs(vars(&app.nats.url(), &app.standin.base_url(), extra))
        .args(args);
    output_of(cmd).await
}

/// Runs `cmd` to its end without blocking the runtime the in-process service runs on; its exit code and all its
/// output (stdout, then stderr).
pub async fn output_of(cmd: Command) -> (i32, String) {
    let output = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("payments runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exit code"), text)
}

/// Sends SIGTERM to `child`, as an orchestrator stopping it would.
pub fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM sent");
}

/// Waits until `child` has exited; its exit code. Polled with a deadline rather than waited for: a process that
/// never exits fails the test (naming `what`) instead of hanging it.
pub async fn exit_code(child: &mut Child, what: &str, within: Duration) -> Option<i32> {
    let exit = await_until(
        format!("{what}: the process exits"),
        within,
        || std::future::ready(child.try_wait().expect("the child's status")),
        Option::is_some,
    )
    .await;
    exit.and_then(|status| status.code())
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
