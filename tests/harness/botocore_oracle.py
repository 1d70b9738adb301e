#!/usr/bin/env python3
"""Test oracle: botocore's own model lookups and request serializer.

Used by the Check tests (pyenv python3, which has botocore); never touches
the network.  Exit status 77 means botocore is not importable (the calling
test skips).

Usage:
  botocore_oracle.py resolve SERVICE:kebab-op ...
      For each argument print "SERVICE Operation" where Operation is the
      model operation whose botocore.xform_name(op, '-') is kebab-op (the
      naming of botocore's response-parsing fixtures), or exit 1.

  botocore_oracle.py serialize CASES.json
      cases.json is a list of {"service", "operation", "params"}; blobs are
      given as base64 strings and passed to botocore decoded.  Prints a
      JSON list of {"method", "url_path", "query" (list of [key, value]),
      "headers" (object), "body" (text), "body_form" (list of [key, value]
      when the body is a query form), "host_prefix"} made by botocore's
      serializer for the service's protocol, without validation.

  botocore_oracle.py parse CASES.json
      cases.json is a list of {"service", "operation", "path" or "body",
      "status", "headers"}.
      Prints a JSON list with, for each, botocore's parse of that response
      body by its parser for the service's protocol, with timestamps left
      as the text the service sent and blobs as their base64 text (plumb's
      representation), bytes payloads decoded as UTF-8, and botocore's
      client customisations applied where plumb implements them too
      (S3 GetBucketLocation, IAM policy documents).
"""
import base64
import json
import sys

try:
    import botocore.session
    from botocore import xform_name
    from botocore.serialize import create_serializer
    from botocore.utils import percent_encode_sequence
except ImportError:
    sys.exit(77)


def resolve(args):
    session = botocore.session.get_session()
    models = {}
    for arg in args:
        service, kebab = arg.split(":", 1)
        if service not in models:
            models[service] = session.get_service_model(service)
        model = models[service]
        for name in model.operation_names:
            if xform_name(name, "-") == kebab:
                print(service, name)
                break
        else:
            sys.exit(f"{service} has no operation {kebab}")


def decode_blobs(value, shape):
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if t == "structure" and isinstance(value, dict):
        return {k: decode_blobs(v, shape.members.get(k)) for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [decode_blobs(v, shape.member) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: decode_blobs(v, shape.value) for k, v in value.items()}
    return value


def serialize(cases):
    session = botocore.session.get_session()
    out = []
    for case in cases:
        model = session.get_service_model(case["service"])
        op = model.operation_model(case["operation"])
        params = decode_blobs(case.get("params", {}), op.input_shape)
        ser = create_serializer(model.resolved_protocol, include_validation=False)
        req = ser.serialize_to_request(params, op)
        query = req.get("query_string") or {}
        if isinstance(query, dict):
            pairs = []
            for k, v in query.items():
                if isinstance(v, list):
                    pairs.extend([k, str(x)] for x in v)
                else:
                    pairs.append([k, str(v)])
            query = pairs
        body = req.get("body")
        form = None
        if isinstance(body, dict):
            form = [[k, str(v)] for k, v in body.items()]
            body = percent_encode_sequence(body)
        elif isinstance(body, bytes):
            body = body.decode("utf-8")
        out.append({
            "method": req["method"],
            "url_path": req["url_path"],
            "query": query,
            "headers": {k: str(v) for k, v in req.get("headers", {}).items()},
            "body": body or "",
            "body_form": form,
            "host_prefix": req.get("host_prefix"),
        })
    json.dump(out, sys.stdout)


def parse(cases):
    from botocore import parsers
    from botocore.awsrequest import HeadersDict
    from botocore.handlers import (
        handle_expires_header,
        json_decode_policies,
        parse_get_bucket_location,
    )
    session = botocore.session.get_session()
    out = []
    for case in cases:
        model = session.get_service_model(case["service"])
        op = model.operation_model(case["operation"])
        if "path" in case:
            with open(case["path"], "rb") as f:
                body = f.read()
        else:
            body = case.get("body", "").encode("utf-8")
        parser = parsers.create_parser(model.resolved_protocol)
        parser = type(parser)(timestamp_parser=lambda x: x, blob_parser=lambda x: x)
        response = {"body": body, "status_code": case.get("status", 200),
                    "headers": HeadersDict(case.get("headers", {}))}
        customized = {}
        if case["service"] == "s3":
            handle_expires_header(op, response, customized)
        parsed = parser.parse(response, op.output_shape)
        parsed.update(customized)
        if case["service"] == "iam":
            json_decode_policies(parsed, op)
        if case["service"] == "s3" and case["operation"] == "GetBucketLocation":
            class Raw:
                raw = True
                content = body
            parse_get_bucket_location(parsed, Raw())
        parsed.pop("ResponseMetadata", None)
        out.append(to_json(parsed))
    json.dump(out, sys.stdout)


def to_json(v):
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "resolve":
        resolve(sys.argv[2:])
    elif sys.argv[1] == "parse":
        with open(sys.argv[2]) as f:
            parse(json.load(f))
    elif sys.argv[1] == "serialize":
        with open(sys.argv[2]) as f:
            serialize(json.load(f))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
