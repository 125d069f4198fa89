#!/usr/bin/env python3
"""Compares builds measured by rotate.sh: webhook intake (closed loop) per round, the ratio of each build to BASE
within each round, its geometric mean with a 95 % bootstrap interval over rounds, and the same over the *quiet*
rounds only: those in which neither run lost more than QUIET % of the machine to anything but the benchmark's own
processes (`cpu_percent_closed["other processes"]`, which includes the hypervisor's steal). A run that lost a
third of its CPU to a neighbour measures the neighbour, not the build. Also the pipeline's catch-up after the loop.

Usage: rounds.py OUT_DIR BASE [QUIET=5]"""
import collections, glob, json, math, os, random, re, statistics as st, sys

out, base = sys.argv[1], sys.argv[2]
quiet = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
runs = collections.defaultdict(dict)
for path in glob.glob(os.path.join(out, "*-*.json")):
    name, rnd = re.match(r"(.+)-(\d+)\.json$", os.path.basename(path)).groups()
    ingestion = json.load(open(path))["ingestion"]
    once = ingestion["exactly_once"]
    runs[name][int(rnd)] = {
        "intake": ingestion["closed"]["throughput_per_s"],
        "other": ingestion["cpu_percent_closed"]["other processes"],
        "catch_up": ingestion["pipeline"]["outcomes_per_s_until_idle"],
        "lost": once["missing"] + once["duplicated"],
    }

geo = lambda xs: math.exp(st.mean(math.log(x) for x in xs))
rng = random.Random(1)


def interval(ratios):
    means = sorted(geo([rng.choice(ratios) for _ in ratios]) for _ in range(10_000))
    return means[250], means[9_750]


for name in sorted(runs):
    r = runs[name].values()
    calm = [x["intake"] for x in r if x["other"] <= quiet]
    print(f"{name}: {len(r)} runs, intake median {st.median(x['intake'] for x in r):,.0f}/s"
          f" ({len(calm)} quiet: median {st.median(calm) if calm else float('nan'):,.0f}/s),"
          f" catch-up median {st.median(x['catch_up'] for x in r):,.0f}/s, missing+duplicated {sum(x['lost'] for x in r)}")
for name in sorted(runs):
    if name == base:
        continue
    both = [k for k in runs[name] if k in runs[base]]
    for label, keys in (("all rounds", both),
                        ("quiet rounds", [k for k in both if max(runs[name][k]["other"], runs[base][k]["other"]) <= quiet])):
        if len(keys) < 2:
            print(f"{name} / {base}, {label}: fewer than 2")
            continue
        ratios = [runs[name][k]["intake"] / runs[base][k]["intake"] for k in keys]
        low, high = interval(ratios)
        catch = geo([runs[name][k]["catch_up"] / runs[base][k]["catch_up"] for k in keys])
        print(f"{name} / {base}, {label} ({len(keys)}): intake {geo(ratios):.3f} (95 % {low:.3f}-{high:.3f}),"
              f" catch-up {catch:.3f}")
