//! What `/proc` says about the benchmark's processes: memory (RSS, peak RSS) and CPU time, per process and for
//! the whole machine over a phase.

use std::collections::HashMap;
use std::time::Instant;

/// `/proc/<pid>/status` fields in KiB (VmRSS, VmHWM).
pub fn mem_kib(pid: u32) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.starts_with("Vm") || k.starts_with("Rss") {
                    if let Some(n) = v.split_whitespace().next().and_then(|n| n.parse().ok()) {
                        out.insert(k.to_owned(), n);
                    }
                }
            }
        }
    }
    out
}

/// User + system CPU time of a process (all its threads), in seconds.
pub fn cpu_secs(pid: u32) -> f64 {
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let path = if pid == 0 {
        "/proc/self/stat".to_owned()
    } else {
        format!("/proc/{pid}/stat")
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let stime: f64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    (utime + stime) / ticks
}

/// CPU time of several processes over a phase, as a share of one core (100 % = one core busy).
pub struct CpuMeter {
    names: Vec<String>,
    pids: Vec<u32>,
    before: Vec<f64>,
    busy_before: f64,
    at: Instant,
}

/// Busy CPU time of the whole machine (all cores), in seconds, from `/proc/stat`.
fn machine_busy_secs() -> f64 {
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = text.lines().next() else {
        return 0.0;
    };
    // cpu user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy: f64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, x)| x)
        .sum();
    busy / ticks
}

impl CpuMeter {
    /// `pid` 0 is this process (the load generator).
    pub fn start(procs: &[(String, u32)]) -> CpuMeter {
        CpuMeter {
            names: procs.iter().map(|(n, _)| n.clone()).collect(),
            pids: procs.iter().map(|(_, p)| *p).collect(),
            before: procs.iter().map(|(_, p)| cpu_secs(*p)).collect(),
            busy_before: machine_busy_secs(),
            at: Instant::now(),
        }
    }

    /// Each process's share, then "other processes": what the rest of the machine used meanwhile (a run
    /// with much of it is noisy: something else was competing for the cores).
    pub fn stop(&self) -> Vec<(String, f64)> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let mut out: Vec<(String, f64)> = self
            .names
            .iter()
            .zip(&self.pids)
            .zip(&self.before)
            .map(|((n, p), b)| (n.clone(), 100.0 * (cpu_secs(*p) - b) / wall))
            .collect();
        let ours: f64 = out.iter().map(|(_, v)| v).sum();
        let all = 100.0 * (machine_busy_secs() - self.busy_before) / wall;
        out.push(("other processes".into(), (all - ours).max(0.0)));
        out
    }
}
