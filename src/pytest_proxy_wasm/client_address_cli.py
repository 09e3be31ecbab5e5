"""The client-address flags of ``run`` and ``check``: the peer the client connects from and Envoy's
connection manager settings that decide the client address (docs/fidelity.md, "The client address")."""

from __future__ import annotations

import argparse
from typing import Any


def add_client_address_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("client address (Envoy's connection manager; default: Envoy's)")
    group.add_argument(
        "--peer-address",
        default=None,
        metavar="IP[:PORT]",
        help="the address the client connects from (default 127.0.0.1:45678; the Envoy backends can "
        "use any local address, e.g. 127.0.0.5)",
    )
    group.add_argument(
        "--use-remote-address",
        action="store_true",
        help="use_remote_address: the peer is the client and is appended to x-forwarded-for",
    )
    group.add_argument(
        "--xff-num-trusted-hops", type=int, default=None, metavar="N", help="xff_num_trusted_hops"
    )
    group.add_argument("--skip-xff-append", action="store_true", help="skip_xff_append")
    group.add_argument(
        "--internal-address-cidr",
        action="append",
        default=[],
        metavar="CIDR",
        help="internal_address_config cidr_ranges entry (repeatable); default none: no client is internal",
    )


def client_address_options(args: argparse.Namespace) -> dict[str, Any]:
    """The HostOptions fields the flags set (the others keep Envoy's defaults)."""
    given: dict[str, Any] = {
        "peer_address": getattr(args, "peer_address", None),
        "use_remote_address": True if getattr(args, "use_remote_address", False) else None,
        "xff_num_trusted_hops": getattr(args, "xff_num_trusted_hops", None),
        "skip_xff_append": True if getattr(args, "skip_xff_append", False) else None,
        "internal_address_cidrs": tuple(getattr(args, "internal_address_cidr", []) or ()) or None,
    }
    return {k: v for k, v in given.items() if v is not None}


def client_address_pytest_args(args: argparse.Namespace) -> list[str]:
    """The same settings as the ``--proxy-wasm-*`` options of the child pytest ``check`` runs."""
    options = client_address_options(args)
    out: list[str] = []
    if "peer_address" in options:
        out += ["--proxy-wasm-peer-address", str(options["peer_address"])]
    if options.get("use_remote_address"):
        out.append("--proxy-wasm-use-remote-address")
    if "xff_num_trusted_hops" in options:
        out += ["--proxy-wasm-xff-num-trusted-hops", str(options["xff_num_trusted_hops"])]
    if options.get("skip_xff_append"):
        out.append("--proxy-wasm-skip-xff-append")
    for cidr in options.get("internal_address_cidrs", ()):
        out += ["--proxy-wasm-internal-address-cidr", cidr]
    return out
