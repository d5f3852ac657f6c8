#!/usr/bin/env python3
"""Independent judges of a rendered tree (not platc's own code):

- core Kubernetes kinds: `kubernetes-validate --strict` (offline Kubernetes schemas);
- custom resources: Python `jsonschema` against the CRD schemas in SCHEMAS/crds/<group>/<kind>_<version>.json.

Usage: validate.py TREE SCHEMAS. Prints one line per failure and a summary line; exits 1 on any
failure, 3 when a validator is not installed.
"""
import json, os, subprocess, sys

try:
    import yaml, jsonschema
except ImportError as e:
    print(f"missing python module: {e.name}")
    sys.exit(3)

tree, schemas = sys.argv[1], sys.argv[2]
core_groups = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"}
core_files, failures, unchecked, checked_crs = [], [], set(), 0

for root, dirs, files in os.walk(tree):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for f in sorted(files):
        if not f.endswith(".yaml"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, tree)
        with open(path) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        for doc in docs:
            api = doc.get("apiVersion", "")
            group, _, version = api.rpartition("/")
            if group in core_groups:
                core_files.append(path)
                continue
            schema_path = os.path.join(schemas, "crds", group, f"{doc.get('kind', '').lower()}_{version}.json")
            if not os.path.exists(schema_path):
                unchecked.add(f"{doc.get('kind')}.{group}/{version}")
                continue
            with open(schema_path) as sf:
                schema = json.load(sf)
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
            checked_crs += 1
            for err in errors:
                where = "/".join(str(p) for p in err.absolute_path)
                failures.append(f"{rel}: {doc.get('kind')} at /{where}: {err.message}")

core_files = sorted(set(core_files))
if core_files:
    try:
        proc = subprocess.run(["kubernetes-validate", "--strict", "--quiet", "--no-warn", *core_files],
                              capture_output=True, text=True)
    except FileNotFoundError:
        print("missing command: kubernetes-validate")
        sys.exit(3)
    if proc.returncode != 0:
        for line in (proc.stdout + proc.stderr).splitlines():
            if line.strip():
                failures.append(line.replace(tree + "/", ""))

for f in failures:
    print("FAIL", f)
print(f"summary: {len(core_files)} core files, {checked_crs} custom resources checked, "
      f"{len(failures)} failures; no schema for: {', '.join(sorted(unchecked)) or 'none'}")
sys.exit(1 if failures else 0)
