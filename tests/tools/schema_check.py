"""Validates YAML files against a JSON Schema with the `jsonschema` package (an independent
judge of `platc schema`). Usage: schema_check.py SCHEMA FILE...; prints `ok FILE` or
`invalid FILE: message` per file. Exit 3 when PyYAML or jsonschema is not installed."""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:  # the caller skips
    print(f"missing: {e}")
    sys.exit(3)

schema = json.load(open(sys.argv[1]))
# The schema itself must be a valid draft 2020-12 schema (raises, exit 1, otherwise).
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path)
        print(f"invalid {path}: {where}: {e.message}")
    else:
        print(f"ok {path}")
