"""Fixtures for the Istio tests: Wasm payloads and a real OCI registry (Debian's docker-registry) on
127.0.0.1, started once per worker without auth and once with htpasswd auth."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import wasmtime

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "fixtures"
HEADERS_WASM = FIXTURES / "rust" / "headers.wasm"
BASIC_AUTH_WASM = FIXTURES / "rust" / "basic_auth.wasm"
REGISTRY_BINARY = "docker-registry"
USER, PASSWORD = "wasm-pusher", "s3cret-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def probe_wasm() -> bytes:
    return bytes(wasmtime.wat2wasm((HERE / "chain_probe.wat").read_text()))


def variant(wasm: bytes, tag: str) -> bytes:
    """The same module with a custom section naming ``tag``: different bytes, so its own VM."""
    name = b"probe-tag"
    payload = bytes([len(name)]) + name + tag.encode()
    assert len(payload) < 128
    return wasm + b"\x00" + bytes([len(payload)]) + payload


@pytest.fixture(scope="session")
def probe_variant(probe_wasm: bytes) -> Callable[[str], bytes]:
    return lambda tag: variant(probe_wasm, tag)


@dataclass
class RegistryServer:
    host: str  # 127.0.0.1:PORT
    auth: bool
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, repo: str) -> str:
        return f"oci://{self.host}/{repo}"


def _htpasswd(path: Path) -> None:
    tool = shutil.which("htpasswd")
    if tool:
        line = subprocess.run([tool, "-Bbn", USER, PASSWORD], check=True, capture_output=True).stdout
        path.write_bytes(line.strip() + b"\n")
        return
    try:
        import bcrypt
    except ImportError:
        pytest.skip("htpasswd auth needs apache2-utils (htpasswd) or the bcrypt package")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt()).decode()
    path.write_text(f"{USER}:{hashed}\n")


def start_registry(root: Path, auth: bool) -> RegistryServer:
    binary = shutil.which(REGISTRY_BINARY) or (
        "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None
    )
    if binary is None:
        pytest.skip("no docker-registry binary: apt-get install docker-registry (.ci/run does)")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth_block = ""
    if auth:
        _htpasswd(root / "htpasswd")
        auth_block = f"auth:\n  htpasswd:\n    realm: test-registry\n    path: {root / 'htpasswd'}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth_block
    )
    log = root / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code in (200, 401):
                return RegistryServer(f"127.0.0.1:{port}", auth, process, log)
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("docker-registry did not start within 15 s")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path_factory.mktemp("registry"), auth=False)
    yield server
    server.process.kill()
    server.process.wait()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path_factory.mktemp("auth-registry"), auth=True)
    yield server
    server.process.kill()
    server.process.wait()


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "plugins.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
