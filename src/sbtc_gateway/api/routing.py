"""The route class every router uses: path parameters are checked before the endpoint runs.

`/v1/payment_intents/pi_%00` reaches the endpoint as `pi_\\x00`; looked up as is, PostgreSQL
refuses the NUL and the answer would be a 500. Checking here covers every route with a path
parameter at once, including ones added later, instead of each endpoint remembering to.
`pi_%FF` reaches it as `pi_\\ufffd` (the server decodes the path leniently); the raw path
tells that apart from a U+FFFD that was really sent, so it is refused like a form value.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.text import MAX_ID, printable, text_problem


class CheckedPathRoute(APIRoute):
    """Refuses a path parameter holding NUL or a lone surrogate, or longer than any id
    (400 `parameter_invalid_string`), naming it as the route's not-found errors do."""

    # path parameter → its public name (`intent_id` → `intent`); "id" when not listed
    public_names: ClassVar[Mapping[str, str]] = {}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        names = self.public_names

        async def checked(request: Request) -> Response:
            if request.path_params:
                raw_is_utf8 = _raw_path_is_utf8(request)
                for name, value in request.path_params.items():
                    if isinstance(value, str):
                        check_path_value(names.get(name, "id"), value, raw_is_utf8)
            return await handler(request)

        return checked


def _raw_path_is_utf8(request: Request) -> bool:
    raw: bytes | None = request.scope.get("raw_path")
    if raw is None:
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_path_value(param: str, value: str, raw_is_utf8: bool = True) -> None:
    problem = text_problem(value)
    if problem is None and not raw_is_utf8 and "\ufffd" in value:
        problem = "must be valid UTF-8"
    if problem is None and len(value) > MAX_ID:
        problem = f"must be at most {MAX_ID} characters"
    if problem is not None:
        raise codes.PARAMETER_INVALID_STRING(
            param=param, message=f"Invalid {param} {printable(value)[:60]!r}: it {problem}."
        )


def checked_routes(**public_names: str) -> type[APIRoute]:
    """The route class for a router: `APIRouter(route_class=checked_routes(intent_id="intent"))`."""
    return type("CheckedPathRoute", (CheckedPathRoute,), {"public_names": public_names})
