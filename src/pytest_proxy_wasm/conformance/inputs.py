"""What the user tells ``check`` about the plugin: root id, VM id, callout answers, its own requests.

A scenario file (``--requests FILE``) lists requests every area sends besides the generated ones::

    requests:
      - method: GET
        path: /v2/
        headers: {authorization: "Bearer x"}     # a mapping, or a list of [name, value]
      - {method: POST, path: /api, body: '{"a": 1}', upstream_status: 201}
      - path: /health                                # only path is needed: method defaults to GET
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REQUEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "method": str,
    "path": str,
    "authority": str,
    "scheme": str,
    "headers": (dict, list),
    "body": (str, list),
    "trailers": (dict, list),
    "upstream_status": int,
    "upstream_headers": (dict, list),
    "upstream_body": str,
    # the client connection and the connection manager settings (docs/fidelity.md, "The client address")
    "peer_address": str,
    "use_remote_address": bool,
    "xff_num_trusted_hops": int,
    "skip_xff_append": bool,
    "internal_address_cidrs": list,
}
BOOL_KEYS = frozenset({"use_remote_address", "skip_xff_append"})


class InputError(ValueError):
    """A bad --request, --requests or --callout value (the message names the field)."""


def add_input_options(add: Callable[..., None]) -> None:
    add("--proxy-wasm-root-id", default="", metavar="ID", help="root id of the plugin under test")
    add("--proxy-wasm-vm-id", default="", metavar="ID", help="VM id of the plugin under test")
    add("--proxy-wasm-callout", action="append", default=[], metavar="CLUSTER=STATUS[:BODY]",
        help="answer HTTP callouts to CLUSTER (declared before the plugin starts)")  # fmt: skip
    add("--proxy-wasm-request", action="append", default=[], metavar="'METHOD PATH'",
        help="a request of your own every area sends besides the generated ones")  # fmt: skip
    add("--proxy-wasm-requests", default=None, metavar="FILE", help="a YAML scenario file of requests")
    add("--proxy-wasm-origin", default="", metavar="TEXT", help="where the module came from (for the report)")
    add_client_address_options(add)


def add_client_address_options(add: Callable[..., None]) -> None:
    """The client connection and connection manager settings every host of the run uses."""
    add("--proxy-wasm-peer-address", default=None, metavar="IP[:PORT]",
        help="the address the client connects from (default 127.0.0.1:45678)")  # fmt: skip
    add("--proxy-wasm-use-remote-address", action="store_true", default=False,
        help="Envoy's use_remote_address: the peer is the client, appended to x-forwarded-for")  # fmt: skip
    add("--proxy-wasm-xff-num-trusted-hops", type=int, default=None, metavar="N",
        help="Envoy's xff_num_trusted_hops")  # fmt: skip
    add("--proxy-wasm-skip-xff-append", action="store_true", default=False, help="Envoy's skip_xff_append")
    add("--proxy-wasm-internal-address-cidr", action="append", default=[], metavar="CIDR",
        help="Envoy's internal_address_config cidr_ranges entry; repeatable")  # fmt: skip


def client_address_options(config: pytest.Config) -> tuple[tuple[str, Any], ...]:
    """The HostOptions fields the client-address options set (checked: a bad one is a usage error)."""
    from ..host.options import HostOptions

    given: dict[str, Any] = {
        "peer_address": config.getoption("--proxy-wasm-peer-address", default=None),
        "use_remote_address": bool(config.getoption("--proxy-wasm-use-remote-address", default=False))
        or None,
        "xff_num_trusted_hops": config.getoption("--proxy-wasm-xff-num-trusted-hops", default=None),
        "skip_xff_append": bool(config.getoption("--proxy-wasm-skip-xff-append", default=False)) or None,
        "internal_address_cidrs": tuple(config.getoption("--proxy-wasm-internal-address-cidr", default=[]))
        or None,
    }
    fields = tuple((k, v) for k, v in given.items() if v is not None)
    try:
        HostOptions(**dict(fields)).client_defaults()
    except ValueError as exc:
        raise pytest.UsageError(f"--proxy-wasm-*: {exc}") from None
    return fields


def input_options(config: pytest.Config) -> dict[str, Any]:
    """Target keywords from the options; a bad value is a usage error naming it."""
    try:
        requests = [parse_request_line(v) for v in config.getoption("--proxy-wasm-request") or []]
        scenario = config.getoption("--proxy-wasm-requests")
        if scenario:
            requests += load_scenario(Path(scenario))
        callouts = [parse_callout(v) for v in config.getoption("--proxy-wasm-callout") or []]
    except (InputError, OSError) as exc:
        raise pytest.UsageError(str(exc)) from None
    return {
        "root_id": str(config.getoption("--proxy-wasm-root-id") or ""),
        "vm_id": str(config.getoption("--proxy-wasm-vm-id") or ""),
        "callouts": tuple(callouts),
        "requests": tuple(requests),
        "client_address": client_address_options(config),
    }


def parse_callout(value: str) -> tuple[str, int, str]:
    cluster, sep, rest = value.rpartition("=")
    status, _, body = rest.partition(":")
    if not sep or not cluster or not status.isdigit():
        raise InputError(f"--callout: expected CLUSTER=STATUS[:BODY], got {value!r}")
    return cluster, int(status), body


def parse_request_line(value: str) -> dict[str, Any]:
    """``'GET /v2/'`` -> ``{"method": "GET", "path": "/v2/"}``."""
    parts = value.split()
    if len(parts) != 2 or not parts[1].startswith("/"):
        raise InputError(f"--request: expected 'METHOD /PATH', got {value!r}")
    return {"method": parts[0].upper(), "path": parts[1]}


def _pairs(value: Any, where: str) -> list[tuple[str, str]]:
    items = value.items() if isinstance(value, dict) else value
    out = []
    for item in items:
        pair = list(item)
        if len(pair) != 2:
            raise InputError(f"{where}: each header is [name, value], got {item!r}")
        out.append((str(pair[0]), str(pair[1])))
    return out


def check_request(data: Any, where: str) -> dict[str, Any]:
    """One scenario request, validated: known keys, the right types, a path that starts with '/'."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with method, path, ..., got {data!r}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        kinds = REQUEST_KEYS.get(key)
        if kinds is None:
            raise InputError(f"{where}: unknown field {key!r}; fields: {', '.join(REQUEST_KEYS)}")
        if not isinstance(value, kinds) or (isinstance(value, bool) and key not in BOOL_KEYS):
            raise InputError(f"{where}.{key}: wrong type {type(value).__name__}")
        if key in ("headers", "trailers", "upstream_headers"):
            out[key] = _pairs(value, f"{where}.{key}")
        elif key == "body" and isinstance(value, list):
            out[key] = [str(chunk).encode() for chunk in value]
        else:
            out[key] = value
    if "path" not in out:
        raise InputError(f"{where}.path: missing (every request needs a path, e.g. path: /api)")
    if not out["path"].startswith("/"):
        raise InputError(f"{where}.path: must start with '/', got {out['path']!r}")
    out.setdefault("method", "GET")  # as --request and the README say: only path is needed
    return _checked_client_address(out, where)


def _checked_client_address(request: dict[str, Any], where: str) -> dict[str, Any]:
    """The client-address fields of a scenario request, checked as ``request()`` would check them."""
    from ..host.client_address import for_exchange
    from ..host.options import HostOptions

    names = ("peer_address", "use_remote_address", "xff_num_trusted_hops", "skip_xff_append")
    given = {k: request[k] for k in (*names, "internal_address_cidrs") if k in request}
    if "internal_address_cidrs" in given:
        request["internal_address_cidrs"] = [str(c) for c in given["internal_address_cidrs"]]
        given["internal_address_cidrs"] = request["internal_address_cidrs"]
    try:
        for_exchange(HostOptions().client_defaults(), given.pop("peer_address", None), **given)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return request


def load_scenario(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"--requests {path}: not YAML: {exc}") from None
    items = data.get("requests") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(f"--requests {path}: expected a 'requests' list of requests (see README, check)")
    return [check_request(item, f"{path.name}: requests[{i}]") for i, item in enumerate(items)]


def validate_check_inputs(
    plugin_config: str, vm_config: str, requests: Path | None, lines: list[str], callouts: list[str]
) -> None:
    """``check``'s inputs, read once before the suite starts: an InputError names the option, the file,
    the entry and the field."""
    for option, value in (("--plugin-config", plugin_config), ("--vm-config", vm_config)):
        if value.startswith("@"):
            try:
                Path(value[1:]).read_bytes()
            except OSError as exc:
                raise InputError(f"{option} {value}: cannot read {value[1:]}: {exc.strerror}") from None
    for line in lines:
        parse_request_line(line)
    for callout in callouts:
        parse_callout(callout)
    if requests is not None:
        try:
            load_scenario(requests)
        except OSError as exc:
            raise InputError(f"--requests {requests}: cannot read it: {exc.strerror}") from None
