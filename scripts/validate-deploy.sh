#!/usr/bin/env bash
# shellcheck disable=SC2016 # the `bash -c '…' _ args` checks expand their arguments in the child shell, on purpose
# Validates the deployment artifacts offline, on a machine with neither a Docker engine nor a Kubernetes cluster:
#
#   Dockerfile, .dockerignore   parsed (dockerfile-parse); the runtime stage's user, port, health check, entrypoint;
#                               production builds payments with --no-default-features and ships no stand-in, which
#                               has its own `emulator` stage; every COPY source exists and is in the build context;
#                               every workspace member's Cargo.toml is in the dependency layer
#   docker-compose.yml          against the compose-spec JSON schema (check-jsonschema), plus the wiring (the stand-in
#                               from the emulator target, the service from the production one)
#   .env.example                names every contract variable
#   k8s/                        every file a kustomization.yaml names exists and every manifest is named; base and
#                               overlays rendered (`kustomize build`, or `kubectl kustomize`, when either is on
#                               PATH) and every resource checked against the Kubernetes OpenAPI schemas in strict
#                               mode (kubernetes-validate; unknown fields are errors), file by file and rendered;
#                               the service's invariants (probes, grace period, security context, Secret keys)
#   nats.conf (k8s/base/nats.yaml)  `nats-server -t` (nats-server from scripts/lib.sh, as the tests use)
#   monitoring                  scripts/check-monitoring.sh: alert rules (promtool check/test rules), the PrometheusRule
#                               of k8s/monitoring, the Grafana dashboard, metric names against src/, runbooks
#
# Tools go into .tools/venv-validate (pinned, installed once). Exits non-zero if any check fails.
# Environment: K8S_VERSIONS (default "1.31.0 1.37.0": the oldest and the newest this validates for);
# NO_KUSTOMIZE=1 takes the path of a machine without kustomize/kubectl (per-file checks only).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT="$PWD"

K8S_VERSIONS="${K8S_VERSIONS:-1.31.0 1.37.0}"
VENV="$ROOT/.tools/venv-validate"
REQUIREMENTS="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 dockerfile-parse==2.0.1 PyYAML>=6"

# --- tools -------------------------------------------------------------------------------------------------------
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
  echo "validate-deploy: installing $REQUIREMENTS into .tools/venv-validate" >&2
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV" || { echo "validate-deploy: cannot create $VENV" >&2; exit 2; }
  fi
  # shellcheck disable=SC2086 # word splitting of the requirement list is intended
  "$VENV/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS \
    || { echo "validate-deploy: pip install failed" >&2; rm -rf "$VENV"; exit 2; }
  echo "$REQUIREMENTS" > "$VENV/.requirements"
fi
PY="$VENV/bin/python"

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

# All the Python checks live in one program, called with the check's name.
cat > "$WORK/checks.py" <<'PYTHON'
import fnmatch, os, re, sys, tomllib
import yaml

ROOT = os.getcwd()
problems = []

def fail(msg):
    problems.append(msg)

def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

def duration_s(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text).strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]

# The contract's configuration variables (CONTRACT.md section 1 and the README's table).
CONTRACT_VARS = ["PORT", "HOST", "NATS_SERVERS", "STRIPE_SECRET", "STRIPE_ENDPOINT_SECRET", "STRIPE_SUCCESS_URL",
                 "STRIPE_CANCEL_URL", "STRIPE_API_BASE", "NATS_STREAM_REPLICAS"]
EXTRA_VARS = ["STRIPE_TIMEOUT", "WEBHOOK_TOLERANCE", "HTTP_BODY_LIMIT", "JETSTREAM_TIMEOUT", "EVENTS_STREAM",
              "EVENTS_RETENTION", "DEDUP_WINDOW", "PIPELINE_ACK_WAIT", "SHUTDOWN_GRACE", "LOG_FORMAT", "RUST_LOG"]
SECRET_VARS = {"STRIPE_SECRET": "stripe_secret", "STRIPE_ENDPOINT_SECRET": "stripe_endpoint_secret"}


def dockerfile():
    from dockerfile_parse import DockerfileParser
    df = DockerfileParser(path=os.path.join(ROOT, "Dockerfile"))
    instructions = df.structure
    if not instructions:
        return fail("Dockerfile: no instructions")
    stages, current = {}, None
    for ins in instructions:
        if ins["instruction"] == "FROM":
            parts = ins["value"].split()
            current = parts[2].lower() if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
            stages[current] = []
        elif current is not None:
            stages[current].append(ins)
    if list(stages)[:1] != ["builder"] or "runtime" not in stages:
        fail(f"Dockerfile: expected stages builder … runtime, found {list(stages)}")
    final = stages[list(stages)[-1]]
    def values(name):
        return [i["value"] for i in final if i["instruction"] == name]
    users = values("USER")
    if not users or users[-1].split(":")[0] in ("root", "0"):
        fail(f"Dockerfile: the runtime stage must run as a non-root user, USER is {users}")
    if "3000" not in " ".join(values("EXPOSE")).split():
        fail("Dockerfile: EXPOSE 3000 missing")
    hc = " ".join(values("HEALTHCHECK"))
    if '"/usr/local/bin/payments"' not in hc or '"healthcheck"' not in hc:
        fail(f"Dockerfile: HEALTHCHECK must run /usr/local/bin/payments healthcheck, is {hc!r}")
    if values("ENTRYPOINT") != ['["/usr/local/bin/payments"]']:
        fail(f"Dockerfile: ENTRYPOINT is {values('ENTRYPOINT')}")
    if values("CMD") != ['["serve"]']:
        fail(f"Dockerfile: CMD is {values('CMD')}")
    if values("STOPSIGNAL") != ["SIGTERM"]:
        fail(f"Dockerfile: STOPSIGNAL is {values('STOPSIGNAL')}")
    # Production ships the service alone, built without the `dev-tools` feature; the emulator has its own target.
    if final is not stages.get("runtime"):
        fail("Dockerfile: the production stage `runtime` must be the last (the default target)")
    copies = " ".join(i["value"] for i in final if i["instruction"] == "COPY")
    if "stripe-standin" in copies:
        fail("Dockerfile: the runtime (production) stage must not ship stripe-standin")
    builds = [i["value"] for i in instructions if i["instruction"] == "RUN" and "-p payments" in i["value"]]
    if not builds or any("--no-default-features" not in b for b in builds):
        fail("Dockerfile: every build of payments must use --no-default-features (no dev-tools in production)")
    emulator = stages.get("emulator")
    if emulator is None:
        fail("Dockerfile: stage `emulator` (the stand-in for docker compose) missing")
    elif [i["value"] for i in emulator if i["instruction"] == "ENTRYPOINT"] != ['["/usr/local/bin/stripe-standin"]']:
        fail("Dockerfile: the emulator stage must have ENTRYPOINT /usr/local/bin/stripe-standin")
    labels = " ".join(values("LABEL"))
    for label in ("title", "version", "revision", "licenses"):
        if f"org.opencontainers.image.{label}=" not in labels:
            fail(f"Dockerfile: label org.opencontainers.image.{label} missing")

    # COPY sources: exist, and are not excluded by the allow-list .dockerignore.
    ignore = [l.strip() for l in open(os.path.join(ROOT, ".dockerignore")) if l.strip() and not l.startswith("#")]
    def ignored(path):
        out = False
        for pat in ignore:
            neg = pat.startswith("!")
            p = pat[1:] if neg else pat
            p = p.rstrip("/")
            parts = path.split("/")
            # A pattern matches the path or one of its parent directories.
            hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) or
                      (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:]))
                      for i in range(1, len(parts) + 1))
            if hit:
                out = not neg
        return out
    copied = []
    for ins in instructions:
        if ins["instruction"] != "COPY" or "--from=" in ins["value"]:
            continue
        args = [a for a in ins["value"].split() if not a.startswith("--")]
        for src in args[:-1]:
            copied.append(src.rstrip("/"))
            if not os.path.exists(os.path.join(ROOT, src)):
                fail(f"Dockerfile: COPY source {src} does not exist")
            elif ignored(src.rstrip("/")):
                fail(f"Dockerfile: COPY source {src} is excluded by .dockerignore")
    for secret in (".env", "target", ".git", ".tools"):
        if not ignored(secret):
            fail(f".dockerignore: {secret} would be sent to the build context")

    # The dependency layer must know every workspace member, or `cargo fetch` fails in the image.
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        members = tomllib.load(f)["workspace"]["members"]
    for member in members:
        manifest = "Cargo.toml" if member == "." else f"{member}/Cargo.toml"
        if manifest not in copied:
            fail(f"Dockerfile: workspace member {member}: COPY {manifest} missing from the dependency layer")
        stub = "src" if member == "." else f"{member}/src"
        run = " ".join(i["value"] for i in instructions if i["instruction"] == "RUN")
        if f"{stub}/lib.rs" not in run:
            fail(f"Dockerfile: workspace member {member}: no stub {stub}/lib.rs in the dependency layer")


def compose():
    doc = yaml.safe_load(open(os.path.join(ROOT, "docker-compose.yml")))
    if "version" in doc:
        fail("docker-compose.yml: drop the obsolete `version:` key")
    services = doc.get("services", {})
    for name in ("nats", "stripe", "payments"):
        if name not in services:
            fail(f"docker-compose.yml: service {name} missing")
    if problems:
        return
    nats_image = services["nats"].get("image", "")
    if not re.fullmatch(r"nats:2\.\d+\.\d+(-alpine[\d.]*)?", nats_image):
        fail(f"docker-compose.yml: pin nats to a 2.x.y tag, is {nats_image!r}")
    p = services["payments"]
    env = p.get("environment", {})
    if env.get("NATS_SERVERS") != "nats://nats":
        fail("docker-compose.yml: payments must use NATS_SERVERS=nats://nats")
    if env.get("STRIPE_API_BASE") != "http://stripe:12111":
        fail("docker-compose.yml: payments must use the stand-in at http://stripe:12111")
    if p.get("env_file") not in (".env", [".env"]):
        fail("docker-compose.yml: payments must read env_file .env")
    if (p.get("depends_on") or {}).get("nats", {}).get("condition") != "service_healthy":
        fail("docker-compose.yml: payments must wait for nats to be healthy")
    if "3000:3000" not in p.get("ports", []):
        fail("docker-compose.yml: payments must publish 3000:3000")
    grace = duration_s(p.get("stop_grace_period", "10s"))
    if grace <= 25:
        fail(f"docker-compose.yml: stop_grace_period {grace}s must exceed SHUTDOWN_GRACE (25s)")
    def target(name):
        build = services[name].get("build")
        return build.get("target") if isinstance(build, dict) else None
    if target("stripe") != "emulator":
        fail("docker-compose.yml: stripe must build the Dockerfile's emulator target")
    if target("payments") != "runtime":
        fail("docker-compose.yml: payments must build the Dockerfile's runtime (production) target")

    # .env.example: every contract variable, KEY=VALUE lines only, no real-looking keys.
    names = set()
    for n, line in enumerate(open(os.path.join(ROOT, ".env.example")), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            m = re.match(r"#\s*([A-Z][A-Z0-9_]*)=", line)
            if m:
                names.add(m[1])
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if not m:
            fail(f".env.example:{n}: not KEY=VALUE: {line!r}")
            continue
        names.add(m[1])
        if re.match(r"(sk|rk)_live_", m[2]):
            fail(f".env.example:{n}: a live key")
    for var in CONTRACT_VARS + EXTRA_VARS:
        if var not in names:
            fail(f".env.example: {var} missing")


def kustomize_refs():
    """Every path a kustomization names exists; every YAML file beside it is named (or is a patch)."""
    dirs = []
    for base, _, files in os.walk(os.path.join(ROOT, "k8s")):
        if "kustomization.yaml" in files:
            dirs.append(base)
    if not dirs:
        return fail("k8s/: no kustomization.yaml")
    for d in dirs:
        rel = os.path.relpath(d, ROOT)
        k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
        named = []
        for key in ("resources", "components"):
            named += k.get(key) or []
        named += [p["path"] for p in k.get("patches") or [] if "path" in p]
        named += k.get("patchesStrategicMerge") or []
        for gen in (k.get("configMapGenerator") or []) + (k.get("secretGenerator") or []):
            named += [f.split("=", 1)[-1] for f in gen.get("files", [])] + gen.get("envs", [])
        for path in named:
            full = os.path.normpath(os.path.join(d, path))
            if not os.path.exists(full):
                fail(f"{rel}/kustomization.yaml names {path}, which does not exist")
            elif os.path.isdir(full) and not os.path.exists(os.path.join(full, "kustomization.yaml")):
                fail(f"{rel}/kustomization.yaml names directory {path}, which has no kustomization.yaml")
        for f in os.listdir(d):
            if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml" and f not in named:
                fail(f"{rel}/{f} is not named in {rel}/kustomization.yaml")
        for r in k.get("resources") or []:
            full = os.path.join(d, r)
            if os.path.isfile(full):
                for doc in load_all(full):
                    if doc.get("kind") == "Secret" and "base" in rel.split(os.sep):
                        fail(f"{rel}/{r}: no Secret in the base (create payments-secrets outside git)")


def manifest_files():
    """The complete manifests (resources, not kustomizations or patches), one per line, for kubernetes-validate."""
    out = []
    for base, _, files in os.walk(os.path.join(ROOT, "k8s")):
        if "kustomization.yaml" not in files:
            continue
        k = yaml.safe_load(open(os.path.join(base, "kustomization.yaml")))
        for r in k.get("resources") or []:
            full = os.path.normpath(os.path.join(base, r))
            if os.path.isfile(full):
                out.append(os.path.relpath(full, ROOT))
    print("\n".join(sorted(out)))


def invariants(rendered):
    """What the service needs of its Kubernetes objects, checked on a rendered (or base) stream of objects."""
    objs = load_all(rendered)
    by = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    dep = by.get(("Deployment", "payments"))
    cm = by.get(("ConfigMap", "payments-config"))
    if not dep or not cm:
        return fail("Deployment payments or ConfigMap payments-config missing")
    spec = dep["spec"]["template"]["spec"]
    c = next((c for c in spec["containers"] if c["name"] == "payments"), None)
    if c is None:
        return fail("container payments missing")
    grace = duration_s(cm["data"].get("SHUTDOWN_GRACE", "25s"))
    if spec.get("terminationGracePeriodSeconds", 30) <= grace:
        fail(f"terminationGracePeriodSeconds must exceed SHUTDOWN_GRACE ({grace}s)")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    if ports.get("http") != int(cm["data"].get("PORT", "3000")):
        fail(f"container port http {ports.get('http')} != PORT {cm['data'].get('PORT')}")
    probe = lambda name: (c.get(name) or {}).get("httpGet", {}).get("path")
    if probe("livenessProbe") != "/health":
        fail("livenessProbe must GET /health (a NATS outage must not restart the pods)")
    if probe("readinessProbe") != "/ready":
        fail("readinessProbe must GET /ready")
    ann = dep["spec"]["template"]["metadata"].get("annotations", {})
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics":
        fail("pod annotations prometheus.io/scrape and prometheus.io/path=/metrics missing")
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    if not psc.get("runAsNonRoot") or psc.get("runAsUser") != 65532:
        fail("pod securityContext: runAsNonRoot and runAsUser 65532")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail("pod securityContext: seccompProfile RuntimeDefault")
    if csc.get("allowPrivilegeEscalation") is not False or csc.get("readOnlyRootFilesystem") is not True \
            or csc.get("capabilities", {}).get("drop") != ["ALL"]:
        fail("container securityContext: allowPrivilegeEscalation false, readOnlyRootFilesystem, drop ALL")
    for key in ("requests", "limits"):
        if not c.get("resources", {}).get(key):
            fail(f"container resources.{key} missing")
    # Every required variable: from the ConfigMap, or from the Secret under the NestJS-era key names.
    env = {e["name"]: e for e in c.get("env", [])}
    cm_refs = [s["configMapRef"]["name"] for s in c.get("envFrom", []) if "configMapRef" in s]
    if "payments-config" not in cm_refs:
        fail("envFrom configMapRef payments-config missing")
    for var, key in SECRET_VARS.items():
        ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
        if not ref.get("name", "").startswith("payments-secrets") or ref.get("key") != key:
            fail(f"{var} must come from Secret payments-secrets key {key}")
        if var in cm["data"]:
            fail(f"{var} must not be in the ConfigMap")
    for var in CONTRACT_VARS:
        if var not in SECRET_VARS and var != "STRIPE_API_BASE" and var not in cm["data"]:
            fail(f"ConfigMap payments-config: {var} missing")
    if "STRIPE_API_BASE" in cm["data"]:
        fail("ConfigMap payments-config: STRIPE_API_BASE must be unset in Kubernetes (defaults to Stripe)")
    svc = by.get(("Service", "payments-webhook"))
    if not svc or not any(p["port"] == 3000 and p.get("targetPort") == "http" for p in svc["spec"]["ports"]):
        fail("Service payments-webhook port 3000 -> http missing")
    if by.get(("PodDisruptionBudget", "payments"), {}).get("spec", {}).get("minAvailable") != 1:
        fail("PodDisruptionBudget payments minAvailable 1 missing")
    hpa = by.get(("HorizontalPodAutoscaler", "payments"))
    if not hpa or hpa["spec"].get("minReplicas", 1) < 2:
        fail("HorizontalPodAutoscaler payments with minReplicas >= 2 missing")
    sts = by.get(("StatefulSet", "nats"))
    if not sts or sts["spec"]["replicas"] != 3 or not sts["spec"].get("volumeClaimTemplates"):
        fail("StatefulSet nats: 3 replicas with volumeClaimTemplates")
    else:
        image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
        if not re.fullmatch(r"nats:2\.\d+\.\d+(-alpine[\d.]*)?", image):
            fail(f"StatefulSet nats: pin the image to a 2.x.y tag, is {image!r}")
    if not by.get(("Service", "nats")):
        fail("Service nats (NATS_SERVERS=nats://nats:4222) missing")
    replicas = int(cm["data"].get("NATS_STREAM_REPLICAS", "1"))
    if sts and replicas > sts["spec"]["replicas"]:
        fail(f"NATS_STREAM_REPLICAS {replicas} exceeds the {sts['spec']['replicas']} NATS servers")


def nats_conf(out):
    for doc in load_all(os.path.join(ROOT, "k8s/base/nats.yaml")):
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "nats-config":
            open(out, "w").write(doc["data"]["nats.conf"])
            return
    fail("k8s/base/nats.yaml: ConfigMap nats-config missing")


what = sys.argv[1]
try:
    {"dockerfile": dockerfile, "compose": compose, "kustomize-refs": kustomize_refs,
     "manifest-files": manifest_files, "invariants": lambda: invariants(sys.argv[2]),
     "nats-conf": lambda: nats_conf(sys.argv[2])}[what]()
except Exception as e:  # a malformed file is a failed check, with its reason
    fail(f"{type(e).__name__}: {e}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PYTHON

pycheck() { "$PY" "$WORK/checks.py" "$@"; }

# Whichever kustomize is here (kubectl has one built in); none is fine: every file is then validated on its own.
if [ "${NO_KUSTOMIZE:-}" = 1 ]; then
  KUSTOMIZE=()
elif command -v kustomize > /dev/null; then
  KUSTOMIZE=(kustomize build)
elif command -v kubectl > /dev/null && kubectl kustomize --help > /dev/null 2>&1; then
  KUSTOMIZE=(kubectl kustomize)
else
  KUSTOMIZE=()
fi
render() { "${KUSTOMIZE[@]}" "$1" > "$2"; }

echo "validate-deploy: checking the Dockerfile, docker-compose.yml, .env.example and k8s/ (Kubernetes ${K8S_VERSIONS// /, })"

# --- image ---------------------------------------------------------------------------------------------------------
check "Dockerfile parses; non-root runtime, EXPOSE 3000, HEALTHCHECK, ENTRYPOINT/CMD; COPY sources vs .dockerignore and workspace members" \
  pycheck dockerfile

# --- compose ---------------------------------------------------------------------------------------------------------
check "docker-compose.yml against the compose-spec schema (check-jsonschema vendor.compose-spec)" \
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
check "docker-compose.yml wiring and .env.example lists every contract variable" pycheck compose
if docker compose version > /dev/null 2>&1; then
  check "docker compose config (with .env.example as .env)" \
    bash -c 'd="$(mktemp -d)" && cp -r docker-compose.yml Dockerfile "$d"/ && cp .env.example "$d/.env" \
      && docker compose --project-directory "$d" -f "$d/docker-compose.yml" config -q; rc=$?; rm -rf "$d"; exit $rc'
else
  echo "skip  docker compose config (no docker compose plugin here; the schema check above stands in)"
fi

# --- Kubernetes --------------------------------------------------------------------------------------------------
check "k8s kustomizations: every named file exists, every manifest is named, no Secret in the base" \
  pycheck kustomize-refs

mapfile -t MANIFESTS < <(pycheck manifest-files)
TO_VALIDATE=("${MANIFESTS[@]}")

if [ "${#KUSTOMIZE[@]}" = 0 ]; then
  echo "skip  rendering k8s/base and k8s/overlays/* (neither kustomize nor kubectl here): each file is validated on its own"
  BASE_FILES=()
  for f in "${MANIFESTS[@]}"; do [[ "$f" == k8s/base/* ]] && BASE_FILES+=("$f"); done
  check "service invariants in the k8s/base files (unrendered)" \
    bash -c 'out="$1"; shift; for f in "${@:3}"; do echo "---"; cat "$f"; done > "$out" && "$1" "$2" invariants "$out"' \
    _ "$WORK/base.yaml" "$PY" "$WORK/checks.py" "${BASE_FILES[@]}"
else
  for dir in k8s/base k8s/overlays/*/; do
    dir="${dir%/}"
    out="$WORK/rendered-${dir//\//-}.yaml"
    check "${KUSTOMIZE[*]} $dir" render "$dir" "$out"
    [ -s "$out" ] || continue
    TO_VALIDATE+=("$out")
    check "service invariants in $dir (probes, grace period, security context, Secret keys, NATS cluster)" \
      pycheck invariants "$out"
  done
fi

# One run per version over every file (quicker than one per file); failures name the file and the object.
for v in $K8S_VERSIONS; do
  check "kubernetes-validate --strict -k $v: ${#MANIFESTS[@]} manifest files and $((${#TO_VALIDATE[@]} - ${#MANIFESTS[@]})) rendered kustomizations" \
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "${TO_VALIDATE[@]}"
done

# --- NATS configuration --------------------------------------------------------------------------------------------
if ensure_nats_server > "$WORK/nats-install" 2>&1; then
  check "nats.conf of k8s/base/nats.yaml: $("$NATS_SERVER_BIN" --version) -t" \
    bash -c '"$1" "$2" nats-conf "$3" && SERVER_NAME=nats-0 "$4" -t -c "$3"' \
    _ "$PY" "$WORK/checks.py" "$WORK/nats.conf" "$NATS_SERVER_BIN"
else
  check "nats-server for checking nats.conf (scripts/lib.sh ensure_nats_server)" \
    bash -c 'cat "$1"; exit 1' _ "$WORK/nats-install"
fi

# --- monitoring ----------------------------------------------------------------------------------------------------
if [ "${#KUSTOMIZE[@]}" != 0 ]; then
  check "${KUSTOMIZE[*]} k8s/monitoring (the PrometheusRule)" render k8s/monitoring "$WORK/rendered-monitoring.yaml"
fi
check "alerts, PrometheusRule, Grafana dashboard and runbooks (scripts/check-monitoring.sh: promtool check rules, promtool test rules, every metric named exists in src/)" \
  env PY="$PY" ./scripts/check-monitoring.sh

echo "validate-deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
