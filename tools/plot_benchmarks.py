#!/usr/bin/env python3
"""Plots the results of `cargo bench --bench tls` (BENCHMARKS.md).

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install matplotlib
    /tmp/bench-venv/bin/python tools/plot_benchmarks.py [RESULTS.json] [OUT.png]

Defaults: docs/benchmarks.json -> docs/benchmarks.png. Bars are medians over rounds, whiskers
min-max; the last panel shows the paired ratios (median of per-round crate/baseline) with the
targets of the benchmark issue. With --markdown it prints BENCHMARKS.md's result tables instead.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COLORS = {
    "rust-stream": "#4c72b0",
    "c-libssl": "#8c8c8c",
    "crate": "#dd8452",
    "python": "#55a868",
}
LABELS = {
    "rust-stream": "openssl crate SslStream (rust-stream)",
    "c-libssl": "libssl from C",
    "crate": "qsslsocket SslSocket",
    "python": "Python ssl.SSLSocket",
}


ORDER = ["rust-stream", "rust-stream+release-buffers", "c-libssl", "crate", "python"]


def entries(summary, suite):
    """The suite's entries, workloads in run order, configurations in ORDER."""
    rows = [e for e in summary if e["suite"] == suite]
    workloads = list(dict.fromkeys(e["workload"] for e in rows))
    rank = {c: i for i, c in enumerate(ORDER)}
    return sorted(rows, key=lambda e: (workloads.index(e["workload"]),
                                       rank.get(e["config"], len(ORDER))))


def find(summary, suite, workload, config):
    for e in summary:
        if e["suite"] == suite and e["workload"] == workload and e["config"] == config:
            return e
    return None


def bars(ax, summary, suite, workloads, configs, metric, scale=1.0):
    if not configs:  # a run of other suites only
        ax.text(0.5, 0.5, f"no {suite} results in this run", ha="center", transform=ax.transAxes)
        return
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        xs, ys, lo, hi = [], [], [], []
        for j, w in enumerate(workloads):
            e = find(summary, suite, w, config)
            if not e or metric not in e:
                continue
            m = e[metric]
            xs.append(j + (i - (len(configs) - 1) / 2) * width)
            ys.append(m["median"] * scale)
            lo.append((m["median"] - m["min"]) * scale)
            hi.append((m["max"] - m["median"]) * scale)
        if xs:
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=COLORS.get(config),
                   label=LABELS.get(config, config))
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads, fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def ratio_panel(ax, summary):
    rows = []  # (label, median, min, max, target)
    bulk = find(summary, "bulk", "tls13-aes128-gcm", "crate")
    if bulk:
        for metric, name in (("mb_s", "bulk MB/s"), ("mb_per_cpu_s", "bulk MB/CPU-s")):
            r = bulk.get(metric, {}).get("vs:rust-stream")
            if r:
                rows.append((name, r["ratio"], r["ratio_min"], r["ratio_max"], 1.0))
    for e in entries(summary, "handshake"):
        if e["config"] != "crate":
            continue
        r = e.get("hs_s", {}).get("vs:rust-stream")
        if r:
            name = e["workload"].replace("full-", "full ").replace("resumed-", "resumed ")
            rows.append((f"{name} hs/s", r["ratio"], r["ratio_min"], r["ratio_max"], 0.95))
    y = list(range(len(rows)))[::-1]
    for yi, (name, med, lo, hi, target) in zip(y, rows):
        color = "#55a868" if med >= target else "#c44e52"
        ax.barh(yi, med, color=color, alpha=0.8)
        ax.errorbar(med, yi, xerr=[[med - lo], [hi - med]], fmt="none", ecolor="black",
                    capsize=2)
        ax.plot([target, target], [yi - 0.4, yi + 0.4], color="black", lw=1.5)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.axvline(1.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("paired ratio crate / baseline (black tick: target)")
    ax.set_title("qsslsocket vs the raw openssl crate, same rounds", fontsize=10)
    ax.grid(axis="x", alpha=0.3)


def cell(m, digits=0):
    if not m or m.get("median") is None:
        return "-"
    return f"{m['median']:,.{digits}f} ({m['min']:,.{digits}f}-{m['max']:,.{digits}f})"


def ratio(m, ref, digits=2):
    r = (m or {}).get(f"vs:{ref}")
    if not r:
        return "-"
    return f"{r['ratio']:.{digits}f} ({r['ratio_min']:.{digits}f}-{r['ratio_max']:.{digits}f})"


def diff(m, ref, digits=1):
    r = (m or {}).get(f"vs:{ref}")
    if not r:
        return "-"
    return f"{r['diff']:+,.{digits}f} ({r['diff_min']:+,.{digits}f} to {r['diff_max']:+,.{digits}f})"


def markdown(doc):
    summary = doc["summary"]
    out = []
    out.append("| config | MB/s | paired ratio | MB per CPU-s | paired ratio | rounds | foreign |")
    out.append("|---|---|---|---|---|---|---|")
    for e in entries(summary, "bulk"):
        out.append(f"| {e['config']} | {cell(e.get('mb_s'))} | {ratio(e.get('mb_s'), 'rust-stream')}"
                   f" | {cell(e.get('mb_per_cpu_s'))} | {ratio(e.get('mb_per_cpu_s'), 'rust-stream')}"
                   f" | {e['runs']} | {e['foreign_median']:.2f} |")
    out.append("")
    out.append("| workload | config | hs/s | paired ratio vs baseline | CPU µs/hs | paired CPU ratio"
               " | hs/s vs c-libssl | reused/(n-1) | foreign |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for e in entries(summary, "handshake"):
        base = "rust-stream"
        vs_c = ratio(e.get("hs_s"), "c-libssl")
        reused = e.get("reused_share", {})
        out.append(f"| {e['workload']} | {e['config']} | {cell(e.get('hs_s'))}"
                   f" | {ratio(e.get('hs_s'), base)} | {cell(e.get('cpu_us_per_hs'))}"
                   f" | {ratio(e.get('cpu_us_per_hs'), base)} | {vs_c}"
                   f" | {cell(reused, 3)} | {e['foreign_median']:.2f} |")
    out.append("")
    out.append("| mode | config | p50 µs | p50 paired diff µs | p99 µs | p99 paired ratio | foreign |")
    out.append("|---|---|---|---|---|---|---|")
    for e in entries(summary, "latency"):
        out.append(f"| {e['workload']} | {e['config']} | {cell(e.get('p50_us'), 1)}"
                   f" | {diff(e.get('p50_us'), 'rust-stream')} | {cell(e.get('p99_us'), 1)}"
                   f" | {ratio(e.get('p99_us'), 'rust-stream')} | {e['foreign_median']:.2f} |")
    out.append("")
    out.append("| end | config | heap B/conn | vs rust-stream | vs rust-stream + RELEASE_BUFFERS"
               " | RSS B/conn | anon B/conn |")
    out.append("|---|---|---|---|---|---|---|")
    for e in entries(summary, "memory"):
        h = e.get("heap_per_conn")
        out.append(f"| {e['workload']} | {e['config']} | {cell(h)} | {diff(h, 'rust-stream', 0)}"
                   f" | {diff(h, 'rust-stream+release-buffers', 0)} | {cell(e.get('rss_per_conn'))}"
                   f" | {cell(e.get('anon_per_conn'))} |")
    return "\n".join(out)


def main():
    args = [a for a in sys.argv[1:] if a != "--markdown"]
    src = Path(args[0]) if args else ROOT / "docs" / "benchmarks.json"
    out = Path(args[1]) if len(args) > 1 else ROOT / "docs" / "benchmarks.png"
    doc = json.loads(src.read_text())
    if "--markdown" in sys.argv:
        print(markdown(doc))
        return
    summary = doc["summary"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))

    ax = axes[0][0]
    configs = [c for c in ("rust-stream", "crate", "python")
               if find(summary, "bulk", "tls13-aes128-gcm", c)]
    bars(ax, summary, "bulk", ["tls13-aes128-gcm"], configs, "mb_s")
    bulk_cpu_x = 1
    width = 0.8 / max(len(configs), 1)
    for i, c in enumerate(configs):
        m = find(summary, "bulk", "tls13-aes128-gcm", c).get("mb_per_cpu_s")
        if m:
            ax.bar(bulk_cpu_x + (i - (len(configs) - 1) / 2) * width, m["median"], width,
                   yerr=[[m["median"] - m["min"]], [m["max"] - m["median"]]], capsize=2,
                   color=COLORS.get(c), hatch="//", edgecolor="white")
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["MB/s (wall clock)", "MB per CPU-second (both ends)"], fontsize=9)
    size = doc.get("params", {}).get("bytes", 1 << 30)
    size = f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):g} MiB"
    ax.set_title(f"Bulk: {size} client->server, TLS 1.3 AES-128-GCM, 64 KiB writes",
                 fontsize=10)

    ax = axes[0][1]
    full = [e["workload"] for e in entries(summary, "handshake")
            if e["workload"].startswith("full") and e["config"] == "crate"]
    configs = [c for c in ("rust-stream", "crate", "c-libssl", "python")
               if any(find(summary, "handshake", w, c) for w in full)]
    bars(ax, summary, "handshake", full, configs, "hs_s")
    ax.set_xticklabels([w.replace("full-", "") for w in full], fontsize=8)
    ax.set_title("Full handshakes per second (sequential, 1 client + 1 server thread)",
                 fontsize=10)
    handles, labels = ax.get_legend_handles_labels()

    ax = axes[1][0]
    resumed = [e["workload"] for e in entries(summary, "handshake")
               if e["workload"].startswith("resumed") and e["config"] == "crate"]
    configs = [c for c in ("rust-stream", "crate", "c-libssl", "python")
               if any(find(summary, "handshake", w, c) for w in resumed)]
    bars(ax, summary, "handshake", resumed, configs, "hs_s")
    ax.set_xticklabels([w.replace("resumed-", "") for w in resumed], fontsize=8)
    ax.set_title("Resumed handshakes per second (TLS 1.3 ticket / TLS 1.2)", fontsize=10)

    ratio_panel(axes[1][1], summary)

    m = doc.get("machine", {})
    fig.suptitle(
        f"qsslsocket benchmarks: {m.get('cpu', '?')} x{m.get('cpus', '?')} "
        f"({m.get('hypervisor', '')}), {m.get('openssl', '')}, loopback"
        + (" [quick mode]" if doc.get("quick") else ""),
        fontsize=11,
    )
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=9,
               bbox_to_anchor=(0.5, 0.965), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
