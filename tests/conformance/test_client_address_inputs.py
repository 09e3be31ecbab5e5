"""Client-address settings in ``check``: scenario request fields, the check flags and the child options."""

from __future__ import annotations

import argparse

import pytest

from pytest_proxy_wasm.check_cli import pytest_args
from pytest_proxy_wasm.cli import build_parser
from pytest_proxy_wasm.conformance.inputs import InputError, check_request


def test_scenario_requests_carry_the_client_address() -> None:
    request = check_request(
        {
            "path": "/",
            "peer_address": "127.0.0.5",
            "use_remote_address": True,
            "xff_num_trusted_hops": 1,
            "skip_xff_append": False,
            "internal_address_cidrs": ["10.0.0.0/8"],
        },
        "s.yaml: requests[0]",
    )
    assert request["use_remote_address"] is True and request["internal_address_cidrs"] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("peer_address", "not-an-ip", "peer address"),
        ("xff_num_trusted_hops", -1, "xff_num_trusted_hops"),
        ("internal_address_cidrs", ["10/99"], "internal_address_cidrs"),
        ("use_remote_address", "yes", "wrong type"),
        ("method", True, "wrong type"),  # booleans stay refused elsewhere
    ],
)
def test_bad_client_address_fields_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_request({"path": "/", field: value}, "s.yaml: requests[0]")


def test_check_flags_reach_the_child_pytest(tmp_path: object) -> None:
    args = build_parser().parse_args(
        ["check", "p.wasm", "--peer-address", "127.0.0.5:4000", "--use-remote-address",
         "--xff-num-trusted-hops", "2", "--internal-address-cidr", "10.0.0.0/8"]
    )  # fmt: skip
    assert isinstance(args, argparse.Namespace)
    out = pytest_args(args, tmp_path / "pytest.ini")  # type: ignore[operator]
    joined = " ".join(out)
    assert "--proxy-wasm-peer-address 127.0.0.5:4000" in joined
    assert "--proxy-wasm-use-remote-address" in out
    assert "--proxy-wasm-xff-num-trusted-hops 2" in joined
    assert "--proxy-wasm-internal-address-cidr 10.0.0.0/8" in joined
    assert "--proxy-wasm-skip-xff-append" not in out
