"""``run`` with curl's upload head (``expect: 100-continue``, a body over 1 KiB) and with ``-H host``:
the emulator and Envoy agree (issue 26), and Host is the authority (issue 27 item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

HEADERS = Path(__file__).resolve().parent.parent / "fixtures" / "rust" / "headers.wasm"
BACKENDS = ["emulator", "envoy", "diff"]


def _needs(backend: str) -> None:
    reason = envoy_unavailable_reason(backend) if backend != "emulator" else None
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("backend", BACKENDS)
def test_expect_continue_upload_agrees_on_every_backend(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `curl -T file` sends for a 2 KiB file; diff mode exits 0 only if both backends agree."""
    _needs(backend)
    body = tmp_path / "upload.bin"
    body.write_bytes(b"0123456789abcdef" * 128)
    argv = ["run", str(HEADERS), "--backend", backend, "--method", "PUT", "--path", "/upload", "--json"]
    argv += ["-H", "user-agent: curl/8.5.0", "-H", "accept: */*", "-H", "Expect: 100-continue"]
    assert main([*argv, "--body", f"@{body}"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == 200
    seen = [r["message"] for r in data["logs"] if r["message"].startswith("request header: ")]
    assert "request header: content-length: 2048" in seen
    assert not [m for m in seen if m.lower().startswith("request header: expect")]
    upstream = dict(data["upstream_request"]["headers"])
    assert "expect" not in upstream and upstream["content-length"] == "2048"


@pytest.mark.parametrize("backend", BACKENDS)
def test_host_header_is_the_authority(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    _needs(backend)
    assert main(["run", str(HEADERS), "--backend", backend, "-H", "Host: api.example.org", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    seen = [r["message"] for r in data["logs"] if r["message"].startswith("request header: ")]
    assert seen[0] == "request header: :authority: api.example.org"
    assert not [m for m in seen if m.lower().startswith("request header: host")]


def test_host_and_a_different_authority_exit_2_naming_both(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(HEADERS), "-H", "host: a.test", "--authority", "b.test"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Host header 'a.test' and authority='b.test' disagree" in err
    assert "Traceback" not in err
