"""Sheets v4 and Drive v3 exchanges checked against Google's discovery documents.

The documents are the ones ``google-api-python-client`` ships
(``googleapiclient/discovery_cache/documents/sheets.v4.json``, ``drive.v3.json``). Discovery
schemas are not JSON Schema, so this is a small validator of its own, reading the ``schemas``:
``type`` (``int64``/``uint64`` formats travel as strings), ``$ref``, ``properties``, ``items``,
``additionalProperties`` and ``enum``. A property a schema does not define fails ("a field the
contract does not have"), as does an enum value it does not list; discovery marks almost no
field required, so a dropped field fails only where the document makes it matter (an answer
the method does not define, a missing error ``status``).

Per exchange: the method is found by HTTP method and path (``servicePath`` + ``flatPath``);
every query parameter must be the method's or one of the API's common ones, with a listed enum
value; the request body must match the method's ``request`` schema; a 2xx answer must be 200
with the ``response`` schema (204 with no body when the method has none); any other answer must
be Google's error body (https://cloud.google.com/apis/design/errors): ``error.code`` equal to
the HTTP status, a ``message``, and the canonical ``status`` that goes with that HTTP status.
OAuth's ``/token`` is in no discovery document and is not checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import googleapiclient
from http_recording import Exchange

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"

# google.rpc.Code names and the HTTP status each maps to (google/rpc/code.proto).
CANONICAL = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "DATA_LOSS": 500,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# The error body as Google's JSON APIs send it (errors[] is the v1 "legacy" detail list).
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "status": {"type": "string", "enum": list(CANONICAL)},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                },
                "details": {"type": "array", "items": {"type": "any"}},
            },
        }
    },
}


# Request fields gspread sends that the documents no longer define and real Drive ignores
# (gspread's share works against Drive v3): allowed in requests only, never in answers.
LEGACY_REQUEST_FIELDS = {"Permission": {"withLink"}}


@dataclass(frozen=True)
class Method:
    id: str
    http_method: str
    pattern: re.Pattern
    parameters: dict
    request: str | None
    response: str | None


class Discovery:
    """One discovery document: its methods, found by request, and its schemas."""

    def __init__(self, name: str):
        self.doc = json.loads((DOCUMENTS / f"{name}.json").read_text())
        self.methods = list(self._methods(self.doc))

    def _methods(self, node: dict):
        for method in node.get("methods", {}).values():
            template = "/" + self.doc["servicePath"] + method.get("flatPath", method["path"])
            regex = "[^/]+".join(map(re.escape, re.split(r"\{\+?[^}]+\}", template)))
            yield Method(
                method["id"],
                method["httpMethod"],
                re.compile(regex + "/?"),
                {**self.doc.get("parameters", {}), **method.get("parameters", {})},
                method.get("request", {}).get("$ref"),
                method.get("response", {}).get("$ref"),
            )
        for resource in node.get("resources", {}).values():
            yield from self._methods(resource)

    def find(self, exchange: Exchange) -> Method | None:
        for method in self.methods:
            if method.http_method == exchange.method and method.pattern.fullmatch(exchange.path):
                return method
        return None

    def validate(self, value, schema: dict, where: str, request: bool = False) -> list[str]:
        """What in ``value`` the discovery ``schema`` does not allow, each with its place.

        In a ``request``, null is an absent field (proto3's JSON mapping), as Google reads it.
        """
        if request and value is None:
            return []
        if "$ref" in schema:
            ref = schema["$ref"]
            if request and isinstance(value, dict) and ref in LEGACY_REQUEST_FIELDS:
                value = {k: v for k, v in value.items() if k not in LEGACY_REQUEST_FIELDS[ref]}
            return self.validate(value, self.doc["schemas"][ref], where, request)
        kind = schema.get("type", "any")
        if kind == "object":
            return self._object(value, schema, where, request)
        if kind == "array":
            if not isinstance(value, list):
                return [f"{where}: {value!r} is not an array"]
            return [
                p
                for n, v in enumerate(value)
                for p in self.validate(v, schema["items"], f"{where}[{n}]", request)
            ]
        if not _scalar_ok(value, kind, schema.get("format")):
            return [f"{where}: {value!r} is not {kind} ({schema.get('format', '')})"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} is not one of {schema['enum']}"]
        return []

    def _object(self, value, schema: dict, where: str, request: bool) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        problems = []
        for key, item in value.items():
            if key in properties:
                problems += self.validate(item, properties[key], f"{where}.{key}", request)
            elif extra is not None:
                problems += self.validate(item, extra, f"{where}.{key}", request)
            else:
                problems.append(f"{where}: property {key!r} is not in the contract")
        return problems


def _scalar_ok(value, kind: str, fmt: str | None) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        if fmt in ("int64", "uint64"):
            return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


@cache
def discovery(name: str) -> Discovery:
    return Discovery(name)


def _api_for(exchange: Exchange) -> Discovery | None:
    if exchange.path.startswith("/v4/spreadsheets"):
        return discovery("sheets.v4")
    if exchange.path.startswith("/drive/v3/"):
        return discovery("drive.v3")
    return None


def _query_problems(exchange: Exchange, method: Method) -> list[str]:
    problems = []
    for name, value in exchange.query:
        parameter = method.parameters.get(name)
        if parameter is None:
            problems.append(f"{exchange}: query parameter {name!r} is not {method.id}'s")
        elif "enum" in parameter and value not in parameter["enum"]:
            problems.append(f"{exchange}: {name}={value!r} is not one of {parameter['enum']}")
    return problems


def _answer_problems(exchange: Exchange, api: Discovery, method: Method) -> list[str]:
    body = exchange.response_json() if exchange.response_body else None
    if exchange.status >= 400:
        problems = api.validate(body, ERROR_SCHEMA, "error body")
        error = (body or {}).get("error") or {}
        if error.get("code") != exchange.status:
            problems.append(f"error.code {error.get('code')!r} is not the HTTP status")
        if CANONICAL.get(error.get("status")) != exchange.status:
            problems.append(f"error.status {error.get('status')!r} is not one for this status")
        return problems
    if method.response is None:
        return [] if exchange.status == 204 and not body else ["expected 204 with no body"]
    if exchange.status != 200:
        return [f"status {exchange.status}: the method answers 200"]
    return api.validate(body, {"$ref": method.response}, method.response)


def check(exchange: Exchange) -> list[str]:
    """What in this exchange the discovery documents do not allow (empty when it conforms)."""
    api = _api_for(exchange)
    method = api.find(exchange) if api else None
    if method is None:
        return [f"{exchange}: no method in the Sheets v4 / Drive v3 discovery documents"]
    problems = []
    if exchange.status < 400:  # a request outside the contract must not be answered as if in it
        problems += _query_problems(exchange, method)
        if method.request and exchange.request_body:
            where = f"request {method.request}"
            request = exchange.request_json()
            problems += api.validate(request, {"$ref": method.request}, where, request=True)
    problems += _answer_problems(exchange, api, method)
    return [p if p.startswith(str(exchange)) else f"{exchange}: {p}" for p in problems]
