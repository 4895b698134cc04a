//! Measuring without `unsafe`: CPU time from `/proc` (per thread in nanoseconds from
//! `schedstat`, per process in clock ticks from `stat`), whole-machine load from `/proc/stat`,
//! memory from `/proc/<pid>/statm` and `smaps_rollup`, and small statistics helpers.

use std::fs;

/// CPU time (user + system) the calling thread has used, in nanoseconds
/// (`/proc/thread-self/schedstat`, first field: time spent on a CPU).
pub(crate) fn thread_cpu_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) all live threads of this process have used, in nanoseconds (the sum
/// of `/proc/self/task/*/schedstat`). Differences over a window count every thread that ran in
/// it, the crate's own helpers (the lingering-close thread) included, as long as none of them
/// ended within it.
pub(crate) fn process_threads_cpu_ns() -> u64 {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ; 100 on Linux).
const TICKS: f64 = 100.0;

/// User + system CPU seconds of the whole process so far (all threads, live and ended).
pub(crate) fn process_cpu_s() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(11) + get(12)) / TICKS
}

/// Busy CPU seconds of the whole machine so far (all CPUs; `/proc/stat` minus idle and iowait).
pub(crate) fn machine_busy_s() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / TICKS
}

pub(crate) fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Resident set size of `pid` in bytes (`/proc/<pid>/statm`, second field, 4 KiB pages).
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The `Anonymous:` line of `/proc/<pid>/smaps_rollup` in bytes: resident anonymous memory
/// (heap and anonymous mappings that were touched).
pub(crate) fn anon_bytes(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Anonymous:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values; NaN if empty.
pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    if p >= 100.0 {
        return v[v.len() - 1];
    }
    if (p - 50.0).abs() < f64::EPSILON && v.len() % 2 == 0 {
        let m = v.len() / 2;
        return (v[m - 1] + v[m]) / 2.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub(crate) fn min_max(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}
