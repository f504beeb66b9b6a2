"""The plugin manager: built-ins first, then the ``ghostart`` entry-point group, loaded lazily.

``GHOSTART_PLUGINS_ALLOW`` (comma-separated entry-point names) loads only those;
``GHOSTART_PLUGINS_BLOCK`` skips the ones named. Built-ins are always loaded.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from ghostart import hookspecs
from ghostart.errors import ConfigurationError
from ghostart.models import DomainEvent
from ghostart.registry import AdapterRegistry

if TYPE_CHECKING:
    from ghostart.app import Ghostart

__all__ = ["BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "PluginInfo", "PluginManager"]

ENTRY_POINT_GROUP = "ghostart"
#: Modules registered before any third-party plugin, through the same hooks.
BUILTIN_PLUGINS = ("ghostart.builtin.plugin",)
log = logging.getLogger("ghostart.plugins")


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin, for ``ghostart plugins``."""

    name: str
    source: str
    version: str | None
    hooks: tuple[str, ...]


def _names(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


class PluginManager:
    """Wraps ``pluggy.PluginManager``; nothing is imported until first use."""

    def __init__(
        self,
        *,
        allow: str | None = None,
        block: str | None = None,
        entry_points_enabled: bool = True,
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._allow = _names(allow) or None
        self._block = _names(block)
        self._entry_points_enabled = entry_points_enabled
        self._loaded = False
        self._sources: dict[str, tuple[str, str | None]] = {}

    @property
    def hook(self) -> Any:
        """The pluggy hook relay, after loading."""
        self.load()
        return self._pm.hook

    def load(self) -> None:
        """Register built-ins, then allowed entry points; fail loudly on unknown hooks."""
        if self._loaded:
            return
        self._loaded = True
        for module_name in BUILTIN_PLUGINS:
            self._register(importlib.import_module(module_name), module_name, "builtin", None)
        if self._entry_points_enabled:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                self._load_entry_point(ep)
        self._pm.check_pending()

    def _load_entry_point(self, ep: EntryPoint) -> None:
        if ep.name in self._block or (self._allow is not None and ep.name not in self._allow):
            log.debug("plugin %s skipped by allow/block list", ep.name)
            return
        if self._pm.get_plugin(ep.name) is not None:
            return
        dist = ep.dist
        try:
            plugin = ep.load()
        except Exception as exc:
            raise ConfigurationError(
                f"plugin '{ep.name}' ({ep.value}) failed to load: {exc}. "
                f"Fix or uninstall it, or skip it with GHOSTART_PLUGINS_BLOCK={ep.name}",
                plugin=ep.name,
            ) from exc
        self._register(
            plugin, ep.name, dist.name if dist else ep.value, dist.version if dist else None
        )

    def _register(self, plugin: object, name: str, source: str, version: str | None) -> None:
        self._pm.register(plugin, name=name)
        self._sources[name] = (source, version)

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object by hand (tests, applications); returns its name."""
        self.load()
        try:
            registered = self._pm.register(plugin, name=name)
        except ValueError as exc:
            raise ConfigurationError(f"plugin {name or plugin!r} is already registered") from exc
        if registered is None:
            raise ConfigurationError(f"plugin {name or plugin!r} is blocked or already registered")
        self._sources[registered] = ("registered", None)
        self._pm.check_pending()
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin registered by name."""
        self._pm.unregister(name=name)
        self._sources.pop(name, None)

    def plugins(self) -> list[PluginInfo]:
        """The loaded plugins, in load order."""
        self.load()
        infos = []
        for name, plugin in self._pm.list_name_plugin():
            source, version = self._sources.get(name, ("?", None))
            hooks = tuple(sorted(h.name for h in self._pm.get_hookcallers(plugin) or []))
            infos.append(PluginInfo(name=name, source=source, version=version, hooks=hooks))
        return infos

    def adapter_registry(self) -> AdapterRegistry:
        """A registry filled by every plugin (built-ins first, so plugins may override them)."""
        registry = AdapterRegistry()
        # pluggy calls the most recently registered first; built-ins must run first to be overridable.
        for impl in self.hook.ghostart_register_adapters.get_hookimpls():
            impl.function(registry=registry)
        return registry

    async def emit(self, event: DomainEvent, app: Ghostart) -> list[str]:
        """Fan ``event`` out to every plugin; failures are reported (their names returned)."""
        failed: list[str] = []
        for impl in self.hook.ghostart_handle_event.get_hookimpls():
            try:
                offered = {"event": event, "app": app}
                # Like pluggy, pass only the arguments the implementation asks for.
                result = impl.function(**{name: offered[name] for name in impl.argnames})
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("plugin %s failed handling %s", impl.plugin_name, event.name)
                app.monitor.capture_exception(exc, plugin=impl.plugin_name, event=event.name)
                failed.append(impl.plugin_name)
        return failed
