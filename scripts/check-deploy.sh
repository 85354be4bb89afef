#!/usr/bin/env bash
# Checks the deployment files without a cluster, a Docker engine or GitHub, and exits
# non-zero on any problem:
# - every Kubernetes manifest of deploy/kubernetes (all but kustomization.yaml and
#   config.yaml) against the JSON schemas of Kubernetes 1.31, with kubernetes-validate
#   --strict: an unknown field, a wrong type, a kind without a schema are errors;
# - kustomization.yaml names only those manifests and, where kubectl is installed, what
#   it renders passes the same validation;
# - the GitHub Actions workflows of deploy/github-actions are YAML with `on`, `jobs` and a
#   matrix of workers;
# - deploy/Dockerfile: its builder stage is rust:<Cargo.toml's rust-version> and runs
#   scripts/build-release.sh, every COPY source exists in the repository, and the image
#   runs as a user other than root.
#
# Usage: scripts/check-deploy.sh [MANIFEST...]: given manifests, it validates those instead of
# deploy/kubernetes' (and leaves the kustomization out); the other checks run either way.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

manifests=()
for file in "$@"; do manifests+=("$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"); done
cd "$root"
if [[ $# -eq 0 ]]; then
    for file in deploy/kubernetes/*.yaml; do
        case $(basename "$file") in
            kustomization.yaml | config.yaml) ;;
            *) manifests+=("$file") ;;
        esac
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kubernetes-validate bundles the Kubernetes JSON schemas; pinned so that a check means the
# same thing every time.
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.31.0
export PATH="$work/venv/bin:$PATH"

failed=0
fail() {
    echo "FAIL $*" >&2
    failed=1
}

# kubernetes-validate FILE...: a failure, a warning (a kind it has no schema for) or a
# file with no document at all is a problem.
validate() {
    local out
    for file in "$@"; do
        if ! python3 -c 'import sys, yaml; sys.exit(0 if any(yaml.safe_load_all(open(sys.argv[1]))) else 1)' "$file" 2>/dev/null; then
            fail "$file: no Kubernetes resource in it (or not YAML)"
            continue
        fi
        if out=$(kubernetes-validate --strict --kubernetes-version 1.31.0 "$file" 2>&1) && ! grep -qE '^(WARN|ERROR)' <<<"$out"; then
            echo "$out"
        else
            fail "$out"
        fi
    done
}

validate "${manifests[@]}"

# The kustomization (of the repository's manifests only) names only validated manifests
# (not the Secret template, on purpose), and renders to valid manifests.
if [[ $# -eq 0 ]]; then
    if ! python3 - deploy/kubernetes "${manifests[@]}" <<'EOF'; then
import os, sys, yaml
folder, validated = sys.argv[1], {os.path.realpath(m) for m in sys.argv[2:]}
k = yaml.safe_load(open(os.path.join(folder, "kustomization.yaml")))
resources = k.get("resources") or []
bad = [r for r in resources if os.path.realpath(os.path.join(folder, r)) not in validated]
if not resources or bad:
    sys.exit(f"kustomization.yaml: resources {bad or 'missing'} are not among the validated manifests")
print(f"OK   kustomization.yaml names {', '.join(resources)}")
EOF
        fail "deploy/kubernetes/kustomization.yaml"
    fi
    if command -v kubectl >/dev/null; then
        if kubectl kustomize deploy/kubernetes >"$work/rendered.yaml"; then
            validate "$work/rendered.yaml"
        else
            fail "kubectl kustomize deploy/kubernetes"
        fi
    else
        echo "SKIP kubectl is not installed: the kustomization was not rendered"
    fi
fi

# The GitHub Actions workflows.
for workflow in deploy/github-actions/*.yml; do
    if ! python3 - "$workflow" <<'EOF'; then
import sys, yaml
path = sys.argv[1]
w = yaml.safe_load(open(path))
problems = []
on = w.get("on", w.get(True))  # YAML 1.1 reads a bare `on` as true
if not isinstance(on, dict) or "schedule" not in on or "workflow_dispatch" not in on:
    problems.append("`on` needs schedule and workflow_dispatch")
jobs = w.get("jobs")
if not isinstance(jobs, dict) or not jobs:
    problems.append("no `jobs`")
    jobs = {}
for name, job in jobs.items():
    if "runs-on" not in job or not isinstance(job.get("steps"), list) or not job["steps"]:
        problems.append(f"job {name}: needs runs-on and steps")
matrices = [j["strategy"] for j in jobs.values() if isinstance(j.get("strategy"), dict)]
workers = [m.get("matrix", {}).get("worker") for m in matrices]
if not any(isinstance(w, list) and w and all(isinstance(n, int) for n in w) for w in workers):
    problems.append("no job has a strategy.matrix.worker list")
if any(m.get("fail-fast") is not False for m in matrices):
    problems.append("a matrix without fail-fast: false stops every worker when one fails")
if problems:
    sys.exit(f"{path}: " + "; ".join(problems))
print(f"OK   {path}: on {sorted(on)}, jobs {sorted(jobs)}, workers {workers}")
EOF
        fail "$workflow"
    fi
done

# deploy/Dockerfile, minimally: what `docker build` would trip on first.
if ! python3 - . <<'EOF'; then
import glob, json, os, re, sys
root = sys.argv[1]
path = os.path.join(root, "deploy/Dockerfile")
rust_version = re.search(r'^rust-version\s*=\s*"([^"]+)"', open(os.path.join(root, "Cargo.toml")).read(), re.M).group(1)
instructions, pending = [], ""
for raw in open(path).read().splitlines():
    line = raw.strip()
    if line.startswith("#") or (not line and not pending):
        continue
    if line.endswith("\\"):
        pending += line[:-1] + " "
        continue
    instructions.append(pending + line)
    pending = ""
stages, problems = [], []
for line in instructions:
    keyword, _, rest = line.partition(" ")
    keyword, rest = keyword.upper(), rest.strip()
    if keyword == "FROM":
        words = [w for w in rest.split() if not w.startswith("--")]
        name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
        stages.append({"base": words[0], "name": name, "run": [], "user": None})
    elif not stages:
        problems.append(f"{keyword} before any FROM")
    elif keyword == "RUN":
        stages[-1]["run"].append(rest)
    elif keyword == "USER":
        stages[-1]["user"] = rest
    elif keyword in ("COPY", "ADD"):
        args = rest
        flags = []
        while args.startswith("--"):
            flag, _, args = args.partition(" ")
            flags.append(flag)
            args = args.strip()
        words = json.loads(args) if args.startswith("[") else args.split()
        sources = words[:-1]
        origin = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
        if origin:
            if origin[0] not in [s["name"] for s in stages[:-1]]:
                problems.append(f"{keyword} --from={origin[0]}: no earlier stage of that name")
            continue
        if not sources:
            problems.append(f"{keyword} {rest}: no source")
        for source in sources:
            if not glob.glob(os.path.join(root, source)):
                problems.append(f"{keyword} {source}: not in the repository")
if len(stages) < 2:
    problems.append("not a multi-stage build")
else:
    builder, runtime = stages[0], stages[-1]
    if not re.fullmatch(rf"rust:{re.escape(rust_version)}(-.+)?", builder["base"]):
        problems.append(f"builder stage FROM {builder['base']}: Cargo.toml's rust-version is {rust_version}")
    if not any("scripts/build-release.sh" in r for r in builder["run"]):
        problems.append("the builder stage does not run scripts/build-release.sh")
    if not os.access(os.path.join(root, "scripts/build-release.sh"), os.X_OK):
        problems.append("scripts/build-release.sh is missing or not executable")
    if runtime["user"] is None or runtime["user"].split(":")[0] in ("root", "0"):
        problems.append("the image runs as root")
if problems:
    sys.exit("deploy/Dockerfile: " + "; ".join(problems))
print(f"OK   deploy/Dockerfile: {len(stages)} stages, builder {stages[0]['base']}, runs as {stages[-1]['user']}")
EOF
    fail "deploy/Dockerfile"
fi

if [[ $failed -ne 0 ]]; then
    echo "check-deploy: problems found" >&2
    exit 1
fi
echo "check-deploy: every deployment file passed"
