"""Envoy faults the test did not ask for: the process (or container) exited or was killed, hung, or
its listener refused. Each is an exception that names what happened, when (which request, which
callback) and Envoy's last log lines; the backend never hides it by starting a new Envoy."""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import ProxyWasmError

_CALLBACK_IN = re.compile(r"\[host->vm\] (?P<name>proxy_on_\w+)\(")
_CALLBACK_OUT = re.compile(r"\[host<-vm\] (?P<name>proxy_on_\w+)")
_HOSTCALL = re.compile(r"\[vm->host\] (?:env\.)?(?P<name>\w+)\(")
_HOSTCALL_DONE = re.compile(r"\[vm<-host\] (?:env\.)?(?P<name>\w+)")
# Envoy's panic and crash lines (``critical|assert|panic: unset oneof``, ``critical|backtrace|...``).
_CRITICAL = re.compile(r"^(critical|error)\|(assert|backtrace|main)\|")


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_text(returncode: int | None, *, container: bool = False) -> str:
    """``signal 6 (SIGABRT)``, ``exit code 1``; a container's 128+N is read as signal N."""
    if returncode is None:
        return "an unknown exit status"
    if returncode < 0:
        return f"signal {-returncode} ({signal_name(-returncode)})"
    if container and 128 < returncode < 160:
        number = returncode - 128
        return f"exit code {returncode} (signal {number}, {signal_name(number)})"
    return f"exit code {returncode}"


@dataclass
class CrashSite:
    """Where the plugin was when Envoy stopped, read off its ``wasm:trace`` lines."""

    callback: str = ""
    hostcall: str = ""

    def __str__(self) -> str:
        if not self.callback:
            return ""
        inside = f" (in hostcall {self.hostcall})" if self.hostcall else ""
        return f"in {self.callback}{inside}"


def crash_site(lines: Sequence[str]) -> CrashSite:
    """The callback still running at the end of the log (and its unanswered hostcall), if any."""
    running: list[str] = []
    hostcall = ""
    for line in lines:
        message = line.split("|", 2)[-1]
        if (match := _CALLBACK_IN.match(message)) is not None:
            running.append(match["name"])
            hostcall = ""
        elif _CALLBACK_OUT.match(message) is not None:
            if running:
                running.pop()
            hostcall = ""
        elif (match := _HOSTCALL.match(message)) is not None:
            hostcall = match["name"]
        elif _HOSTCALL_DONE.match(message) is not None:
            hostcall = ""
    return CrashSite(running[-1], hostcall) if running else CrashSite()


def panic_line(lines: Sequence[str]) -> str:
    """Envoy's own reason (``panic: unset oneof``, ``Caught Aborted``), when it wrote one."""
    for line in lines:
        if line.startswith("critical|assert|") or "panic:" in line:
            return line.split("|", 2)[-1].strip()
    for line in lines:
        if line.startswith("critical|backtrace|Caught "):
            return line.split("|", 2)[-1].strip()
    return ""


def log_excerpt(log_lines: Sequence[str], other: Sequence[str] = (), count: int = 25) -> str:
    """The last ``count`` lines of Envoy's log with its crash lines (panic, backtrace) kept whole,
    then the last lines of its stderr (or the container's output)."""
    tail = list(log_lines[-count:])
    crash = [line for line in log_lines[:-count] if _CRITICAL.match(line)]
    shown = [*crash[-count:], *tail]
    if other:
        shown += ["-- stderr --", *list(other)[-10:]]
    return "\n".join(shown)


class EnvoyFault(ProxyWasmError):  # noqa: N818 - a fault, named as such
    """Envoy stopped serving without the test asking: ``summary`` is one line, ``str()`` adds the log."""

    kind = "fault"

    def __init__(self, summary: str, log_tail: str = "", *, site: CrashSite | None = None) -> None:
        self.summary = summary
        self.log_tail = log_tail
        self.site = site or CrashSite()
        self.reported = False  # raised to the test at least once
        shown = "\n".join("    " + line for line in log_tail.splitlines())
        hint = (
            "\n  (no other Envoy is started by itself: call backend.restart(), or set "
            "@pytest.mark.proxy_wasm(restart_envoy_after_exit=True) "
            "or HostOptions(restart_envoy_after_exit=True))"
        )
        super().__init__(
            f"{summary}\n  last lines of Envoy's log:\n{shown}{hint}" if shown else summary + hint
        )


class EnvoyExited(EnvoyFault):
    """The Envoy process (or its container) exited or was killed."""

    kind = "exited"


class EnvoyHung(EnvoyFault):
    """Envoy did not answer within the exchange deadline and its admin endpoint did not answer either."""

    kind = "hung"


class EnvoyRefused(EnvoyFault):
    """Envoy runs, but its listener refused the connection."""

    kind = "refused"


__all__ = [
    "CrashSite",
    "EnvoyExited",
    "EnvoyFault",
    "EnvoyHung",
    "EnvoyRefused",
    "crash_site",
    "exit_text",
    "log_excerpt",
    "panic_line",
]
