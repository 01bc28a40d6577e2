"""Pydantic's validation errors as the one-line problems `check-config` prints: the key
path as the user wrote it, what was expected, and a "did you mean" for typos."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from bot.config.networks import NETWORK_MODELS, IrcNetworkConfig


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _loc_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in NETWORK_MODELS and parts and parts[-1] != "networks":
            continue  # discriminator tag pydantic inserts; not a key the user wrote
        elif _is_union_member(item):
            continue  # which alternative of `a | b` failed; not a key either
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _is_union_member(item: str) -> bool:
    return "[" in item or item in ("bool", "str", "int", "float")


def problem_lines(
    errors: list[Any], model: type[BaseModel] | None, extra_keys: list[str] | None = None
) -> list[str]:
    """One line per key: when a value fits none of a key's alternatives (`auto` or true
    or false), the alternatives are joined into one expectation."""
    by_path: dict[str, list[Any]] = {}
    for err in errors:
        by_path.setdefault(_loc_path(err["loc"]), []).append(err)
    lines = []
    for path, group in by_path.items():
        plain = [_plain(e["type"], e.get("ctx") or {}) for e in group]
        if len(group) > 1 and all(plain):
            wanted = " or ".join(p.removeprefix("expected ") for p in plain if p)
            lines.append(f"{path}: expected {wanted} (got {_describe_input(group[0]['input'])})")
        else:
            lines += [problem_line(e, model, extra_keys) for e in group]
    return lines


def problem_line(
    err: dict[str, Any], model: type[BaseModel] | None, extra_keys: list[str] | None = None
) -> str:
    path = _loc_path(err["loc"])
    kind = err["type"]
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        hint = _suggest(key, err["loc"][:-1], model, extra_keys or [])
        return f"{path}: unknown key{hint}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"{path}.kind: expected one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return f"{path}.kind: required key is missing (say which network kind, e.g. irc)"
    msg = _plain(kind, err.get("ctx") or {}) or err["msg"].removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    if "got " in msg or isinstance(err["input"], dict | list):
        return f"{path}: {msg}"
    return f"{path}: {msg} (got {_describe_input(err['input'])})"


_PLAIN = {
    "list_type": "expected a list, like [a, b]",
    "tuple_type": "expected a list, like [a, b]",
    "set_type": "expected a list, like [a, b]",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "greater_than": "expected more than {gt}",
    "greater_than_equal": "expected {ge} or more",
    "less_than": "expected less than {lt}",
    "less_than_equal": "expected {le} or less",
    "too_short": "expected at least {min_length} entries",
    "too_long": "expected at most {max_length} entries",
    "string_too_short": "expected at least {min_length} characters",
    "string_too_long": "expected at most {max_length} characters",
    "string_pattern_mismatch": "expected text matching {pattern}",
    "literal_error": "expected {expected}",
}


def _plain(kind: str, ctx: dict[str, Any]) -> str | None:
    """Pydantic's wording ("input should be a valid tuple") in the config's own words."""
    template = _PLAIN.get(kind)
    if template is None:
        return None
    try:
        text = template.format(**ctx)
    except KeyError:
        return None
    return text.replace(" 1 entries", " one entry").replace(" 1 characters", " one character")


def _suggest(
    key: str, parent: tuple[Any, ...], model: type[BaseModel] | None, extra_keys: list[str]
) -> str:
    fields = _fields_at(parent, model) + (extra_keys if not parent else [])
    close = difflib.get_close_matches(key, fields, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _fields_at(loc: tuple[Any, ...], model: type[BaseModel] | None) -> list[str]:
    current: Any = model
    for item in loc:
        if current is None or isinstance(item, int):
            continue
        if item == "networks":
            current = IrcNetworkConfig
            continue
        if item in NETWORK_MODELS:
            current = NETWORK_MODELS[item]
            continue
        field = current.model_fields.get(item) if hasattr(current, "model_fields") else None
        if field is None:
            continue
        ann = field.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return list(current.model_fields) if current is not None else []
