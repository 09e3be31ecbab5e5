"""A backend-neutral description of a plugin chain: what both the emulator and Envoy are given."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModuleLoadError
from ..host.abi.enums import FailurePolicy
from ..host.options import ConfigInput, config_bytes


@dataclass(frozen=True)
class PluginSpec:
    """One Wasm filter as Envoy's ``PluginConfig`` describes it (Istio's WasmPlugin maps onto this)."""

    module: Path | bytes
    name: str = ""
    root_id: str = ""
    plugin_config: bytes = b""
    vm_config: bytes = b""
    vm_id: str = ""
    env: Mapping[str, str] = field(default_factory=dict)  # vmConfig.env INLINE -> key_values
    host_env_keys: tuple[str, ...] = ()  # vmConfig.env HOST -> host_env_keys
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    network: bool = False  # a network (L4) filter instead of an HTTP filter

    @classmethod
    def build(
        cls,
        module: str | os.PathLike[str] | bytes,
        *,
        name: str | None = None,
        root_id: str = "",
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        vm_id: str = "",
        env: Mapping[str, str] | None = None,
        host_env_keys: tuple[str, ...] = (),
        failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED,
        network: bool = False,
    ) -> PluginSpec:
        source: Path | bytes = bytes(module) if isinstance(module, bytes | bytearray) else Path(module)
        default_name = source.stem if isinstance(source, Path) else "plugin"
        if isinstance(source, Path) and not source.is_file():  # as the emulator says it, not a traceback
            raise ModuleLoadError(name or source.name, f"cannot read {source}: No such file")
        policy = (
            failure_policy if isinstance(failure_policy, FailurePolicy) else FailurePolicy(failure_policy)
        )
        return cls(
            source,
            name or default_name,
            root_id,
            config_bytes(plugin_config),
            config_bytes(vm_config),
            vm_id,
            dict(env or {}),
            tuple(host_env_keys),
            policy,
            network,
        )

    def module_bytes(self) -> bytes:
        return self.module if isinstance(self.module, bytes) else self.module.read_bytes()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.module_bytes()).hexdigest()

    def vm_environment(self) -> dict[str, str]:
        """What the VM sees: key_values plus the host_env_keys set here (Envoy drops unset ones)."""
        values = dict(self.env)
        for key in self.host_env_keys:
            if key in os.environ:
                values[key] = os.environ[key]
        return values
