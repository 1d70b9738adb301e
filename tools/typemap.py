#!/usr/bin/env python3
"""Maintenance helper for lib/typemap.json (the type table).

  typemap.py md   TYPEMAP.json CONTROLS.md   print lib/typemap.md to stdout
  typemap.py fmt  TYPEMAP.json               print the table in its canonical layout
  typemap.py lint TYPEMAP.json [CONFIG_SCHEMA_DIR]
        check every `from` path against botocore's service models (and,
        given a checkout of awslabs/aws-config-resource-schema's
        config/properties/resource-types, every `config` path); prints one
        line per problem, exits 1 if there is any.

The C test (tests/test-typemap.c) performs the authoritative botocore check
at test time; `lint` is the same check for use while editing the table.
"""
import gzip
import json
import os
import re
import sys

BOTOCORE_DIRS = [
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/botocore/data",
    "/usr/lib/python3/dist-packages/awscli/botocore/data",
    "/usr/lib/python3/dist-packages/botocore/data",
]

SEG_RE = re.compile(r'^([A-Za-z0-9_]+)((?:\[\]|\{\}|\["[^"]*"\])*)$')


def botocore_model(service):
    try:
        import botocore  # noqa: F401
        dirs = [os.path.join(os.path.dirname(botocore.__file__), "data")] + BOTOCORE_DIRS
    except ImportError:
        dirs = BOTOCORE_DIRS
    for d in dirs:
        sd = os.path.join(d, service)
        if not os.path.isdir(sd):
            continue
        for ver in sorted(os.listdir(sd), reverse=True):
            p = os.path.join(sd, ver, "service-2.json.gz")
            if os.path.exists(p):
                with gzip.open(p) as f:
                    return json.load(f)
            p = os.path.join(sd, ver, "service-2.json")
            if os.path.exists(p):
                with open(p) as f:
                    return json.load(f)
    return None


def split_path(path):
    """'A[].B{}.C["k"]' -> [('A', ['[]']), ('B', ['{}']), ('C', ['[k]'])]"""
    if path == "":
        return []
    out = []
    # split on dots not inside ["..."]
    parts, cur, inq = [], "", False
    for ch in path:
        if ch == '"':
            inq = not inq
        if ch == "." and not inq:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        m = SEG_RE.match(p)
        if not m:
            raise ValueError(f"bad path segment '{p}'")
        sfx = re.findall(r'\[\]|\{\}|\["[^"]*"\]', m.group(2))
        out.append((m.group(1), sfx))
    return out


def walk(model, shape_name, path):
    shapes = model["shapes"]
    cur = shape_name
    for member, sfx in split_path(path):
        sh = shapes[cur]
        if sh["type"] != "structure":
            return f"'{member}': {cur} is a {sh['type']}, not a structure"
        if member not in sh.get("members", {}):
            return f"'{member}' is not a member of {cur}"
        cur = sh["members"][member]["shape"]
        for s in sfx:
            sh = shapes[cur]
            if s == "[]":
                if sh["type"] != "list":
                    return f"'{member}[]': {cur} is a {sh['type']}, not a list"
                cur = sh["member"]["shape"]
            else:
                if sh["type"] != "map":
                    return f"'{member}{s}': {cur} is a {sh['type']}, not a map"
                cur = sh["value"]["shape"]
    return None


def join(a, b):
    if a == "":
        return b
    if b == "":
        return a
    return a + "." + b


def recase(path, case):
    """Botocore member path -> Config item path under the type's case rule."""
    if case == "as_is":
        return path
    if case == "upper":
        return ".".join(seg[:1].upper() + seg[1:] for seg in path.split(".")) if path else ""
    return camel(path)


def camel(path):
    """Botocore member path -> Config item path: each member's first
    letter lower-cased ('MetadataOptions.HttpTokens' ->
    'metadataOptions.httpTokens')."""
    if path == "":
        return ""
    return ".".join(seg[:1].lower() + seg[1:] for seg in path.split("."))


def config_path(cfg, a, base):
    """The Config item path of attribute a (None: not in the Config item).
    Explicit 'config' wins; otherwise derived from 'from' when it reads the
    operation the Config item mirrors (top level) or relative to the
    parent's Config path (nested)."""
    if a.get("location") == "tags" and "config" not in a:
        return "tags"
    if "config" in a:
        c = a["config"]
        if c is None:
            return None
        if base is not None and not c.startswith(("configuration", "supplementaryConfiguration")) and c not in ("tags", "resourceName", "resourceId", "arn"):
            return join(base, c)
        return c
    fr = a.get("from")
    if isinstance(fr, list):
        fr = fr[0] if fr else None
    if fr is None:
        return None
    if ":" in fr:
        op, rel = fr.split(":", 1)
        if op != cfg.get("mirrors"):
            return None
        return join("configuration", recase(rel, cfg.get("case")))
    if base is None:
        return None
    return join(base, recase(fr, cfg.get("case")))


def iter_attrs(attrs, prefix=""):
    for name, a in attrs.items():
        yield prefix + name, a
        if "attributes" in a:
            yield from iter_attrs(a["attributes"], prefix + name + ".")


def lint(tm, schema_dir=None):
    problems = []
    models = {}
    for t in tm["types"]:
        name = t["type"]
        svc = t.get("service")
        ops = t.get("operations", {})
        if svc and svc not in models:
            models[svc] = botocore_model(svc)
        model = models.get(svc)

        def check_from(where, ref, base_op=None, base_path=None):
            """ref 'Op:Path' (absolute, relative to the op root) or 'Path'
            (relative to base).  Returns (op, abs_path) for children."""
            if ref is None:
                return (base_op, base_path)
            if ":" in ref and not ref.startswith('["'):
                op, rel = ref.split(":", 1)
                if op not in ops:
                    problems.append(f"{where}: operation {op} not declared in 'operations'")
                    return (None, None)
                path = join(ops[op], rel)
            else:
                op = base_op
                if op is None:
                    problems.append(f"{where}: relative from '{ref}' without a parent operation")
                    return (None, None)
                path = join(base_path, ref)
            if model is None:
                return (op, path)
            o = model["operations"].get(op)
            if o is None:
                problems.append(f"{where}: {svc} has no operation {op}")
                return (None, None)
            if "output" not in o:
                problems.append(f"{where}: {svc}:{op} has no output")
                return (None, None)
            try:
                err = walk(model, o["output"]["shape"], path)
            except ValueError as e:
                err = str(e)
            if err:
                problems.append(f"{where}: {svc}:{op} {path}: {err}")
            return (op, path)

        def check_attrs(attrs, prefix, base_op, base_path):
            for an, a in attrs.items():
                where = f"{name}.{prefix}{an}"
                fr = a.get("from")
                refs = fr if isinstance(fr, list) else [fr]
                child = (None, None)
                for r in refs:
                    if r is None:
                        continue
                    child = check_from(where, r, base_op, base_path)
                if "attributes" in a:
                    bo, bp = child if child != (None, None) else (base_op, base_path)
                    check_attrs(a["attributes"], prefix + an + ".", bo, bp)

        for op in ops:
            if model is not None and op not in model["operations"]:
                problems.append(f"{name}: operations: {svc} has no operation {op}")
        idf = t.get("id", {}).get("from")
        if idf:
            check_from(f"{name}.id", idf)
        arnf = t.get("arn", {}) or {}
        if arnf.get("from"):
            check_from(f"{name}.arn", arnf["from"])
        check_attrs(t.get("attributes", {}), "", None, None)

        cfg = t.get("config")
        if cfg and schema_dir:
            p = os.path.join(schema_dir, cfg["type"] + ".properties.json")
            if not os.path.exists(p):
                problems.append(f"{name}: no Config schema for {cfg['type']}")
                continue
            props = json.load(open(p))

            def check_cfg(attrs, prefix, base, verified=True):
                for an, a in attrs.items():
                    full = config_path(cfg, a, base)
                    v = verified and a.get("config_verified", True)
                    if full is not None and full != "tags" and v:
                        key = re.sub(r'\[\]|\{\}', "", full)
                        key = re.sub(r'\["[^"]*"\]', "", key)
                        if key not in props and not any(k.startswith(key + ".") for k in props):
                            problems.append(f"{name}.{prefix}{an}: config path {full} not in {cfg['type']} schema")
                    if "attributes" in a:
                        check_cfg(a["attributes"], prefix + an + ".", full, v)
            check_cfg(t.get("attributes", {}), "", None)
    return problems


CONTROL_RE = re.compile(r'^\| ([a-z]+-[a-z0-9-]+)( †)? \| ')


def controls_in(md_path):
    ids = []
    with open(md_path) as f:
        for line in f:
            m = CONTROL_RE.match(line)
            if m and m.group(1) != "id":
                ids.append(m.group(1))
    return ids


def md(tm, controls_md):
    out = []
    w = out.append
    w("# The type table (`lib/typemap.json`)")
    w("")
    w("Generated by `tools/typemap.py md lib/typemap.json "
      "../shared/reference/nis2-dora-controls.md`; do not edit by hand "
      "(`tests/test-typemap.c` fails when this file and the JSON disagree).")
    w("The JSON is the contract; this page is its index.  Format and rules: "
      "see the header of `lib/typemap.h`.")
    w("")
    w("## Types")
    w("")
    w("| type | AWS type | service | collector | scope | Config | id (live) | id from state | controls |")
    w("|---|---|---|---|---|---|---|---|---|")
    ctl_by_type = {}
    ctl_attrs = {}
    for t in tm["types"]:
        for path, a in iter_attrs(t.get("attributes", {})):
            for c in a.get("controls", []):
                ctl_by_type.setdefault(t["type"], [])
                if c not in ctl_by_type[t["type"]]:
                    ctl_by_type[t["type"]].append(c)
                ctl_attrs.setdefault(c, []).append(f"{t['type']}.{path}")
    def md_cell(text):
        return text.replace("|", "\\|")

    for t in tm["types"]:
        idr = t["id"]
        state = idr.get("state", [])
        st = " or ".join("`" + (s if isinstance(s, str) else s["template"] + " if " + json.dumps(s["if"], separators=(",", ":"))) + "`" for s in state)
        if idr.get("match"):
            st += f" (matches `{idr['match']}`)"
        cfg = t["config"]["type"] if t.get("config") else "no"
        ctls = ", ".join(sorted(ctl_by_type.get(t["type"], []))) or "—"
        aws_type = t.get("aws_type") or "—"
        coll = t.get("collector") or "—"
        w(f"| `{t['type']}` | {aws_type} | {t['service']} | {coll} | {t['scope']} | {cfg} | "
          f"{md_cell(idr['live'])} | {md_cell(st)} | {ctls} |")
    w("")
    w("## Controls → attributes")
    w("")
    w("Every control of `nis2-dora-controls.md` and the attributes it reads.")
    w("")
    w("| control | attributes |")
    w("|---|---|")
    for c in controls_in(controls_md):
        attrs = ctl_attrs.get(c)
        cell = ", ".join(f"`{a}`" for a in attrs) if attrs else "**none**"
        w(f"| {c} | {cell} |")
    w("")
    w("## Inline vs separate resources")
    w("")
    w("| parent | inline attribute | separate types | join |")
    w("|---|---|---|---|")
    for r in tm.get("relations", []):
        seps = ", ".join(f"`{s['type']}`" for s in r["separate"])
        w(f"| `{r['parent']}` | `{r['inline']}` | {seps} | `{r['join']}` |")
    w("")
    w("## Unmanaged exclusions")
    w("")
    w("| type | excluded when |")
    w("|---|---|")
    for t in tm["types"]:
        for u in t.get("unmanaged_exclude", []):
            w(f"| `{t['type']}` | {md_cell(u['reason'])} |")
    w("")
    return "\n".join(out)


def fmt(value, indent=0, width=150):
    """Stable layout: a value that fits on one line (and has no nested
    attribute table) is written compactly; others are expanded."""
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    nested = isinstance(value, dict) and any(
        k in ("attributes", "types", "relations") for k in value)
    if (len(compact) + indent <= width and not nested) or not isinstance(value, (dict, list)):
        return compact
    pad = " " * (indent + 2)
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [pad + fmt(v, indent + 2, width) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = []
    for k, v in value.items():
        key = json.dumps(k, ensure_ascii=False)
        items.append(pad + key + ": " + fmt(v, indent + 2 + len(key) + 2 if False else indent + 2, width))
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = sys.argv[1]
    with open(sys.argv[2]) as f:
        tm = json.load(f)
    if cmd == "lint":
        probs = lint(tm, sys.argv[3] if len(sys.argv) > 3 else None)
        for p in probs:
            print(p)
        return 1 if probs else 0
    if cmd == "fmt":
        sys.stdout.write(fmt(tm) + "\n")
        return 0
    if cmd == "md":
        sys.stdout.write(md(tm, sys.argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
