"""Stripe-style parameters: bracket-nested form bodies and query strings, and JSON bodies.

`metadata[order]=42&expand[0]=a&expand[]=b` becomes
`{"metadata": {"order": "42"}, "expand": ["a", "b"]}`. Every form value is a string; coercion is
left to the parameter models. Keys are percent-decoded before brackets are read, since the SDKs
sometimes send `expand%5B0%5D=…`.

Each key and value is decoded from UTF-8 on its own, strictly: a byte sequence that is not
UTF-8 is an error naming that parameter, not a U+FFFD silently stored in its place.
`check_strings` then refuses what no text column can hold (NUL, lone surrogates) anywhere in
the parsed parameters, keys included, whichever encoding they came in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from . import error_codes as codes
from .text import printable, text_problem

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 5


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not head or "]" in head:
        raise codes.PARAMETER_INVALID(param=key, message=f"Invalid parameter name: {key!r}")
    parts = [head]
    if bracket:
        rest = "[" + rest
        pos = 0
        for match in _SEGMENT.finditer(rest):
            if match.start() != pos:
                raise codes.PARAMETER_INVALID(param=key, message=f"Invalid parameter name: {key!r}")
            parts.append(match.group(1))
            pos = match.end()
        if pos != len(rest):
            raise codes.PARAMETER_INVALID(param=key, message=f"Invalid parameter name: {key!r}")
    if len(parts) > MAX_DEPTH:
        raise codes.PARAMETER_INVALID(param=key, message=f"Parameter nested too deeply: {key!r}")
    return parts


def _listify(node: Any, path: str) -> Any:
    """Turn dicts whose keys are all indexes (or appends) into lists, recursively."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        keys = sorted(node)
        return [_listify(node[k], f"{path}[{k}]") for k in keys]
    if any(isinstance(k, int) for k in node):
        raise codes.PARAMETER_INVALID(
            param=path, message=f"Cannot mix array and hash keys in {path}"
        )
    return {k: _listify(v, f"{path}[{k}]") for k, v in node.items()}


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    append_counters: dict[int, int] = {}
    for raw_key, value in pairs:
        parts = _split_key(raw_key)
        node: dict[Any, Any] = root
        for depth, part in enumerate(parts):
            key: Any = part
            if depth > 0:
                if part == "":
                    counter = append_counters.get(id(node), 1_000_000)
                    append_counters[id(node)] = counter + 1
                    key = counter
                elif part.isascii() and part.isdigit():  # not '²' or '٣': int() refuses them
                    key = int(part)
            last = depth == len(parts) - 1
            if last:
                if isinstance(node.get(key), dict):
                    raise codes.PARAMETER_INVALID(
                        param=raw_key, message=f"Conflicting values for {raw_key}"
                    )
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    # `metadata=` (empty, to unset all) followed by `metadata[k]=v`: the hash wins.
                    if child == "":
                        child = node[key] = {}
                    else:
                        raise codes.PARAMETER_INVALID(
                            param=raw_key, message=f"Conflicting values for {raw_key}"
                        )
                node = child
    return {k: _listify(v, k) for k, v in root.items()}


def _unquote(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def decode_pairs(data: bytes) -> list[tuple[str, str]]:
    """`a=1&b=%C3%A9` → [("a", "1"), ("b", "é")], as `parse_qsl(keep_blank_values=True)`."""
    pairs: list[tuple[str, str]] = []
    for field in data.split(b"&"):
        if not field:
            continue
        raw_key, _, raw_value = field.partition(b"=")
        key_bytes = _unquote(raw_key)
        try:
            key = key_bytes.decode("utf-8")
        except UnicodeDecodeError:
            shown = key_bytes.decode("utf-8", "replace")
            raise codes.PARAMETER_INVALID_STRING(
                param=shown,
                message=f"Invalid parameter name {shown[:100]!r}: it is not valid UTF-8.",
            ) from None
        try:
            value = _unquote(raw_value).decode("utf-8")
        except UnicodeDecodeError:
            raise codes.PARAMETER_INVALID_STRING(
                param=key, message=f"Invalid string for {key[:100]}: it is not valid UTF-8."
            ) from None
        pairs.append((key, value))
    return pairs


def parse_query(query_string: str | bytes) -> dict[str, Any]:
    raw = (
        query_string.encode("utf-8", "surrogatepass")
        if isinstance(query_string, str)
        else query_string
    )
    return parse_pairs(decode_pairs(raw))


def parse_form(body: bytes) -> dict[str, Any]:
    return parse_pairs(decode_pairs(body))


def check_strings(params: dict[str, Any]) -> None:
    """Refuse NUL and lone surrogates in any key or string value, naming its bracket path.

    Iterative, so a deeply nested JSON body cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = []
    for key, value in params.items():
        _check_name(str(key))
        stack.append((str(key), value))
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                name = printable(path)
                raise codes.PARAMETER_INVALID_STRING(
                    param=name, message=f"Invalid string for {name[:100]}: it {problem}."
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}[{key}]"
                _check_name(child, str(key))
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def _check_name(path: str, key: str | None = None) -> None:
    problem = text_problem(path if key is None else key)
    if problem is not None:
        name = printable(path)
        raise codes.PARAMETER_INVALID_STRING(
            param=name, message=f"Invalid parameter name {name[:100]!r}: it {problem}."
        )
