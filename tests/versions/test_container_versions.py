"""The container backend builds one image per Envoy version, from that version's binary (no Docker here:
the build itself is tested in tests/backends/test_container_docker.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.backends.envoy import version_image
from pytest_proxy_wasm.backends.envoy.image import ResolvedImage


def test_a_version_gets_the_image_of_its_own_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "1.36.2" / "envoy"
    built: list[Path] = []

    class Client:
        def close(self) -> None:
            pass

    def ensure_local(client: Any, given: Path) -> ResolvedImage:
        built.append(given)
        return ResolvedImage("pytest-proxy-wasm/envoy:1.36.2-local", "built")

    monkeypatch.setattr(version_image, "binary_for", lambda version: binary)
    monkeypatch.setattr(version_image, "ensure_local", ensure_local)
    monkeypatch.setitem(__import__("sys").modules, "docker", type("docker", (), {"from_env": Client}))
    version_image.version_image.cache_clear()
    try:
        assert version_image.version_image("1.36.2").tag == "pytest-proxy-wasm/envoy:1.36.2-local"
        assert version_image.version_image("1.36.2").tag.endswith("1.36.2-local")  # once per process
        assert built == [binary]
    finally:
        version_image.version_image.cache_clear()


def test_the_installed_version_uses_the_default_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_image, "binary_for", lambda version: None)
    monkeypatch.setattr(
        version_image, "session_image", lambda requested: ResolvedImage("default:tag", "present")
    )
    version_image.version_image.cache_clear()
    try:
        assert version_image.version_image("1.40").tag == "default:tag"
    finally:
        version_image.version_image.cache_clear()
