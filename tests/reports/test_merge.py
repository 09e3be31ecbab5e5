"""``check --shard I/N`` plus ``report merge`` equals the single-machine run; the version matrix pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.reports.merge import merge
from pytest_proxy_wasm.reports.versions import differences, version_of_node

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    str(ROOT / "fixtures" / "go" / "config_file.wasm"),
    str(ROOT / "fixtures" / "rust" / "headers.wasm"),
]
CHECK = ["check", *MODULES, "--envoy-version", "1.36,1.40", "--select", "module", "--seed", "3", "-q"]


def _essence(model: dict[str, Any]) -> dict[str, Any]:
    """What must be equal: every case's result, the counts, verdict, modules and the version matrix."""
    cases = sorted(
        (
            c["module"],
            c["envoy_version"],
            c["id"],
            c["outcome"],
            c["message"],
            json.dumps(c["details"], sort_keys=True),
        )
        for c in model["cases"]
    )
    return {
        "cases": cases,
        "counts": model["counts"],
        "verdict": model["verdict"],
        "modules": sorted(m["sha256"] for m in model["modules"]),
        "envoy_versions": model["envoy_versions"],
        "compatibility": sorted(json.dumps(r, sort_keys=True) for r in model["compatibility"]),
        "version_differences": sorted(json.dumps(d, sort_keys=True) for d in model["version_differences"]),
    }


def test_two_shards_merged_equal_the_single_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CHECK, "--report-dir", str(tmp_path / "one")]) == 1  # config_file fails on 1.36
    for index in (1, 2):
        main([*CHECK, "--shard", f"{index}/2", "--report-dir", str(tmp_path / f"shard{index}")])
    shards = [json.loads((tmp_path / f"shard{i}" / "run.json").read_text()) for i in (1, 2)]
    assert all(s["cases"] for s in shards)
    assert main(["report", "merge", *(str(tmp_path / f"shard{i}" / "run.json") for i in (1, 2)),
                 "--report-dir", str(tmp_path / "merged")]) == 0  # fmt: skip
    single = json.loads((tmp_path / "one" / "run.json").read_text())
    merged = json.loads((tmp_path / "merged" / "run.json").read_text())
    assert _essence(merged) == _essence(single)
    assert (tmp_path / "merged" / "matrix.md").read_text() == (tmp_path / "one" / "matrix.md").read_text()
    assert (tmp_path / "merged" / "modules" / "config_file.wasm.md").exists()


def test_the_matrix_names_the_version_that_refuses_the_module(tmp_path: Path) -> None:
    main([*CHECK, "--report-dir", str(tmp_path)])
    model = json.loads((tmp_path / "run.json").read_text())
    assert model["envoy_versions"] == ["1.36.4", "1.40.0"]
    rows = {(r["module"], r["envoy_version"], r["area"]): r["verdict"] for r in model["compatibility"]}
    assert rows[("config_file.wasm", "1.36.4", "module")] == "fail"
    assert rows[("config_file.wasm", "1.40.0", "module")] == "pass"
    assert rows[("headers.wasm", "1.36.4", "module")] == "pass"
    [imports] = [d for d in model["version_differences"] if d["case"] == "module.imports_provided"]
    assert imports["module"] == "config_file.wasm" and imports["versions"] == ["1.36.4", "1.40.0"]
    assert "details.unsupported:\n    only on Envoy 1.36.4: ['wasi_snapshot_preview1.path_filestat_get']" in (
        "\n".join(imports["fields"])
    )
    assert "## Envoy 1.36.4" in (tmp_path / "matrix.md").read_text()


def test_shards_that_overlap_are_refused() -> None:
    model = {"cases": [{"module": "m", "id": "a.b", "envoy_version": "", "area": "a", "outcome": "passed",
                        "duration_s": 0.1, "message": "", "details": {}}], "modules": []}  # fmt: skip
    with pytest.raises(ValueError, match="in two shards"):
        merge([model, model])


def test_versions_are_read_off_node_ids_and_equal_runs_differ_in_nothing() -> None:
    assert version_of_node("proxy-wasm-conformance/module::abi_marker[x.wasm@1.36]") == "1.36"
    assert version_of_node("proxy-wasm-conformance/module::abi_marker[x.wasm]") == ""
    case = {"module": "m", "id": "a.b", "outcome": "passed", "message": "", "details": {"n": 1, "took_s": 1}}
    other = {**case, "envoy_version": "1.36", "details": {"n": 1, "took_s": 2}}
    assert differences([case, other]) == []  # timings are not behaviour


def test_shards_plugin_coverage_is_not_taken_for_the_runs() -> None:
    def shard(case_id: str) -> dict[str, Any]:
        case = {"module": "m", "id": case_id, "envoy_version": "", "area": "a", "outcome": "passed",
                "duration_s": 0.1, "message": "", "details": {}}  # fmt: skip
        return {"cases": [case], "modules": [], "plugin_coverage": {"modules": []}}

    assert "plugin_coverage" not in merge([shard("a.b"), shard("a.c")])
    assert "plugin_coverage" in merge([shard("a.b")])
