"""OpenAPI descriptions for routes whose parameters are parsed by hand (Stripe form encoding).

Request models contribute their JSON schemas to `components.schemas`; response objects are
described by the field lists below, which the tests compare with real responses.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_COMPONENTS: dict[str, Any] = {}
_REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    _COMPONENTS.update(schema.pop("$defs", {}))
    return schema


def body(model: type[BaseModel]) -> dict[str, Any]:
    _COMPONENTS[model.__name__] = _schema(model)
    ref = {"$ref": _REF.format(model=model.__name__)}
    return {
        "requestBody": {
            "required": bool(_COMPONENTS[model.__name__].get("required")),
            "content": {
                "application/x-www-form-urlencoded": {"schema": ref},
                "application/json": {"schema": ref},
            },
        }
    }


def query(model: type[BaseModel]) -> dict[str, Any]:
    schema = _schema(model)
    required = set(schema.get("required", []))
    return {
        "parameters": [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    }


def responds(name: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=name)}}},
        },
        "4XX": {
            "description": "A Stripe-style error",
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
        },
    }


def _object(fields: list[str], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f: {} for f in fields},
        "required": required or fields,
    }


RESPONSE_OBJECTS: dict[str, dict[str, Any]] = {}


def describe(name: str, fields: list[str]) -> None:
    RESPONSE_OBJECTS[name] = _object(fields)


describe("Error", ["error"])
describe("List", ["object", "data", "has_more", "url"])
describe("SearchResult", ["object", "data", "has_more", "next_page", "url"])


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(_COMPONENTS)
        schemas.update(RESPONSE_OBJECTS)
        spec["components"]["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "sk_… or pk_… key, or a dashboard user's access token "
                "(RS256 JWT from /v1/auth/login; keys at /.well-known/jwks.json)",
            }
        }
        spec["security"] = [{"apiKey": []}]
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
