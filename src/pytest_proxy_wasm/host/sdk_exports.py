"""Exports that known SDKs add to every module although Envoy never calls them: not misuse.

The plugin author cannot remove them (the SDK exports them), so they are named once, in the module's
classification (``check``'s header and ``run.json`` ``classification.sdk_exports``), and never as a
misuse diagnostic. Other ``proxy_on_*`` exports the ABI does not know stay misuse (docs/traces.md).
"""

from __future__ import annotations

from collections.abc import Iterable

KNOWN_SDK_EXPORTS: dict[str, str] = {
    "proxy_on_redis_call_response": "Higress SDKs (Go wasm-go, Rust): the answer to a Redis call, which "
    "only Higress's own Envoy build makes",
}


def known_sdk_export(name: str) -> str | None:
    """Why ``name`` is exported, when a known SDK exports it; None otherwise."""
    return KNOWN_SDK_EXPORTS.get(name)


def sdk_exports(names: Iterable[str]) -> dict[str, str]:
    """The known SDK exports among ``names``, each with the SDK that exports it."""
    return {n: KNOWN_SDK_EXPORTS[n] for n in sorted(set(names)) if n in KNOWN_SDK_EXPORTS}
