//! CPU profiles (`--perf`): `perf record` of the service or NATS during a measured phase.

use std::time::Duration;

use crate::Args;

/// `perf record` (software cpu-clock, DWARF call graphs) of `pids` for at most 10 s, into
/// results/perf-<label>.data (read it with tools/perf-buckets.py or `perf report`).
pub(super) fn perf_record(
    args: &Args,
    label: &str,
    pids: &[(String, u32)],
    duration: Duration,
) -> std::process::Child {
    let out = args.logs.join(format!("../perf-{label}.data"));
    let pids = pids
        .iter()
        .map(|(_, p)| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    println!("    recording a CPU profile of the {label} into {} (perf record -e cpu-clock -F 499 --call-graph dwarf)", out.display());
    std::process::Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-o",
        ])
        .arg(&out)
        .args(["-p", &pids, "--", "sleep"])
        .arg(format!("{}", duration.as_secs_f64().min(10.0)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perf (apt-get install linux-perf)")
}
