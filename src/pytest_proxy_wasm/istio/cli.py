"""The Istio subcommands of ``pytest-proxy-wasm``: ``chain``, ``push``, ``pull`` and YAML for ``run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import oci
from .chain import build_chain
from .fetch import Fetcher
from .hints import push_credentials
from .model import FetchError
from .validate import load_documents
from .workload import Workload, parse_workload

WORKLOAD_HELP = (
    "the proxy: comma-separated KEY=VALUE: ns, labels=NAME=VALUE (more labels as NAME=VALUE items, or "
    "label.NAME=VALUE), mode=CLIENT|SERVER, port, protocol=HTTP|TCP, kind=sidecar|gateway|waypoint, "
    "gateway-api=true|false, name (the Gateway), class (GatewayClass), services (a+b, waypoint), root-ns. "
    "Example: ns=default,labels=app=x,mode=SERVER,port=8080"
)


def _workload(text: str) -> Workload:
    try:
        return parse_workload(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise argparse.ArgumentTypeError(f"expected MAJOR.MINOR, got {text!r}")
    return int(major), int(minor)


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def is_yaml(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml")


def add_run_options(run: argparse.ArgumentParser) -> None:
    """Options ``run`` takes when its MODULE is a WasmPlugin YAML file."""
    group = run.add_argument_group("WasmPlugin YAML (when MODULE is a .yaml file)")
    group.add_argument("--workload", type=_workload, default=Workload(), help=WORKLOAD_HELP)
    _fetch_options(group)


def _fetch_options(group: Any) -> None:
    group.add_argument(
        "--map-host",
        type=_pair,
        action="append",
        default=[],
        metavar="HOST=TARGET",
        help="fetch from TARGET (127.0.0.1:PORT or http://127.0.0.1:PORT) instead of HOST",
    )
    group.add_argument(
        "--map-file",
        type=_pair,
        action="append",
        default=[],
        metavar="PATH=LOCAL",
        help="file:// PATH is LOCAL",
    )
    group.add_argument(
        "--secret",
        type=_pair,
        action="append",
        default=[],
        metavar="NS/NAME=FILE",
        help="a .dockerconfigjson file for imagePullSecret NAME in namespace NS",
    )
    group.add_argument("--cache-dir", type=Path, default=None, help="module cache (default: a temporary dir)")
    group.add_argument("--istio-version", type=_version, default=(1, 30), metavar="MAJOR.MINOR")


def load_yaml(backend: Any, args: argparse.Namespace) -> list[Any]:
    """Load ``args.module`` (WasmPlugin YAML) into ``backend``; the HTTP chain's handles."""
    from .loader import load_wasmplugins

    fetcher = Fetcher(
        cache_dir=args.cache_dir,
        hosts=dict(args.map_host),
        secrets={name: Path(path).read_bytes() for name, path in args.secret},
    )
    loaded = load_wasmplugins(
        backend,
        args.module,
        args.workload,
        fetcher,
        files=dict(args.map_file),
        istio_version=args.istio_version,
    )
    print(loaded.explain(), file=sys.stderr)
    return loaded.http_handles


def add_chain_parser(sub: Any) -> None:
    chain = sub.add_parser(
        "chain", help="show the filter chain Istio builds from WasmPlugin YAML for a workload"
    )
    chain.add_argument("plugins", type=Path, help="WasmPlugin YAML (one or more documents)")
    chain.add_argument("--workload", type=_workload, default=Workload(), help=WORKLOAD_HELP)
    chain.add_argument("--istio-version", type=_version, default=(1, 30), metavar="MAJOR.MINOR")
    chain.set_defaults(handler=chain_command)


def chain_command(args: argparse.Namespace) -> int:
    documents = load_documents(args.plugins)
    print(build_chain(documents.plugins, args.workload, istio_version=args.istio_version).explain())
    for note in documents.skipped:
        print(note)
    return 0


def _credentials(args: argparse.Namespace) -> tuple[str, str] | None:
    if not args.username:
        return None
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else ""
    return args.username, password


def _auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", "-u", default="")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    parser.add_argument("--insecure", action="store_true", help="skip TLS verification")


def add_push_parser(sub: Any) -> None:
    push = sub.add_parser("push", help="package a module as an Istio-compatible OCI image and push it")
    push.add_argument("module", type=Path, help="the compiled plugin (.wasm)")
    push.add_argument("reference", help="oci://HOST:PORT/REPO:TAG")
    push.add_argument(
        "--format", choices=oci.FORMATS, default="artifact", help="image format (default artifact)"
    )
    _auth_options(push)
    push.set_defaults(handler=push_command)


def push_command(args: argparse.Namespace) -> int:
    digest = oci.push(
        args.module.read_bytes(), args.reference, args.format, _credentials(args), insecure=args.insecure
    )
    print(digest)
    print(f"WasmPlugin sha256: {digest.removeprefix('sha256:')}", file=sys.stderr)
    return 0


def add_pull_parser(sub: Any) -> None:
    pull = sub.add_parser("pull", help="pull a Wasm module from an OCI image (any of the three formats)")
    pull.add_argument("reference", help="oci://HOST:PORT/REPO:TAG or ...@sha256:DIGEST")
    pull.add_argument("-o", "--output", type=Path, required=True, help="where to write the module")
    _auth_options(pull)
    pull.set_defaults(handler=pull_command)


def pull_command(args: argparse.Namespace) -> int:
    credentials = _credentials(args)
    try:
        pulled = oci.pull(args.reference, credentials, insecure=args.insecure)
    except FetchError as exc:
        if "refused" not in str(exc) or "HTTP 401" not in str(exc):
            raise
        hint = push_credentials(oci.parse_reference(args.reference).registry, credentials is None)
        raise FetchError(str(exc) + hint.replace("push", "pull"), exc.result) from None
    args.output.write_bytes(pulled.module)
    print(pulled.digest)
    print(f"format: {pulled.format}, {len(pulled.module)} bytes -> {args.output}", file=sys.stderr)
    return 0


def add_subcommands(sub: Any) -> None:
    add_chain_parser(sub)
    add_push_parser(sub)
    add_pull_parser(sub)
