#!/usr/bin/env python3
"""Generate plumb's AWS service model subsets from botocore's data.

Usage:
    gen-models.py [--botocore-data DIR] [--ops FILE] [--out DIR] [--check]

Provenance: the input is botocore's own service data (Apache-2.0, see
lib/models/README.md): <data>/<service>/<api-version>/service-2.json[.gz]
and paginators-1.json, each merged with its optional *.sdk-extras.json
exactly as botocore's loader does (recursive dict merge of the "merge"
object).  The data directory is, in this order: --botocore-data, the pyenv
botocore (/root/.pyenv/versions/3.11.7/.../botocore/data), the botocore
importable by this Python, Debian's awscli copy
(/usr/lib/python3/dist-packages/awscli/botocore/data).  As botocore does,
the newest API version directory of a service is used.

The operation list (--ops, default lib/models/operations.txt) has one
"service Operation" per line; '#' starts a comment.  For every service in
it, <out>/<service>.json (default lib/models/) is written with:

  metadata    serviceId, endpointPrefix, signingName (botocore falls back to
              endpointPrefix when the model has none; so do we, explicitly),
              protocol (the first of botocore's priority order json,
              rest-json, rest-xml, query, ec2 that the model lists; plumb
              has no CBOR), apiVersion, jsonVersion, targetPrefix,
              globalEndpoint, signatureVersion, awsQueryCompatible when set;
  operations  the listed operations only: name, http (method, requestUri,
              responseCode), input, output, errors, endpoint (hostPrefix),
              authtype/auth;
  shapes      only the shapes reachable from those inputs, outputs and
              errors, with documentation, enums, patterns and limits
              removed (plumb validates nothing but "required");
  paginators  botocore's paginator entries for the listed operations;
  generator   the botocore version and model directory used.

Output is minified and deterministic: every object's keys are sorted,
except a structure's "members", which keep botocore's order because that
order is the element order of XML request bodies.

--check regenerates into memory and exits 1 when a checked-in file differs
(or is missing), so the build or CI can spot stale models.
"""
import argparse
import gzip
import json
import os
import sys

PRIORITY_PROTOCOLS = ("json", "rest-json", "rest-xml", "query", "ec2")

METADATA_KEYS = ("serviceId", "endpointPrefix", "signingName", "protocol", "apiVersion",
                 "jsonVersion", "targetPrefix", "globalEndpoint", "signatureVersion",
                 "awsQueryCompatible")

OPERATION_KEYS = ("name", "http", "input", "output", "errors", "endpoint", "authtype", "auth")
HTTP_KEYS = ("method", "requestUri", "responseCode")

# Traits that change how a value is put on or read off the wire, plus the
# few semantic flags plumb uses.  Everything else (documentation, enum,
# pattern, min, max, box, deprecated...) is dropped.
SHAPE_KEYS = ("type", "members", "member", "key", "value", "required", "payload",
              "locationName", "queryName", "flattened", "location", "streaming",
              "timestampFormat", "xmlNamespace", "resultWrapper", "xmlAttribute",
              "jsonvalue", "hostLabel", "idempotencyToken", "document", "union",
              "exception", "error", "fault", "sensitive", "eventstream", "event",
              "eventheader", "eventpayload", "requiresLength")
REF_KEYS = ("shape",) + tuple(k for k in SHAPE_KEYS if k not in ("type", "members", "member",
                                                                  "key", "value", "required"))


def default_data_dirs():
    dirs = ["/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/botocore/data"]
    try:
        import botocore  # noqa: F401  (only to locate its data)
        dirs.append(os.path.join(os.path.dirname(botocore.__file__), "data"))
    except ImportError:
        pass
    dirs.append("/usr/lib/python3/dist-packages/awscli/botocore/data")
    return dirs


def botocore_version(data_dir):
    init = os.path.join(os.path.dirname(data_dir), "__init__.py")
    try:
        with open(init) as f:
            for line in f:
                if line.startswith("__version__"):
                    return line.split("=", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return "unknown"


def load_json(path):
    """Load path, or path + '.gz' when only the compressed file exists."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    return None


def deep_merge(base, extra):
    # Same rule as botocore.utils.deep_merge: dicts merge recursively,
    # anything else replaces.
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value


def load_with_extras(service_dir, name):
    model = load_json(os.path.join(service_dir, name + ".json"))
    if model is None:
        return None
    extras = load_json(os.path.join(service_dir, name + ".sdk-extras.json"))
    if extras and "merge" in extras:
        deep_merge(model, extras["merge"])
    return model


def read_operations(path):
    services = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f"{path}:{lineno}: expected 'service Operation', got {line!r}")
            ops = services.setdefault(parts[0], [])
            if parts[1] in ops:
                sys.exit(f"{path}:{lineno}: duplicate operation {parts[0]} {parts[1]}")
            ops.append(parts[1])
    return services


def pick_protocol(metadata, service):
    protocols = metadata.get("protocols") or [metadata.get("protocol")]
    for p in PRIORITY_PROTOCOLS:
        if p in protocols:
            return p
    sys.exit(f"{service}: no supported protocol in {protocols}")


def sorted_dict(d, keep_order=()):
    """Recursively sort keys, except the values of keys in keep_order."""
    if isinstance(d, dict):
        out = {}
        for k in sorted(d):
            v = d[k]
            if k in keep_order and isinstance(v, dict):
                out[k] = {mk: sorted_dict(mv, keep_order) for mk, mv in v.items()}
            else:
                out[k] = sorted_dict(v, keep_order)
        return out
    if isinstance(d, list):
        return [sorted_dict(v, keep_order) for v in d]
    return d


def filter_ref(ref):
    return {k: ref[k] for k in REF_KEYS if k in ref}


def filter_shape(shape):
    out = {k: shape[k] for k in SHAPE_KEYS if k in shape}
    if "members" in out:
        out["members"] = {name: filter_ref(ref) for name, ref in shape["members"].items()}
    for k in ("member", "key", "value"):
        if k in out:
            out[k] = filter_ref(shape[k])
    if "required" in out:
        out["required"] = sorted(out["required"])
    return out


def reachable(shapes, roots, service):
    seen = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in shapes:
            sys.exit(f"{service}: shape {name} is referenced but not defined")
        seen.add(name)
        shape = shapes[name]
        for ref in shape.get("members", {}).values():
            stack.append(ref["shape"])
        for k in ("member", "key", "value"):
            if k in shape:
                stack.append(shape[k]["shape"])
    return seen


def build_service(data_dir, service, op_names, version):
    service_root = os.path.join(data_dir, service)
    if not os.path.isdir(service_root):
        sys.exit(f"{service}: no such service in {data_dir}")
    api_version = sorted(v for v in os.listdir(service_root)
                         if os.path.isdir(os.path.join(service_root, v)))[-1]
    service_dir = os.path.join(service_root, api_version)
    model = load_with_extras(service_dir, "service-2")
    if model is None:
        sys.exit(f"{service}: no service-2.json in {service_dir}")
    paginators = (load_with_extras(service_dir, "paginators-1") or {}).get("pagination", {})

    md = model["metadata"]
    metadata = {}
    for k in METADATA_KEYS:
        if k in md:
            metadata[k] = md[k]
    metadata["protocol"] = pick_protocol(md, service)
    metadata.setdefault("signingName", md["endpointPrefix"])

    operations = {}
    roots = set()
    for name in op_names:
        op = model["operations"].get(name)
        if op is None:
            sys.exit(f"{service}: no operation {name} in {service_dir}")
        out = {k: op[k] for k in OPERATION_KEYS if k in op}
        out["http"] = {k: op["http"][k] for k in HTTP_KEYS if k in op["http"]}
        for k in ("input", "output"):
            if k in out:
                out[k] = filter_ref(out[k])
                roots.add(out[k]["shape"])
        if "errors" in out:
            out["errors"] = sorted((filter_ref(e) for e in out["errors"]),
                                   key=lambda e: e["shape"])
            roots.update(e["shape"] for e in out["errors"])
        if "endpoint" in out:
            out["endpoint"] = {k: v for k, v in out["endpoint"].items() if k == "hostPrefix"}
        operations[name] = out

    shapes = {n: filter_shape(model["shapes"][n])
              for n in reachable(model["shapes"], roots, service)}
    pag = {n: paginators[n] for n in op_names if n in paginators}
    doc = {
        "generator": {
            "botocore": botocore_version(data_dir),
            "source": f"{service}/{api_version}",
        },
        "metadata": metadata,
        "operations": operations,
        "paginators": pag,
        "shapes": shapes,
    }
    return sorted_dict(doc, keep_order=("members",))


def render(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--botocore-data", help="botocore data directory")
    ap.add_argument("--ops", default=os.path.join(here, "..", "lib", "models", "operations.txt"))
    ap.add_argument("--out", default=os.path.join(here, "..", "lib", "models"))
    ap.add_argument("--check", action="store_true",
                    help="compare with the files in --out instead of writing them")
    args = ap.parse_args()

    candidates = [args.botocore_data] if args.botocore_data else default_data_dirs()
    data_dir = next((d for d in candidates if d and os.path.isdir(d)), None)
    if data_dir is None:
        sys.exit("no botocore data directory found (tried: %s)" % ", ".join(candidates))
    version = botocore_version(data_dir)

    services = read_operations(args.ops)
    stale = []
    for service in sorted(services):
        text = render(build_service(data_dir, service, services[service], version))
        path = os.path.join(args.out, service + ".json")
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(path)
            except OSError:
                stale.append(path)
            continue
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    if stale:
        sys.exit("stale models (run tools/gen-models.py): " + " ".join(stale))


if __name__ == "__main__":
    main()
