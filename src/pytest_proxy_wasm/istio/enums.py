"""Istio's WasmPlugin enums (istio/api ``extensions/v1alpha1/wasm.proto``, ``type/v1beta1/selector.proto``).

Each enum is accepted by name or by number, as the Kubernetes API server accepts protobuf enums.
The numbers are Istio's, not Envoy's: see ``mapping.ENVOY_FAILURE_POLICY_NUMBER``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar


class PluginPhase(IntEnum):
    UNSPECIFIED_PHASE = 0
    AUTHN = 1
    AUTHZ = 2
    STATS = 3


class PullPolicy(IntEnum):
    UNSPECIFIED_POLICY = 0
    IfNotPresent = 1
    Always = 2


class FailStrategy(IntEnum):
    FAIL_CLOSE = 0
    FAIL_OPEN = 1
    FAIL_RELOAD = 2


class PluginType(IntEnum):
    UNSPECIFIED_PLUGIN_TYPE = 0
    HTTP = 1
    NETWORK = 2


class EnvValueSource(IntEnum):
    INLINE = 0
    HOST = 1


class WorkloadMode(IntEnum):
    UNDEFINED = 0
    CLIENT = 1
    SERVER = 2
    CLIENT_AND_SERVER = 3


E = TypeVar("E", bound=IntEnum)


def parse_enum(enum: type[E], value: object) -> E:
    """``value`` by name (exact) or number; ``ValueError`` naming the allowed values otherwise."""
    if isinstance(value, bool):
        raise ValueError(_allowed(enum, value))
    if isinstance(value, int):
        try:
            return enum(value)
        except ValueError:
            raise ValueError(_allowed(enum, value)) from None
    if isinstance(value, str):
        member = enum.__members__.get(value)
        if member is not None:
            return member
    raise ValueError(_allowed(enum, value))


def _allowed(enum: type[IntEnum], value: object) -> str:
    names = ", ".join(f"{m.name} ({m.value})" for m in enum)
    return f"{value!r} is not a {enum.__name__}; allowed: {names}"
