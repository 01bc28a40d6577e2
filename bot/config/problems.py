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
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


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
    msg = err["msg"].removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    if "got " in msg or isinstance(err["input"], dict | list):
        return f"{path}: {msg}"
    return f"{path}: {msg} (got {_describe_input(err['input'])})"


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
