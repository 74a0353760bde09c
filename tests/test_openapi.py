"""GET /openapi.json: a valid OpenAPI 3 document that describes every route the tests use."""

import re

import pytest

# Every (method, path) the other test files exercise.
ROUTES = [
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{user}"),
    ("put", "/users/{user}"),
    ("delete", "/users/{user}"),
    ("post", "/authenticate"),
    ("get", "/addresses"),
    ("get", "/users/{user}/addresses"),
    ("post", "/users/{user}/addresses"),
    ("get", "/users/{user}/addresses/{address}"),
    ("put", "/users/{user}/addresses/{address}"),
    ("delete", "/users/{user}/addresses/{address}"),
    ("get", "/users/{user}/mailboxes"),
    ("post", "/users/{user}/mailboxes"),
    ("get", "/users/{user}/mailboxes/{mailbox}"),
    ("put", "/users/{user}/mailboxes/{mailbox}"),
    ("delete", "/users/{user}/mailboxes/{mailbox}"),
    ("get", "/users/{user}/mailboxes/{mailbox}/messages"),
    ("post", "/users/{user}/mailboxes/{mailbox}/messages"),
    ("get", "/users/{user}/mailboxes/{mailbox}/messages/{message}"),
    ("put", "/users/{user}/mailboxes/{mailbox}/messages/{message}"),
    ("delete", "/users/{user}/mailboxes/{mailbox}/messages/{message}"),
    ("get", "/users/{user}/mailboxes/{mailbox}/messages/{message}/message.eml"),
    ("get", "/users/{user}/mailboxes/{mailbox}/messages/{message}/attachments/{attachment}"),
    ("get", "/users/{user}/flagged"),
    ("get", "/users/{user}/search"),
    ("post", "/users/{user}/quota/reset"),
    ("get", "/users/{user}/archived"),
    ("get", "/users/{user}/archived/{message}"),
    ("post", "/users/{user}/archived/{message}/restore"),
    ("get", "/users/{user}/autoreply"),
    ("put", "/users/{user}/autoreply"),
    ("delete", "/users/{user}/autoreply"),
    ("put", "/users/{user}/logout"),
    ("post", "/users/{user}/password/reset"),
    ("get", "/users/{user}/authlog"),
    ("post", "/users/{user}/2fa/totp/setup"),
    ("post", "/users/{user}/2fa/totp/enable"),
    ("post", "/users/{user}/2fa/totp/check"),
    ("delete", "/users/{user}/2fa/totp"),
    ("delete", "/users/{user}/2fa"),
    ("get", "/users/{user}/asps"),
    ("post", "/users/{user}/asps"),
    ("delete", "/users/{user}/asps/{asp}"),
    ("get", "/users/{user}/updates"),
    ("get", "/domainaliases"),
    ("post", "/domainaliases"),
    ("get", "/domainaliases/{alias}"),
    ("delete", "/domainaliases/{alias}"),
    ("get", "/domainaliases/resolve/{alias}"),
    ("get", "/domainaccess/{tag}/allow"),
    ("post", "/domainaccess/{tag}/allow"),
    ("get", "/domainaccess/{tag}/block"),
    ("post", "/domainaccess/{tag}/block"),
    ("delete", "/domainaccess/{domain}"),
    ("post", "/addresses/forwarded"),
    ("get", "/addresses/forwarded/{address}"),
    ("put", "/addresses/forwarded/{id}"),
    ("delete", "/addresses/forwarded/{address}"),
    ("get", "/addresses/resolve/{address}"),
    ("put", "/addresses/renameDomain"),
]

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def shape(path: str) -> str:
    """A path with its parameter names erased: /users/{id} and /users/{user} are one route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def document(server):
    r = server.api().get("/openapi.json")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def test_is_openapi_3(document):
    assert isinstance(document, dict)
    assert re.match(r"^3\.\d+\.\d+$", document["openapi"]), document.get("openapi")
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert isinstance(document["paths"], dict) and document["paths"]


def test_every_route_is_documented(document):
    documented = {}
    for path, item in document["paths"].items():
        for method in item:
            if method in METHODS:
                documented[(method, shape(path))] = path
    missing = [f"{m.upper()} {p}" for m, p in ROUTES if (m, shape(p)) not in documented]
    assert not missing, f"undocumented routes: {missing}"


def test_operations_are_well_formed(document):
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        names = set(re.findall(r"\{([^}]+)\}", path))
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert isinstance(op.get("responses"), dict) and op["responses"], (method, path)
            for status in op["responses"]:
                assert status == "default" or re.match(r"^[1-5](\d\d|XX)$", status), (method, path, status)
            params = [p for p in shared + op.get("parameters", []) if "$ref" not in p]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            assert names <= declared, f"{method.upper()} {path}: path parameters {names - declared} not declared"
            for p in params:
                assert p.get("in") in {"path", "query", "header", "cookie"}, (method, path, p)
                if p["in"] == "path":
                    assert p.get("required") is True, (method, path, p)


def test_refs_resolve(document):
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str):
                    refs.add(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(document)
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
            node = node[part]


def test_upload_documents_raw_message_body(document):
    item = {shape(p): v for p, v in document["paths"].items()}[shape("/users/{user}/mailboxes/{mailbox}/messages")]
    body = item["post"].get("requestBody", {})
    assert "message/rfc822" in body.get("content", {}), body
