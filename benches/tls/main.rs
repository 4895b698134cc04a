//! Side-by-side benchmarks of the crate against the raw `openssl` crate (perf-limits.md's
//! "rust-stream" baseline), libssl from C and Python's `ssl`, on one machine in one run.
//!
//! ```text
//! cargo bench --bench tls                      # everything (about 15 minutes)
//! cargo bench --bench tls -- --quick           # smoke check, under a minute
//! cargo bench --bench tls -- handshake --rounds 7 --out results.json
//! ```
//!
//! Suites (positional arguments; default all): `bulk`, `handshake`, `latency`, `memory`.
//! Options: `--quick`, `--rounds N`, `--out FILE` (JSON; default
//! `<target>/qssl-bench/results.json`), `--no-python`, `--no-c`, `--bytes N`, `--seconds S`,
//! `--iters N`, `--conns N`.
//!
//! Every measurement runs in a fresh child process (this binary re-executed with `--child`), so
//! no configuration inherits another's warm state. Configurations of a workload run once per
//! round, in an order rotated every round, and each is compared with its baseline from the same
//! round: the paired ratio is the median of those per-round ratios (perf-limits.md's method).
//! CPU time is user + system of both ends (per thread, `/proc/thread-self/schedstat`).
//!
//! Not a test: without `--bench` (as `cargo test --all-targets` runs it) it exits at once.

mod cbase;
mod krate;
mod memory;
mod pki;
mod raw;
mod sys;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use pki::Kind;

/// Protocol version and certificate type of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tls {
    pub(crate) v13: bool,
    pub(crate) kind: Kind,
}

impl Tls {
    pub(crate) fn tls12_cipher(self) -> &'static str {
        match self.kind {
            Kind::Ec => "ECDHE-ECDSA-AES128-GCM-SHA256",
            Kind::Rsa => "ECDHE-RSA-AES128-GCM-SHA256",
        }
    }

    fn label(self) -> String {
        format!(
            "tls{}-{}",
            if self.v13 { "13" } else { "12" },
            self.kind.name()
        )
    }

    fn to_spec(self, spec: &mut Value) {
        spec["v13"] = json!(self.v13);
        spec["kind"] = json!(self.kind.name());
    }

    fn from_spec(spec: &Value) -> Tls {
        Tls {
            v13: spec["v13"].as_bool().unwrap_or(true),
            kind: Kind::parse(spec["kind"].as_str().unwrap_or("ecdsa")),
        }
    }
}

const TLS13_EC: Tls = Tls {
    v13: true,
    kind: Kind::Ec,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let spec: Value =
            serde_json::from_str(args.get(i + 1).expect("child spec")).expect("child spec JSON");
        child(&spec);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        eprintln!(
            "benches/tls: a benchmark, not a test; nothing runs without --bench \
             (use `cargo bench --bench tls [-- --quick]`)"
        );
        return;
    }
    parent(&Options::parse(&args));
}

// ---------------------------------------------------------------------------------------------
// Child side: one measurement, printed as `RESULT {json}`.

fn child(spec: &Value) {
    let dir = PathBuf::from(spec["dir"].as_str().expect("dir"));
    let tls = Tls::from_spec(spec);
    let implementation = spec["impl"].as_str().unwrap_or("");
    let crate_side = implementation == "crate";
    let int = |k: &str| spec[k].as_u64().unwrap_or(0);
    let mut result = match spec["w"].as_str().unwrap_or("") {
        "bulk" => {
            let (bytes, chunk) = (int("bytes"), int("chunk") as usize);
            if crate_side {
                krate::bulk(&dir, tls, bytes, chunk)
            } else {
                raw::bulk(&dir, tls, bytes, chunk)
            }
        }
        "hs" => {
            let seconds = spec["seconds"].as_f64().unwrap_or(1.0);
            let resume = spec["resume"].as_bool().unwrap_or(false);
            if crate_side {
                krate::handshakes(&dir, tls, seconds, resume)
            } else {
                raw::handshakes(&dir, tls, seconds, resume)
            }
        }
        "lat" => {
            let (warm, iters) = (int("warm") as usize, int("iters") as usize);
            if crate_side {
                krate::ping_pong(&dir, tls, warm, iters)
            } else {
                raw::ping_pong(&dir, tls, warm, iters)
            }
        }
        "mem" => {
            let role = spec["role"].as_str().unwrap_or("server");
            memory::measured(
                &dir,
                tls,
                implementation,
                role,
                int("n") as usize,
                int("port") as u16,
            );
            return;
        }
        "mint" => {
            // For profiling one configuration by hand (BENCHMARKS.md): writes the PKI to `dir`.
            pki::mint(&dir);
            return;
        }
        "mempeer" => {
            let role = spec["role"].as_str().unwrap_or("server");
            memory::peer(&dir, tls, role, int("count") as usize, int("port") as u16);
            return;
        }
        other => panic!("unknown workload {other:?}"),
    };
    result["process_cpu_s"] = json!(sys::process_cpu_s());
    println!("RESULT {result}");
}

// ---------------------------------------------------------------------------------------------
// Parent side: rounds, rotation, aggregation, report.

#[derive(Debug)]
struct Options {
    quick: bool,
    suites: Vec<String>,
    rounds: Option<usize>,
    out: PathBuf,
    python: bool,
    c: bool,
    bytes: u64,
    seconds: f64,
    warm: usize,
    iters: usize,
    conns: usize,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let quick = args.iter().any(|a| a == "--quick");
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let target = std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.parent()?.to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("target"));
        let mut suites = Vec::new();
        let mut skip = false;
        for a in args {
            if skip {
                skip = false;
                continue;
            }
            if matches!(
                a.as_str(),
                "--rounds" | "--out" | "--bytes" | "--seconds" | "--iters" | "--conns"
            ) {
                skip = true;
                continue;
            }
            if ["bulk", "handshake", "latency", "memory"].contains(&a.as_str()) {
                suites.push(a.clone());
            }
        }
        if suites.is_empty() {
            suites = ["bulk", "handshake", "latency", "memory"]
                .map(String::from)
                .to_vec();
        }
        Options {
            quick,
            suites,
            rounds: value("--rounds").and_then(|v| v.parse().ok()),
            out: value("--out").map_or_else(
                || target.join("qssl-bench").join("results.json"),
                PathBuf::from,
            ),
            python: !args.iter().any(|a| a == "--no-python"),
            c: !args.iter().any(|a| a == "--no-c"),
            bytes: value("--bytes")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 128 << 20 } else { 1 << 30 }),
            seconds: value("--seconds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 0.4 } else { 2.0 }),
            warm: if quick { 200 } else { 1_000 },
            iters: value("--iters")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 2_000 } else { 10_000 }),
            conns: value("--conns")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 300 } else { 10_000 }),
        }
    }

    fn rounds(&self, full_default: usize) -> usize {
        self.rounds
            .unwrap_or(if self.quick { 1 } else { full_default })
    }
}

/// What the parent needs to start children.
struct Env {
    exe: PathBuf,
    dir: PathBuf,
    c_binary: Option<PathBuf>,
    python: Option<String>,
}

impl Env {
    fn base_spec(&self, w: &str, tls: Tls) -> Value {
        let mut spec = json!({"w": w, "dir": self.dir.to_string_lossy()});
        tls.to_spec(&mut spec);
        spec
    }

    fn rust_command(&self, spec: &Value, pinned: bool) -> Command {
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(&self.exe);
            c
        } else {
            Command::new(&self.exe)
        };
        cmd.arg("--bench").arg("--child").arg(spec.to_string());
        cmd
    }
}

/// Runs a child command and parses its `RESULT` line; adds wall time and the share of the
/// machine's CPU used by other processes meanwhile (`foreign`).
fn run_child(mut cmd: Command) -> Value {
    let busy0 = sys::machine_busy_s();
    let t0 = Instant::now();
    let output = cmd.stderr(Stdio::inherit()).output();
    let wall = t0.elapsed().as_secs_f64();
    let busy = sys::machine_busy_s() - busy0;
    let output = match output {
        Ok(o) => o,
        Err(e) => return json!({"error": format!("spawn: {e}")}),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        return json!({"error": format!("no result (exit {:?}): {stdout}", output.status.code())});
    };
    let mut v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| json!({"error": e.to_string()}));
    let own = v["process_cpu_s"].as_f64().unwrap_or(0.0);
    let foreign = ((busy - own) / (wall * sys::cpu_count() as f64)).clamp(0.0, 1.0);
    v["wall_s"] = json!(wall);
    v["foreign"] = json!(foreign);
    v
}

/// One recorded measurement.
#[derive(Debug, Clone)]
struct Run {
    suite: &'static str,
    workload: String,
    config: &'static str,
    round: usize,
    metrics: BTreeMap<&'static str, f64>,
    result: Value,
}

fn parent(opts: &Options) {
    let exe = std::env::current_exe().expect("current exe");
    let scratch = std::env::temp_dir().join(format!("qssl-bench-{}", std::process::id()));
    let dir = scratch.join("pki");
    pki::mint(&dir);
    let c_binary = if opts.c && opts.suites.iter().any(|s| s == "handshake") {
        cbase::build(&scratch)
    } else {
        None
    };
    let python = if opts.python {
        Command::new("python3")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| "python3".to_owned())
    } else {
        None
    };
    let env = Env {
        exe,
        dir,
        c_binary,
        python,
    };
    let machine = machine_info(&env);
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&machine).unwrap_or_default()
    );
    let started = Instant::now();
    let mut runs = Vec::new();
    for suite in &opts.suites {
        match suite.as_str() {
            "bulk" => bulk_suite(opts, &env, &mut runs),
            "handshake" => handshake_suite(opts, &env, &mut runs),
            "latency" => latency_suite(opts, &env, &mut runs),
            "memory" => memory_suite(opts, &env, &scratch, &mut runs),
            _ => {}
        }
    }
    let summary = summarize(&runs);
    print_report(&summary);
    let doc = json!({
        "machine": machine,
        "quick": opts.quick,
        "params": {
            "bytes": opts.bytes, "seconds": opts.seconds, "warm": opts.warm,
            "iters": opts.iters, "conns": opts.conns,
        },
        "elapsed_s": started.elapsed().as_secs_f64(),
        "summary": summary,
        "runs": runs.iter().map(|r| json!({
            "suite": r.suite, "workload": r.workload, "config": r.config, "round": r.round,
            "metrics": r.metrics, "result": r.result,
        })).collect::<Vec<_>>(),
    });
    if let Some(parent) = opts.out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&opts.out, serde_json::to_string_pretty(&doc).expect("JSON"))
        .expect("write results");
    eprintln!(
        "\nresults: {} ({:.0} s)",
        opts.out.display(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

fn machine_info(env: &Env) -> Value {
    let cmd = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let lscpu = cmd("lscpu", &[]);
    let field = |name: &str| {
        lscpu
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    json!({
        "cpu": field("Model name"),
        "cpu_family": field("CPU family"),
        "cpus": sys::cpu_count(),
        "hypervisor": field("Hypervisor vendor"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "openssl": openssl::version::version(),
        "python": env.python.as_deref().map(|p| cmd(p, &["-c",
            "import ssl,sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)"])),
        "c_baseline": env.c_binary.is_some(),
    })
}

/// Configs of a round in rotated order.
fn rotated<T: Copy>(configs: &[T], by: usize) -> Vec<T> {
    let mut v = configs.to_vec();
    if !v.is_empty() {
        let n = v.len();
        v.rotate_left(by % n);
    }
    v
}

fn record(
    runs: &mut Vec<Run>,
    suite: &'static str,
    workload: &str,
    config: &'static str,
    round: usize,
    result: Value,
    metrics: BTreeMap<&'static str, f64>,
) {
    let shown: Vec<String> = metrics.iter().map(|(k, v)| format!("{k}={v:.1}")).collect();
    let error = result["error"]
        .as_str()
        .map(|e| format!("  ERROR {e}"))
        .unwrap_or_default();
    eprintln!(
        "[{suite} r{round}] {workload}/{config}: {}  foreign={:.2}{error}",
        shown.join(" "),
        result["foreign"].as_f64().unwrap_or(f64::NAN)
    );
    runs.push(Run {
        suite,
        workload: workload.to_owned(),
        config,
        round,
        metrics,
        result,
    });
}

fn bulk_suite(opts: &Options, env: &Env, runs: &mut Vec<Run>) {
    let mut configs = vec!["rust-stream", "crate"];
    if env.python.is_some() {
        configs.push("python");
    }
    let workload = "tls13-aes128-gcm";
    for round in 0..opts.rounds(7) {
        for config in rotated(&configs, round) {
            let mut spec = env.base_spec("bulk", TLS13_EC);
            spec["bytes"] = json!(opts.bytes);
            spec["chunk"] = json!(64 * 1024);
            let result = match config {
                "python" => run_python(env, &spec),
                _ => {
                    spec["impl"] = json!(if config == "crate" { "crate" } else { "raw" });
                    run_child(env.rust_command(&spec, false))
                }
            };
            let mut m = BTreeMap::new();
            if let (Some(secs), Some(cpu)) = (result["secs"].as_f64(), result["cpu_s"].as_f64()) {
                let mb = opts.bytes as f64 / 1e6;
                m.insert("mb_s", mb / secs);
                m.insert("mb_per_cpu_s", mb / cpu);
            }
            if result["cipher"]
                .as_str()
                .is_some_and(|c| c != "TLS_AES_128_GCM_SHA256")
            {
                eprintln!("warning: {config} negotiated {}", result["cipher"]);
            }
            record(runs, "bulk", workload, config, round, result, m);
        }
    }
}

fn run_python(env: &Env, spec: &Value) -> Value {
    let Some(python) = &env.python else {
        return json!({"error": "no python3"});
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/tls/ssl_peer.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(spec.to_string())
        .env("OPENSSL_CONF", env.dir.join("openssl-aes128.cnf"));
    run_child(cmd)
}

fn handshake_suite(opts: &Options, env: &Env, runs: &mut Vec<Run>) {
    let ec13 = TLS13_EC;
    let rsa13 = Tls {
        v13: true,
        kind: Kind::Rsa,
    };
    let ec12 = Tls {
        v13: false,
        kind: Kind::Ec,
    };
    let rsa12 = Tls {
        v13: false,
        kind: Kind::Rsa,
    };
    let workloads = [
        (ec13, false),
        (rsa13, false),
        (ec12, false),
        (rsa12, false),
        (ec13, true),
        (rsa12, true),
    ];
    // Many short rounds: this VM drifts between speeds over minutes, and the median of paired
    // ratios settles with the number of rounds more than with their length.
    for round in 0..opts.rounds(9) {
        // Each workload also runs with the whole child on CPU 0 (the two Rust implementations
        // only): no cross-core wake-ups, so the ratio shows the CPU each connection costs.
        let modes = workloads.iter().flat_map(|&w| [(w, false), (w, true)]);
        for (wi, ((tls, resume), pinned)) in modes.enumerate() {
            let name = format!(
                "{}{}-{}",
                if pinned { "pinned-" } else { "" },
                if resume { "resumed" } else { "full" },
                tls.label()
            );
            let mut configs = vec!["rust-stream", "crate"];
            if env.c_binary.is_some() && !pinned {
                configs.push("c-libssl");
            }
            if env.python.is_some() && !pinned {
                configs.push("python");
            }
            for config in rotated(&configs, round + wi) {
                let mut spec = env.base_spec("hs", tls);
                spec["seconds"] = json!(opts.seconds);
                spec["resume"] = json!(resume);
                let result = match config {
                    "python" => run_python(env, &spec),
                    "c-libssl" => run_child(cbase::command(
                        env.c_binary.as_deref().expect("C baseline"),
                        &env.dir,
                        tls,
                        opts.seconds,
                        resume,
                    )),
                    _ => {
                        spec["impl"] = json!(if config == "crate" { "crate" } else { "raw" });
                        run_child(env.rust_command(&spec, pinned))
                    }
                };
                let mut m = BTreeMap::new();
                if let (Some(n), Some(secs), Some(cpu)) = (
                    result["count"].as_f64(),
                    result["secs"].as_f64(),
                    result["cpu_s"].as_f64(),
                ) {
                    m.insert("hs_s", n / secs);
                    m.insert("cpu_us_per_hs", cpu * 1e6 / n);
                    let reused = result["reused"].as_f64().unwrap_or(0.0);
                    m.insert(
                        "reused_share",
                        if n > 1.0 { reused / (n - 1.0) } else { 0.0 },
                    );
                    if resume && reused != n - 1.0 {
                        eprintln!(
                            "warning: {name}/{config} resumed {reused} of {n} (expected {})",
                            n - 1.0
                        );
                    }
                    if !resume && reused != 0.0 {
                        eprintln!("warning: {name}/{config} resumed {reused} full handshakes");
                    }
                }
                record(runs, "handshake", &name, config, round, result, m);
            }
        }
    }
}

fn latency_suite(opts: &Options, env: &Env, runs: &mut Vec<Run>) {
    let configs = ["rust-stream", "crate"];
    for round in 0..opts.rounds(5) {
        for (wi, pinned) in [true, false].into_iter().enumerate() {
            let workload = if pinned { "pinned-cpu0" } else { "unpinned" };
            for config in rotated(&configs, round + wi) {
                let mut spec = env.base_spec("lat", TLS13_EC);
                spec["warm"] = json!(opts.warm);
                spec["iters"] = json!(opts.iters);
                spec["impl"] = json!(if config == "crate" { "crate" } else { "raw" });
                let mut result = run_child(env.rust_command(&spec, pinned));
                let mut m = BTreeMap::new();
                if let Some(rtts) = result["rtt_us"].as_array() {
                    let v: Vec<f64> = rtts.iter().filter_map(Value::as_f64).collect();
                    m.insert("p50_us", sys::percentile(&v, 50.0));
                    m.insert("p99_us", sys::percentile(&v, 99.0));
                    result["rtt_us"] = json!(v.len()); // keep the JSON small
                }
                record(runs, "latency", workload, config, round, result, m);
            }
        }
    }
}

fn memory_suite(opts: &Options, env: &Env, scratch: &Path, runs: &mut Vec<Run>) {
    let configs = ["rust-stream", "rust-stream+release-buffers", "crate"];
    let n = opts.conns;
    let limit = open_file_limit();
    let wrap = limit.is_some_and(|l| l < n as u64 + 256);
    let command = |spec: Value| {
        let mut cmd = if wrap {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={}", n + 1024))
                .arg("--")
                .arg(&env.exe);
            c
        } else {
            Command::new(&env.exe)
        };
        cmd.arg("--bench").arg("--child").arg(spec.to_string());
        cmd
    };
    for round in 0..opts.rounds(2) {
        for (wi, role) in ["server", "client"].into_iter().enumerate() {
            for config in rotated(&configs, round + wi) {
                let implementation = match config {
                    "crate" => "crate",
                    "rust-stream" => "raw",
                    _ => "raw-release",
                };
                let base = env.base_spec("mem", TLS13_EC);
                let t0 = Instant::now();
                let result = memory::run(&command, &base, implementation, role, n, scratch);
                let mut result = result;
                result["wall_s"] = json!(t0.elapsed().as_secs_f64());
                let mut m = BTreeMap::new();
                for key in ["heap_per_conn", "rss_per_conn", "anon_per_conn"] {
                    if let Some(v) = result[key].as_f64() {
                        m.insert(key, v);
                    }
                }
                record(
                    runs,
                    "memory",
                    &format!("{role}-end"),
                    config,
                    round,
                    result,
                    m,
                );
            }
        }
    }
}

fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Aggregation.

/// The configuration every other one is compared with: the raw `openssl` crate.
const BASELINE: &str = "rust-stream";

fn summarize(runs: &[Run]) -> Vec<Value> {
    let mut keys: Vec<(&str, String, &str)> = Vec::new();
    for r in runs {
        let k = (r.suite, r.workload.clone(), r.config);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out = Vec::new();
    for (suite, workload, config) in keys {
        let mine: Vec<&Run> = runs
            .iter()
            .filter(|r| r.suite == suite && r.workload == workload && r.config == config)
            .collect();
        let mut metrics: Vec<&'static str> = Vec::new();
        for r in &mine {
            for k in r.metrics.keys() {
                if !metrics.contains(k) {
                    metrics.push(k);
                }
            }
        }
        let mut entry = json!({"suite": suite, "workload": workload, "config": config,
                               "runs": mine.len()});
        let foreign: Vec<f64> = mine
            .iter()
            .filter_map(|r| r.result["foreign"].as_f64())
            .collect();
        entry["foreign_median"] = json!(sys::median(&foreign));
        // Compared with the baseline of the same round, and with every other configuration.
        let references: Vec<&str> = {
            let mut v = vec![BASELINE];
            if suite == "handshake" {
                v.push("c-libssl");
            }
            if suite == "memory" {
                v.push("rust-stream+release-buffers");
            }
            v
        };
        for metric in metrics {
            let values: Vec<f64> = mine
                .iter()
                .filter_map(|r| r.metrics.get(metric).copied())
                .collect();
            let (lo, hi) = sys::min_max(&values);
            let mut m = json!({"median": sys::median(&values), "min": lo, "max": hi,
                               "n": values.len()});
            for reference in &references {
                if *reference == config {
                    continue;
                }
                let mut ratios = Vec::new();
                let mut diffs = Vec::new();
                for r in &mine {
                    let Some(v) = r.metrics.get(metric) else {
                        continue;
                    };
                    let base = runs.iter().find(|b| {
                        b.suite == suite
                            && b.workload == workload
                            && b.config == *reference
                            && b.round == r.round
                    });
                    if let Some(b) = base.and_then(|b| b.metrics.get(metric)) {
                        ratios.push(v / b);
                        diffs.push(v - b);
                    }
                }
                if ratios.is_empty() {
                    continue;
                }
                let (rlo, rhi) = sys::min_max(&ratios);
                let (dlo, dhi) = sys::min_max(&diffs);
                m[format!("vs:{reference}")] = json!({
                    "ratio": sys::median(&ratios), "ratio_min": rlo, "ratio_max": rhi,
                    "diff": sys::median(&diffs), "diff_min": dlo, "diff_max": dhi,
                    "pairs": ratios.len(),
                });
            }
            entry[metric] = m;
        }
        out.push(entry);
    }
    out
}

fn fmt_ratio(m: &Value, reference: &str) -> String {
    let r = &m[format!("vs:{reference}")];
    match r["ratio"].as_f64() {
        Some(x) => format!(
            "{x:.2} ({:.2}-{:.2})",
            r["ratio_min"].as_f64().unwrap_or(f64::NAN),
            r["ratio_max"].as_f64().unwrap_or(f64::NAN)
        ),
        None => "-".to_owned(),
    }
}

fn fmt_value(m: &Value, digits: usize) -> String {
    match m["median"].as_f64() {
        Some(x) => format!(
            "{x:.digits$} ({:.digits$}-{:.digits$})",
            m["min"].as_f64().unwrap_or(f64::NAN),
            m["max"].as_f64().unwrap_or(f64::NAN)
        ),
        None => "-".to_owned(),
    }
}

fn print_report(summary: &[Value]) {
    let mut last = String::new();
    for e in summary {
        let suite = e["suite"].as_str().unwrap_or("");
        let workload = e["workload"].as_str().unwrap_or("");
        let config = e["config"].as_str().unwrap_or("");
        if suite != last {
            println!("\n## {suite}");
            last = suite.to_owned();
        }
        let base = BASELINE;
        let line = match suite {
            "bulk" => format!(
                "MB/s {} ratio {} | MB/CPU-s {} ratio {}",
                fmt_value(&e["mb_s"], 0),
                fmt_ratio(&e["mb_s"], base),
                fmt_value(&e["mb_per_cpu_s"], 0),
                fmt_ratio(&e["mb_per_cpu_s"], base)
            ),
            "handshake" => format!(
                "hs/s {} ratio {} | CPU µs/hs {} ratio {} | vs c-libssl {} | reused {:.3}",
                fmt_value(&e["hs_s"], 0),
                fmt_ratio(&e["hs_s"], base),
                fmt_value(&e["cpu_us_per_hs"], 0),
                fmt_ratio(&e["cpu_us_per_hs"], base),
                fmt_ratio(&e["hs_s"], "c-libssl"),
                e["reused_share"]["median"].as_f64().unwrap_or(f64::NAN)
            ),
            "latency" => format!(
                "p50 µs {} ({:+.1} µs paired) | p99 µs {} ratio {}",
                fmt_value(&e["p50_us"], 1),
                e["p50_us"][format!("vs:{base}")]["diff"]
                    .as_f64()
                    .unwrap_or(0.0),
                fmt_value(&e["p99_us"], 1),
                fmt_ratio(&e["p99_us"], base)
            ),
            "memory" => format!(
                "heap/conn {} (vs raw {:+.0}, vs raw+release {:+.0}) | RSS/conn {} | anon/conn {}",
                fmt_value(&e["heap_per_conn"], 0),
                e["heap_per_conn"]["vs:rust-stream"]["diff"]
                    .as_f64()
                    .unwrap_or(0.0),
                e["heap_per_conn"]["vs:rust-stream+release-buffers"]["diff"]
                    .as_f64()
                    .unwrap_or(0.0),
                fmt_value(&e["rss_per_conn"], 0),
                fmt_value(&e["anon_per_conn"], 0)
            ),
            _ => String::new(),
        };
        println!("{workload:<22} {config:<28} {line}");
    }
}
