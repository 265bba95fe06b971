"""Stripe-style parameters: bracket-nested form bodies and query strings, and JSON bodies.

`metadata[order]=42&expand[0]=a&expand[]=b` becomes
`{"metadata": {"order": "42"}, "expand": ["a", "b"]}`. Every form value is a string; coercion is
left to the parameter models. Keys are percent-decoded before brackets are read, since the SDKs
sometimes send `expand%5B0%5D=…`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from . import error_codes as codes

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


def parse_query(query_string: str) -> dict[str, Any]:
    return parse_pairs(parse_qsl(query_string, keep_blank_values=True))


def parse_form(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise codes.REQUEST_BODY_INVALID_UTF8() from None
    return parse_pairs(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
