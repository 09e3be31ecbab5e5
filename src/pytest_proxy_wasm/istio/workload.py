"""The workload a chain is built for, and the ``--workload`` flag that describes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .enums import WorkloadMode
from .model import DEFAULT_NAMESPACE, ROOT_NAMESPACE

Kind = Literal["sidecar", "gateway", "waypoint"]
# Istio's gateway Deployments (istio-ingressgateway, istio-egressgateway) carry ``istio: <this>``.
GATEWAY_LABELS = ("ingressgateway", "egressgateway")
KEYS = ("ns", "namespace", "labels", "label", "mode", "port", "protocol", "kind", "name", "class",
        "services", "root-ns", "gateway-api")  # fmt: skip


@dataclass(frozen=True)
class Workload:
    """A proxy and the traffic direction whose chain is built.

    ``kind``: ``sidecar`` (and classic ingress/egress gateway Deployments when ``gateway_api`` is false),
    ``gateway`` or ``waypoint``. ``mode``: CLIENT (outbound) or SERVER (inbound); gateways are always
    CLIENT and waypoints SERVER. ``port``: the service port (outbound), the container target port
    (inbound) or the Gateway server port; waypoints use 0. ``name``/``gateway_class``: the Gateway
    resource (Gateway API gateways and waypoints); ``services``: Services/ServiceEntries bound to a waypoint.
    """

    namespace: str = DEFAULT_NAMESPACE
    labels: Mapping[str, str] = field(default_factory=dict)
    mode: WorkloadMode = WorkloadMode.SERVER
    port: int = 0
    protocol: Literal["HTTP", "TCP"] = "HTTP"
    kind: Kind = "sidecar"
    gateway_api: bool = False
    name: str = ""
    gateway_class: str = ""
    services: tuple[str, ...] = ()
    root_namespace: str = ROOT_NAMESPACE
    assumed: str = ""  # what parse_workload inferred and did not get told (said in describe())

    @property
    def traffic_mode(self) -> WorkloadMode:
        if self.kind == "gateway":
            return WorkloadMode.CLIENT
        if self.kind == "waypoint":
            return WorkloadMode.SERVER
        return self.mode

    @property
    def match_port(self) -> int:
        return 0 if self.kind == "waypoint" and self.protocol == "HTTP" else self.port

    def describe(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels.items()) or "none"
        where = self.kind + (f" {self.name}" if self.name else "")
        return (
            f"{where} in namespace {self.namespace} (labels: {labels}), "
            f"{self.traffic_mode.name} {self.protocol} port {self.match_port}"
        ) + (f"\n  note: {self.assumed}" if self.assumed else "")


def parse_workload(text: str) -> Workload:
    """``ns=default,labels=app=x,version=v1,mode=SERVER,port=8080,protocol=HTTP,kind=sidecar``.

    Items are comma-separated ``key=value``; an item whose key is not a known one is another label
    (so ``labels=app=x,version=v1`` gives two labels); ``label.KEY=V`` forces a label named like a
    known key. Keys: ns, labels, mode (CLIENT|SERVER), port, protocol (HTTP|TCP), kind
    (sidecar|gateway|waypoint), gateway-api (true|false), name, class, services (a+b), root-ns.
    """
    values: dict[str, str] = {}
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--workload item {item!r} is not KEY=VALUE")
        if key.startswith("label."):
            labels[key[6:]] = value
        elif key in ("labels", "label"):
            lkey, lsep, lvalue = value.partition("=")
            if not lsep:
                raise ValueError(f"--workload {item!r}: labels take NAME=VALUE")
            labels[lkey] = lvalue
        elif key in KEYS:
            values[key] = value
        else:
            labels[key] = value
    mode_text = values.get("mode", "SERVER").upper()
    if mode_text not in ("CLIENT", "SERVER"):
        raise ValueError(f"--workload mode must be CLIENT or SERVER, got {mode_text}")
    protocol = values.get("protocol", "HTTP").upper()
    if protocol not in ("HTTP", "TCP"):
        raise ValueError(f"--workload protocol must be HTTP or TCP, got {protocol}")
    kind = values.get("kind", "sidecar")
    assumed = ""
    if "kind" not in values and labels.get("istio") in GATEWAY_LABELS:
        # Selection itself only compares labels, but a gateway's traffic is CLIENT and its chain differs.
        kind = "gateway"
        assumed = (
            f"kind=gateway assumed from label istio={labels['istio']} (Istio's classic gateway "
            "Deployments carry it; a gateway's traffic is CLIENT); pass kind=sidecar if this is a sidecar"
        )
    if kind not in ("sidecar", "gateway", "waypoint"):
        raise ValueError(f"--workload kind must be sidecar, gateway or waypoint, got {kind}")
    port = values.get("port", "0")
    if not port.isdigit():
        raise ValueError(f"--workload port must be a number, got {port}")
    return Workload(
        namespace=values.get("ns") or values.get("namespace") or DEFAULT_NAMESPACE,
        labels=labels,
        mode=WorkloadMode[mode_text],
        port=int(port),
        protocol="TCP" if protocol == "TCP" else "HTTP",
        kind="gateway" if kind == "gateway" else "waypoint" if kind == "waypoint" else "sidecar",
        gateway_api=values.get("gateway-api", "true" if kind == "waypoint" else "false").lower() == "true",
        name=values.get("name", ""),
        gateway_class=values.get("class", "istio-waypoint" if kind == "waypoint" else ""),
        services=tuple(s for s in values.get("services", "").split("+") if s),
        root_namespace=values.get("root-ns", ROOT_NAMESPACE),
        assumed=assumed,
    )
