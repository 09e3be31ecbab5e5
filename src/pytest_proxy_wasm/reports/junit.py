"""JUnit XML from the run model (the shape of pytest's xunit2 files, which CI systems read).

One ``<testsuite name="proxy-wasm-conformance">`` with the backend and each module's sha256 and ABI as
properties; one ``<testcase>`` per case and module (``classname`` ``proxy-wasm-conformance.<area>``).
A finding is a ``<failure>`` (its message and evidence); a blocked case a ``<skipped type="blocked">``
naming the finding that blocked it; a warned case passes with ``outcome=warned`` and ``warning``
properties; the outcome, severity, case id, area and module sha256 are properties of every testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

# Characters XML 1.0 cannot hold (control bytes but tab, newline and carriage return; lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: Any) -> str:
    """``value`` as text XML can hold: other characters as ``\\xNN`` / ``\\uNNNN``."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else
                        f"\\u{ord(m.group(0)):04x}", text)  # fmt: skip


def _properties(parent: ET.Element, pairs: list[tuple[str, Any]]) -> None:
    if not pairs:
        return
    node = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(node, "property", name=xml_text(name), value=xml_text(value))


def _first_line(text: str) -> str:
    return (text.splitlines() or [""])[0][:500]


def _testcase(suite: ET.Element, case: dict[str, Any], sha: dict[str, str], several: bool) -> None:
    from ..conformance.evidence import text_lines

    name = str(case["id"]).split(".", 1)[-1] + (f"[{case['module']}]" if several else "")
    node = ET.SubElement(
        suite,
        "testcase",
        classname=xml_text(f"proxy-wasm-conformance.{case['area']}"),
        name=xml_text(name),
        time=f"{float(case.get('duration_s') or 0):.3f}",
    )
    outcome = case["outcome"]
    evidence = text_lines(case["evidence"]) if case.get("evidence") else []
    pairs: list[tuple[str, Any]] = [
        ("case", case["id"]),
        ("area", case["area"]),
        ("module_sha256", sha.get(case["module"], "")),
        ("outcome", outcome),
        ("severity", case.get("severity") or "fail"),
    ]
    if case.get("warning"):
        pairs.append(("warning", case["warning"]))
    if case.get("cause"):
        pairs.append(("cause", case["cause"].get("label", "")))
    if case.get("blocks"):
        pairs.append(("blocks", ", ".join(case["blocks"])))
    if evidence:
        pairs.append(("evidence", "\n".join(evidence)))
    _properties(node, pairs)
    message = str(case.get("message") or "")
    if outcome in ("failed", "xpassed"):
        failure = ET.SubElement(node, "failure", message=xml_text(_first_line(message) or outcome))
        failure.text = xml_text(message)
    elif outcome == "error":
        error = ET.SubElement(node, "error", message=xml_text(_first_line(message) or "error"))
        error.text = xml_text(message)
    elif outcome == "blocked":
        ET.SubElement(node, "skipped", type="blocked", message=xml_text(_first_line(message)))
    elif outcome in ("skipped", "xfailed"):
        ET.SubElement(node, "skipped", type=f"pytest.{'xfail' if outcome == 'xfailed' else 'skip'}",
                      message=xml_text(_first_line(message)))  # fmt: skip


def render_junit(model: dict[str, Any]) -> str:
    from .normalize import normalize

    model = normalize(model)
    cases = model["cases"]
    counts = model["counts"]
    suite = ET.Element(
        "testsuite",
        name="proxy-wasm-conformance",
        errors=str(counts.get("error", 0)),
        failures=str(counts.get("failed", 0) + counts.get("xpassed", 0)),
        skipped=str(sum(counts.get(k, 0) for k in ("skipped", "xfailed", "blocked"))),
        tests=str(len(cases)),
        time=f"{float(model.get('duration_s') or 0):.3f}",
        timestamp=xml_text(model.get("started_at", "")),
    )
    sha = {m["name"]: m.get("sha256", "") for m in model.get("modules", [])}
    pairs: list[tuple[str, Any]] = [("backend", model.get("backend", "")), ("verdict", model["verdict"])]
    pairs += [(f"count:{k}", v) for k, v in counts.items()]
    for module in model.get("modules", []):
        pairs += [(f"module:{module['name']}:sha256", module.get("sha256", "")),
                  (f"module:{module['name']}:abi", str(module.get("abi")))]  # fmt: skip
    _properties(suite, pairs)
    several = len({c["module"] for c in cases}) > 1
    for case in cases:
        _testcase(suite, case, sha, several)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")
