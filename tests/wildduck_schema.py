"""Checks REST answers against today's WildDuck API document.

`tests/spec/wildduck-openapi.json` is a copy of WildDuck 1.46's OpenAPI 3.0 document (the
contract in `../shared/spec/`). `check(method, path, response)` validates one answer: a 2xx
answer against the schema WildDuck documents for that operation and status, an error answer
against WildDuck's error shape (`{"error": str, "code"?: str}`, plus the operation's own
schema when it documents one for that status). `path` is the document's template, e.g.
`"/users/{user}/addresses"`, so a test names the operation it means.

OpenAPI 3.0 schemas are a JSON Schema draft 4 dialect; the keywords the document uses
(`type`, `properties`, `required`, `items`, `oneOf`, `enum`, `format`) mean the same there.
"""

import json
import os
from functools import lru_cache

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = os.path.join(os.path.dirname(__file__), "spec", "wildduck-openapi.json")
SPEC_URI = "urn:wildduck-openapi"

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
    "required": ["error"],
}


@lru_cache(maxsize=1)
def document():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def _registry():
    resource = Resource.from_contents(document(), default_specification=DRAFT4)
    return Registry().with_resource(SPEC_URI, resource)


def _pointer_escape(part):
    return part.replace("~", "~0").replace("/", "~1")


def operation(method, path):
    """The OpenAPI operation object, or AssertionError naming what is not documented."""
    paths = document()["paths"]
    assert path in paths, f"{path} is not a path of WildDuck's OpenAPI document"
    op = paths[path].get(method.lower())
    assert op is not None, f"{method.upper()} {path} is not an operation of WildDuck's document"
    return op


def schema_for(method, path, status):
    """A schema that `$ref`s the documented answer for `status`, or None if none is given."""
    responses = operation(method, path).get("responses", {})
    entry = responses.get(str(status))
    if entry is None:
        return None
    content = entry.get("content", {})
    for media in ("application/json", "application/json; charset=utf-8"):
        if media in content and "schema" in content[media]:
            pointer = "/".join(
                _pointer_escape(p)
                for p in ("paths", path, method.lower(), "responses", str(status), "content", media, "schema")
            )
            return {"$ref": f"{SPEC_URI}#/{pointer}"}
    return None


def validate(schema, body):
    validator = jsonschema.Draft4Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors[:10]]
        raise AssertionError("answer does not match WildDuck's schema:\n" + "\n".join(lines))


def check(method, path, response, status=None):
    """Validates a `requests` response (or a (status, body) pair) for the operation.

    Returns the decoded body. `status`, when given, is asserted first.
    """
    if isinstance(response, tuple):
        code, body = response
    else:
        code = response.status_code
        body = response.json()
    if status is not None:
        assert code == status, f"{method} {path}: HTTP {code}, expected {status}: {body}"
    if 200 <= code < 300:
        schema = schema_for(method, path, code)
        assert schema is not None, f"{method.upper()} {path} documents no schema for {code}"
        validate(schema, body)
        if isinstance(body, dict) and "success" in body:
            assert body["success"] is True, body
    else:
        validate(ERROR_SCHEMA, body)
        schema = schema_for(method, path, code)
        if schema is not None:
            validate(schema, body)
    return body
