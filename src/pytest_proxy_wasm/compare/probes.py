"""What ``compare`` sends: ``--request 'GET /x'``, a ``--requests`` file (the one ``check`` reads),
``--traffic`` (HAR or JSON access log, each exchange routed to its recorded upstream answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..conformance.evidence import encode_request, request_text
from ..conformance.inputs import InputError, load_scenario, parse_request_line
from ..traffic import TrafficError, load_traffic


@dataclass
class Probe:
    """One request ``compare`` sends to both sides: ``Backend.request`` keywords and where it came from."""

    title: str
    request: dict[str, Any]
    source: str
    notes: list[str] = field(default_factory=list)

    def shown(self) -> dict[str, Any]:
        """The request as JSON (byte values shown as bytes), for ``--json`` and the page."""
        return encode_request(self.request)

    def text(self) -> str:
        return request_text(self.shown())


class ProbeError(ValueError):
    """A request source that cannot be read; the message names it."""


def from_options(
    lines: list[str], requests_file: Path | None, traffic: list[Path], skipped: list[str]
) -> list[Probe]:
    """The probes the options name, in this order: ``--request``, ``--requests``, ``--traffic``."""
    probes: list[Probe] = []
    try:
        for line in lines:
            request = parse_request_line(line)
            probes.append(Probe(line, request, "--request"))
        if requests_file is not None:
            for index, request in enumerate(load_scenario(requests_file)):
                title = f"{request.get('method', 'GET')} {request.get('path', '/')}"
                probes.append(Probe(title, request, f"{requests_file.name}: requests[{index}]"))
    except (InputError, OSError) as exc:
        raise ProbeError(str(exc)) from None
    for path in traffic:
        try:
            recorded = load_traffic(path, skipped=skipped)
        except TrafficError as exc:
            raise ProbeError(f"--traffic {exc}") from None
        for exchange in recorded:
            probes.append(
                Probe(exchange.title, exchange.request_kwargs(), exchange.where, notes=list(exchange.notes))
            )
    return probes
