"""Case ``module.hostcall_misuse``: the module never gets BAD_ARGUMENT or INVALID_MEMORY_ACCESS back.

Envoy is silent when a plugin passes a bad pointer or an unknown map type: the hostcall returns a status
the SDK usually drops. The emulator records each one (host/diagnostics.py); this case runs the module
through ordinary traffic and reports what it saw. Severity: ``warn`` (the case passes with a warning
and the findings in its details) unless the check runs with ``--strict``, where it fails. Exports the
ABI does not know are listed but never fail it: SDKs export such names themselves.
"""

from __future__ import annotations

import warnings

from ..host.diagnostics import STRICT_KINDS, misuse_lines
from .cases import CaseFailure, CaseRun, CaseWarning, case


class MisuseWarning(UserWarning):
    """A misuse finding of ``module.hostcall_misuse`` without ``--strict``."""


@case(
    "module",
    "hostcall_misuse",
    title="No hostcall answers the module BAD_ARGUMENT or INVALID_MEMORY_ACCESS in ordinary traffic",
    rule="proxy-wasm-cpp-host exports.cc: a bad pointer/size gives INVALID_MEMORY_ACCESS, an unknown type "
    "or a call in the wrong phase BAD_ARGUMENT; Envoy logs nothing and the plugin goes on",
    why="The SDK usually drops the status: a log line never written, a header never read, a body never "
    "replaced, and nothing says so. warn by default, fail with --strict.",
)
def hostcall_misuse(run: CaseRun) -> None:
    host, plugin = run.started()
    host.request(plugin, headers={"x-check": "misuse"})
    host.request(
        plugin,
        method="POST",
        path="/misuse?q=1",
        headers={"content-type": "text/plain"},
        body=[b"hello ", b"world"],
        upstream_headers={"content-type": "text/plain"},
        upstream_body=b"upstream body",
    )
    host.advance(1000)  # ticks and callout answers
    findings = misuse_lines(host, STRICT_KINDS)
    notes = [line for line in misuse_lines(host) if line not in findings]
    run.details.update(misuse=findings, misuse_notes=notes, strict=run.target.strict)
    if not findings:
        return
    text = f"{len(findings)} misuse finding(s):\n  " + "\n  ".join(findings)
    if run.target.strict:
        raise CaseFailure(text)
    run.details["severity"] = "warn"
    warnings.warn(MisuseWarning(f"module.hostcall_misuse [{run.target.module.name}]: {text}"), stacklevel=1)
    raise CaseWarning(text)  # the case passes, counted as warned in every report
