"""Which plugins run, and the config they validate: plugin classes by module path or entry
point, and the config file read with each enabled plugin's settings section."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.config import BUILTIN_PLUGINS, Config, ConfigError, read_yaml
from bot.errors import StartupError
from bot.help import HelpPlugin
from bot.identity import IdentityPlugin
from bot.more import MorePlugin
from bot.plugin import Plugin

ENTRY_POINT_GROUP = "deployday.plugins"
SHIPPED = "plugins."  # the features that come with deployday, named by module path


def load_plugin_classes(names: Sequence[str]) -> list[type[Plugin]]:
    """Each name is a module path (`plugins.incidents`, `mycorp.deploybot`) whose module has
    a `plugin` attribute, or the name of an entry point in the `deployday.plugins` group."""
    found: list[type[Plugin]] = [HelpPlugin, IdentityPlugin, MorePlugin]
    for name in names:
        try:
            target = _import(name)
        except ImportError as exc:
            raise StartupError(f"plugin {name!r} cannot be imported: {exc}") from None
        cls = getattr(target, "plugin", target)
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise StartupError(f"plugin {name!r} has no `plugin` class deriving bot.plugin.Plugin")
        if cls not in found:
            found.append(cls)
    return found


def _import(name: str) -> Any:
    """The module or entry point `name` names. A shipped feature is imported directly:
    reading the entry points scans every installed distribution (~4 ms, and the plugins
    are loaded three times per start), which a config of shipped features need not pay."""
    if not name.startswith(SHIPPED):
        from importlib.metadata import entry_points

        eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if name in eps:
            return eps[name].load()
    return importlib.import_module(name)


def plugin_sections(names: Any) -> dict[str, type[BaseModel]] | str:
    """Settings sections of the named plugins, or why they cannot be loaded."""
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        return "expected a list of plugin module names"
    try:
        classes = load_plugin_classes(names)
    except StartupError as exc:
        return str(exc)
    return {c.settings_key: c.Settings for c in classes if c.settings_key and c.Settings}


def build_config(raw: dict[str, Any], base_dir: Path | None = None) -> Config:
    """Validate a whole config: the core keys and the sections of the plugins it enables."""
    sections = plugin_sections(raw.get("plugins", BUILTIN_PLUGINS))
    if isinstance(sections, str):
        raise ConfigError([f"plugins: {sections}"])
    return Config.build(raw, base_dir, sections)


def load_config(path: str | Path | None) -> Config:
    """Load and validate; with no path, the embedded defaults (console + local SQLite)."""
    if path is None:
        return build_config({})
    path = Path(path)
    raw = read_yaml(path)
    try:
        return build_config(raw, base_dir=path.parent.resolve())
    except ConfigError as exc:
        raise ConfigError([f"{path}: {p}" for p in exc.problems]) from None
