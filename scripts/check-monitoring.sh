#!/usr/bin/env bash
# Validates the monitoring files offline (called by scripts/validate-deploy.sh, which .ci/run calls):
#
#   deploy/prometheus/alerts.yml        `promtool check rules`, and `promtool test rules` over alerts.test.yml (unit
#                                       tests: a stuck payment fires PaymentsPipelineBacklogStuck, and more)
#   k8s/monitoring/prometheusrule.yaml  a PrometheusRule whose groups are exactly those of alerts.yml
#   deploy/grafana/*.json               a Grafana dashboard: >= 6 panels, no overlap, every query parses as PromQL
#                                       (each one checked by promtool as a recording rule)
#   every metric and label they name    exists in the service: a name recorded in src/ (histograms with their
#                                       _bucket/_sum/_count series), a label given a value there
#   docs/operations.md                  has a runbook section for every alert
#
# promtool comes from Debian's `prometheus` package, its upstream version pinned below (any Debian revision of it:
# security updates replace the file, and the archive keeps only the newest): `apt-get download` (no root needed,
# nothing installed system-wide; apt checks the file against Debian's signed package index) and unpacked into
# .tools/promtool/. PROMTOOL=/path/to/promtool uses another.
# `--write` regenerates k8s/monitoring/prometheusrule.yaml from alerts.yml instead of failing on a difference.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT="$PWD"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

PROMETHEUS_UPSTREAM="2.42.0"
PY="${PY:-python3}"
WRITE=0
[ "${1:-}" = --write ] && WRITE=1

ensure_promtool() {
  if [ -n "${PROMTOOL:-}" ]; then return; fi
  PROMTOOL="$ROOT/.tools/promtool/promtool"
  [ -x "$PROMTOOL" ] && return
  local tmp deb version
  tmp="$(mktemp -d)"
  debian_version() {
    apt-cache madison prometheus 2>/dev/null \
      | awk -v up="$PROMETHEUS_UPSTREAM" '{ if (index($3, up "+") == 1) { print $3; exit } }'
  }
  version="$(debian_version)"
  # A fresh machine may have no package lists yet; as root, fetch them once and look again.
  if [ -z "$version" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq > /dev/null 2>&1 || true
    version="$(debian_version)"
  fi
  if [ -z "$version" ]; then
    echo "check-monitoring: Debian offers no prometheus $PROMETHEUS_UPSTREAM (apt-cache policy prometheus shows" \
      "what is available; update PROMETHEUS_UPSTREAM)" >&2
    rm -rf "$tmp"; return 1
  fi
  echo "check-monitoring: installing promtool from Debian's prometheus $version into .tools/promtool" >&2
  (cd "$tmp" && apt-get download "prometheus=$version" > "$tmp/apt.log" 2>&1) || {
    cat "$tmp/apt.log" >&2
    rm -rf "$tmp"; return 1
  }
  deb="$(ls "$tmp"/prometheus_*.deb)"
  dpkg-deb -x "$deb" "$tmp/x" && mkdir -p "$ROOT/.tools/promtool" \
    && cp "$tmp/x/usr/bin/promtool" "$PROMTOOL.partial" && mv "$PROMTOOL.partial" "$PROMTOOL"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

cat > "$WORK/monitoring.py" <<'PYTHON'
import glob, json, os, re, sys
import yaml

ROOT = os.getcwd()
RULES = "deploy/prometheus/alerts.yml"
PROMETHEUS_RULE = "k8s/monitoring/prometheusrule.yaml"
problems = []
fail = problems.append

def rules_groups():
    return yaml.safe_load(open(RULES))["groups"]

def dashboards():
    return sorted(glob.glob("deploy/grafana/*.json"))

def dashboard_exprs(path):
    d = json.load(open(path))
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            yield p.get("title", "?"), t.get("expr", "")

def prometheus_rule(write):
    """The PrometheusRule carries exactly the groups of the plain rules file."""
    if write:
        class Dumper(yaml.SafeDumper):
            pass
        Dumper.add_representer(str, lambda d, v: d.represent_scalar(
            "tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))
        old = open(PROMETHEUS_RULE).read() if os.path.exists(PROMETHEUS_RULE) else ""
        head = "".join(l for l in old.splitlines(True) if l.startswith("#"))
        doc = yaml.safe_load(old) if old else {
            "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "payments", "labels": {"app.kubernetes.io/name": "payments"}}}
        doc["spec"] = {"groups": rules_groups()}
        open(PROMETHEUS_RULE, "w").write(head + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=120))
    doc = yaml.safe_load(open(PROMETHEUS_RULE))
    if doc.get("apiVersion") != "monitoring.coreos.com/v1" or doc.get("kind") != "PrometheusRule":
        fail(f"{PROMETHEUS_RULE}: not a monitoring.coreos.com/v1 PrometheusRule")
    if not doc.get("metadata", {}).get("name"):
        fail(f"{PROMETHEUS_RULE}: metadata.name missing")
    if set(doc.get("spec", {})) != {"groups"}:
        fail(f"{PROMETHEUS_RULE}: spec must hold groups only, has {sorted(doc.get('spec', {}))}")
    if doc.get("spec", {}).get("groups") != rules_groups():
        fail(f"{PROMETHEUS_RULE}: spec.groups differ from {RULES}; run scripts/check-monitoring.sh --write")

def dashboard_rules(out):
    """Every dashboard query as a recording rule, for promtool to parse; plus the dashboard's own shape."""
    rules = []
    for path in dashboards():
        d = json.load(open(path))
        panels = d.get("panels", [])
        if len(panels) < 6:
            fail(f"{path}: {len(panels)} panels, want at least 6")
        if len({p.get("id") for p in panels}) != len(panels):
            fail(f"{path}: panel ids are not unique")
        if not d.get("uid") or not d.get("title"):
            fail(f"{path}: uid and title are required")
        cells = {}
        for p in panels:
            g = p.get("gridPos", {})
            if g.get("x", 0) + g.get("w", 0) > 24:
                fail(f"{path}: panel {p.get('title')!r} is wider than the grid")
            for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
                for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                    if (x, y) in cells:
                        fail(f"{path}: panels {cells[(x, y)]!r} and {p.get('title')!r} overlap")
                    cells[(x, y)] = p.get("title")
            if not p.get("targets"):
                fail(f"{path}: panel {p.get('title')!r} has no query")
        for i, (title, expr) in enumerate(dashboard_exprs(path)):
            if not expr.strip():
                fail(f"{path}: panel {title!r} has an empty query")
                continue
            # Grafana's variables, as Grafana would substitute them.
            expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace('"$job"', '".+"')
            rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))

def metric_names(expr):
    # Identifiers that are not label names (followed by = ! ~) nor inside strings.
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return {m for m in re.findall(r"\b(payments_[a-z0-9_]+)\b", expr)}

def label_names(expr):
    names = set()
    for block in re.findall(r"\{([^}]*)\}", re.sub(r"\{\{[^}]*\}\}", "", expr)):
        names.update(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", block))
    for block in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        names.update(n.strip() for n in block.split(",") if n.strip())
    return names

def service_metrics():
    """Names the service records and the label keys it sets, read from its source."""
    names, labels = set(), set()
    for path in glob.glob("src/**/*.rs", recursive=True):
        text = open(path).read()
        names.update(re.findall(r'"(payments_[a-z0-9_]+)"', text))
        labels.update(re.findall(r'"([a-z_]+)"\s*=>', text))
    return names, labels

# Labels that Prometheus adds to every series it scrapes, or that histograms carry.
SCRAPE_LABELS = {"job", "instance", "le", "namespace", "pod"}

def metrics_exist():
    names, labels = service_metrics()
    if not names:
        return fail("no payments_* metric names found in src/")
    used = []
    for g in rules_groups():
        for r in g["rules"]:
            used.append((f"{RULES} {r.get('alert') or r.get('record')}", r["expr"]))
    for path in dashboards():
        for title, expr in dashboard_exprs(path):
            used.append((f"{path} panel {title!r}", expr))
    for where, expr in used:
        for m in sorted(metric_names(expr)):
            base = re.sub(r"_(bucket|sum|count)$", "", m)
            if m not in names and base not in names:
                fail(f"{where}: metric {m} is not recorded anywhere in src/")
        for label in sorted(label_names(expr) - SCRAPE_LABELS):
            if label not in labels:
                fail(f"{where}: label {label!r} is not set by any metric in src/")

def runbooks():
    text = open("docs/operations.md").read()
    headings = {h.strip() for h in re.findall(r"^#{2,4}\s+`?([A-Za-z]+)`?\s*$", text, re.M)}
    for g in rules_groups():
        for r in g["rules"]:
            name = r.get("alert")
            if not name:
                continue
            if name not in headings:
                fail(f"docs/operations.md: no runbook section for {name}")
            if r.get("annotations", {}).get("runbook_url") != f"docs/operations.md#{name.lower()}":
                fail(f"{RULES} {name}: runbook_url must be docs/operations.md#{name.lower()}")
            if r.get("labels", {}).get("severity") not in ("critical", "warning"):
                fail(f"{RULES} {name}: severity must be critical or warning")

what = sys.argv[1]
try:
    {"prometheus-rule": lambda: prometheus_rule(sys.argv[2:] == ["--write"]),
     "dashboard-rules": lambda: dashboard_rules(sys.argv[2]),
     "metrics-exist": metrics_exist, "runbooks": runbooks}[what]()
except Exception as e:  # a malformed file is a failed check, with its reason
    fail(f"{type(e).__name__}: {e}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PYTHON

mon() { "$PY" "$WORK/monitoring.py" "$@"; }

if ensure_promtool > "$WORK/promtool-install" 2>&1; then
  version="$("$PROMTOOL" --version 2>&1 | head -n1)"
  check "$version check rules deploy/prometheus/alerts.yml" "$PROMTOOL" check rules deploy/prometheus/alerts.yml
  check "$version test rules deploy/prometheus/alerts.test.yml (a stuck payment fires PaymentsPipelineBacklogStuck, …)" \
    "$PROMTOOL" test rules deploy/prometheus/alerts.test.yml
  check "Grafana dashboard: >= 6 panels, layout, every query parses as PromQL ($version)" \
    bash -c '"$1" "$2" dashboard-rules "$3" && "$4" check rules "$3"' _ "$PY" "$WORK/monitoring.py" \
    "$WORK/dashboard-rules.yml" "$PROMTOOL"
else
  check "promtool (Debian's prometheus $PROMETHEUS_UPSTREAM)" bash -c 'cat "$1"; exit 1' _ "$WORK/promtool-install"
fi
if [ "$WRITE" = 1 ]; then
  check "k8s/monitoring/prometheusrule.yaml regenerated from alerts.yml" mon prometheus-rule --write
else
  check "k8s/monitoring/prometheusrule.yaml: a PrometheusRule with exactly the groups of alerts.yml" mon prometheus-rule
fi
check "every metric and label in the alerts and the dashboard is recorded by the service (src/)" mon metrics-exist
check "docs/operations.md: a runbook section for every alert" mon runbooks

echo "check-monitoring: $passed passed, $failed failed"
[ "$failed" = 0 ]
