"""Hostcall area shared queues: register, resolve, enqueue, dequeue, on_queue_ready (abi-spec 2.6, 6.5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wat_builder import BAD_PTR, Probe, guest_bytes, record, records, slot, slots, u32

from pytest_proxy_wasm import Host

OK, NOT_FOUND, IMA, EMPTY = 0, 1, 6, 7
NOT_RUN = 0xFFFFFFFF
Wat = Callable[[str], bytes]


def register(probe: Probe, name: str, ret: int = 16) -> str:
    return f"(call $proxy_register_shared_queue {probe.s(name)} (i32.const {ret}))"


def resolve(probe: Probe, vm_id: str, name: str, ret: int = 16) -> str:
    return f"(call $proxy_resolve_shared_queue {probe.s(vm_id)} {probe.s(name)} (i32.const {ret}))"


def enqueue(probe: Probe, token: int | str, value: str) -> str:
    token_expr = token if isinstance(token, str) else f"(i32.const {token})"
    return f"(call $proxy_enqueue_shared_queue {token_expr} {probe.s(value)})"


def dequeue(token: int | str, ret: int) -> str:
    token_expr = token if isinstance(token, str) else f"(i32.const {token})"
    return f"(call $proxy_dequeue_shared_queue {token_expr} (i32.const {ret}) (i32.const {ret + 4}))"


def test_register_resolve_tokens(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                register(probe, "q", 16),
                register(probe, "q", 20),  # same name: same token
                register(probe, "other", 24),
                resolve(probe, "", "q", 28),  # empty vm_id: own
                resolve(probe, "mine", "other", 32),
                resolve(probe, "", "absent", 36),
                resolve(probe, "elsewhere", "q", 40),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), vm_id="mine", name="reg")
    assert slots(plugin, 7) == [OK, OK, OK, OK, OK, NOT_FOUND, NOT_FOUND]
    assert [u32(plugin, a) for a in (16, 20, 24, 28, 32)] == [1, 1, 2, 1, 2]
    assert u32(plugin, 36) == 0  # NOT_FOUND writes nothing
    queue = proxy_wasm_host.queues.by_key[("mine", b"q")]
    assert (queue.token, queue.owner) == (1, plugin.root)


def test_enqueue_dequeue_fifo_empty_and_unknown(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                register(probe, "q", 16),
                dequeue(1, 32),  # nothing queued yet
                enqueue(probe, 1, "first"),
                enqueue(probe, 1, "second"),
                enqueue(probe, 1, ""),
                dequeue(1, 40),
                dequeue(1, 48),
                dequeue(1, 56),
                dequeue(1, 64),
                enqueue(probe, 9, "x"),  # unknown token
                dequeue(9, 72),
                dequeue(0, 72),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="fifo")
    assert slots(plugin, 12) == [OK, EMPTY, OK, OK, OK, OK, OK, OK, EMPTY, NOT_FOUND, NOT_FOUND, NOT_FOUND]
    assert guest_bytes(plugin, 40, 44) == b"first"
    assert guest_bytes(plugin, 48, 52) == b"second"
    assert (u32(plugin, 56), u32(plugin, 60)) == (0, 0)  # an empty item is the null pair
    assert len(proxy_wasm_host.scheduler) == 3  # one notification per successful enqueue


@pytest.mark.parametrize(
    ("call", "stored"),
    [
        (f"(call $proxy_register_shared_queue (i32.const {BAD_PTR}) (i32.const 1) (i32.const 16))", False),
        # cpp-host registers before writing the token: the queue exists although the call failed
        (f"(call $proxy_register_shared_queue (i32.const 1024) (i32.const 1) (i32.const {BAD_PTR}))", True),
        (
            f"(call $proxy_resolve_shared_queue (i32.const {BAD_PTR}) (i32.const 1) (i32.const 1024)"
            " (i32.const 1) (i32.const 16))",
            False,
        ),
        (
            f"(call $proxy_resolve_shared_queue (i32.const 0) (i32.const 0) (i32.const {BAD_PTR})"
            " (i32.const 1) (i32.const 16))",
            False,
        ),
    ],
    ids=["register-name", "register-ret", "resolve-vm-id", "resolve-name"],
)
def test_register_resolve_bad_memory(proxy_wasm_host: Host, wat: Wat, call: str, stored: bool) -> None:
    probe = Probe()
    probe.ptr("q")
    probe.on("proxy_on_vm_start", records([call]))
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ima")
    assert slots(plugin, 1) == [IMA]
    assert (("", b"q") in proxy_wasm_host.queues.by_key) is stored


def test_resolve_bad_return_pointer(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [register(probe, "q"), resolve(probe, "", "q", BAD_PTR), resolve(probe, "", "absent", BAD_PTR)]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ima")
    assert slots(plugin, 3) == [OK, IMA, NOT_FOUND]  # lookup first, then the write


def test_enqueue_dequeue_bad_memory(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                register(probe, "q"),
                f"(call $proxy_enqueue_shared_queue (i32.const 1) (i32.const {BAD_PTR}) (i32.const 3))",
                f"(call $proxy_enqueue_shared_queue (i32.const 9) (i32.const {BAD_PTR}) (i32.const 3))",
                enqueue(probe, 1, "lost"),
                f"(call $proxy_dequeue_shared_queue (i32.const 1) (i32.const {BAD_PTR}) (i32.const 20))",
                dequeue(1, 24),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ima")
    # memory is checked before the token; a failed dequeue write still consumed the item (cpp-host)
    assert slots(plugin, 6) == [OK, IMA, IMA, OK, IMA, EMPTY]
    assert len(proxy_wasm_host.scheduler) == 1  # only the good enqueue notifies


def two_roots_probe(pause: bool = False) -> Probe:
    """Root 1 ("reader") registers "q"; root 2 ("writer") resolves it; the writer's streams enqueue.

    on_queue_ready stores (root id, token) in slots 10, 11, dequeues into 64.. (status in slot 12).
    on_request_headers stores what slot 10 held right after its enqueue in slot 21.
    """
    probe = Probe()
    probe.on(
        "proxy_on_configure",
        "(if (i32.eq (local.get $p0) (i32.const 1)) (then "
        + record(0, register(probe, "q", 16))
        + ") (else "
        + record(1, resolve(probe, "", "q", 20))
        + "))",
    )
    queue_ready = [
        f"(i32.store (i32.const {slot(10)}) (local.get $p0))",
        f"(i32.store (i32.const {slot(11)}) (local.get $p1))",
        record(12, dequeue("(local.get $p1)", 64)),
    ]
    if pause:  # resume the paused stream (context 3, the writer's first stream) from the queue callback
        queue_ready += [
            record(13, "(call $proxy_set_effective_context (i32.const 3))"),
            record(14, "(call $proxy_continue_stream (i32.const 0))"),
        ]
    probe.on("proxy_on_queue_ready", "\n    ".join(queue_ready))
    probe.on(
        "proxy_on_request_headers",
        record(20, enqueue(probe, "(i32.load (i32.const 20))", "hello"))
        + f"\n    (i32.store (i32.const {slot(21)}) (i32.load (i32.const {slot(10)})))",
        ret=1 if pause else 0,
    )
    return probe


def test_queue_ready_reaches_the_registering_root_after_the_callback(proxy_wasm_host: Host, wat: Wat) -> None:
    code = wat(two_roots_probe().wat())
    reader = proxy_wasm_host.load_plugin(code, root_id="reader", name="reader")
    writer = proxy_wasm_host.load_plugin(code, root_id="writer", name="writer")
    assert writer.vm is reader.vm
    assert (reader.root.id, writer.root.id) == (1, 2)
    assert slots(reader, 2) == [OK, OK]
    assert (u32(reader, 16), u32(reader, 20)) == (1, 1)

    outcome = proxy_wasm_host.request(writer)
    assert outcome.status == 200
    assert slots(writer, 2, first=20) == [OK, NOT_RUN]  # not delivered inside the enqueuing callback
    # ...but before the exchange ends, as Envoy's dispatcher runs the posted notification
    assert writer.vm.calls["proxy_on_queue_ready"] == 1
    assert slots(reader, 3, first=10) == [reader.root.id, 1, OK]  # the reader root, not the writer
    assert guest_bytes(reader, 64, 68) == b"hello"
    assert len(proxy_wasm_host.scheduler) == 0
    assert not proxy_wasm_host.run_pending()


def test_run_pending_delivers_one_notification_per_enqueue(proxy_wasm_host: Host, wat: Wat) -> None:
    code = wat(two_roots_probe().wat())
    reader = proxy_wasm_host.load_plugin(code, root_id="reader")
    writer = proxy_wasm_host.load_plugin(code, root_id="writer")
    proxy_wasm_host.request(writer)
    assert reader.vm.calls["proxy_on_queue_ready"] == 1  # delivered before the exchange ended
    assert slots(reader, 1, first=12) == [OK]
    proxy_wasm_host.request(writer)
    assert slots(reader, 1, first=12) == [OK]
    assert not proxy_wasm_host.run_pending()
    assert reader.vm.calls["proxy_on_queue_ready"] == 2
    assert not proxy_wasm_host.queues.by_token[1].items


def test_queue_ready_intents_apply_after_the_callback(proxy_wasm_host: Host, wat: Wat) -> None:
    """A stream paused in on_request_headers is resumed by the queue callback (host.after_callback)."""
    code = wat(two_roots_probe(pause=True).wat())
    reader = proxy_wasm_host.load_plugin(code, root_id="reader")
    writer = proxy_wasm_host.load_plugin(code, root_id="writer")
    outcome = proxy_wasm_host.request(writer)
    assert slots(reader, 5, first=10) == [reader.root.id, 1, OK, OK, OK]
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    assert not outcome.hung


def test_reregistering_moves_the_owner(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on("proxy_on_configure", record(0, register(probe, "q", 16)))
    probe.on("proxy_on_queue_ready", f"(i32.store (i32.const {slot(10)}) (local.get $p0))")
    probe.on("proxy_on_request_headers", record(1, enqueue(probe, 1, "m")))
    code = wat(probe.wat())
    first = proxy_wasm_host.load_plugin(code, root_id="first")
    second = proxy_wasm_host.load_plugin(code, root_id="second")
    assert u32(first, 16) == 1
    proxy_wasm_host.request(first)
    proxy_wasm_host.advance(0)
    assert slots(first, 1, first=10) == [second.root.id]
    assert proxy_wasm_host.queues.by_token[1].owner is second.root


def test_queues_across_vm_ids(proxy_wasm_host: Host, wat: Wat) -> None:
    owner_probe = Probe()
    owner_probe.on("proxy_on_vm_start", record(0, register(owner_probe, "q", 16)))
    owner_probe.on("proxy_on_queue_ready", record(10, dequeue("(local.get $p1)", 64)))
    sender_probe = Probe()
    sender_probe.on(
        "proxy_on_vm_start",
        records(
            [
                resolve(sender_probe, "", "q", 16),  # own vm_id "b": not there
                resolve(sender_probe, "a", "q", 20),
                enqueue(sender_probe, "(i32.load (i32.const 20))", "cross"),
            ]
        ),
    )
    owner = proxy_wasm_host.load_plugin(wat(owner_probe.wat()), vm_id="a", name="owner")
    sender = proxy_wasm_host.load_plugin(wat(sender_probe.wat()), vm_id="b", name="sender")
    assert sender.vm is not owner.vm
    assert slots(sender, 3) == [NOT_FOUND, OK, OK]
    assert u32(sender, 20) == 1
    assert slots(owner, 1, first=10) == [NOT_RUN]
    proxy_wasm_host.advance(0)
    assert slots(owner, 1, first=10) == [OK]
    assert guest_bytes(owner, 64, 68) == b"cross"


def test_no_delivery_to_a_failed_vm(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on("proxy_on_configure", record(0, register(probe, "q", 16)))
    probe.on("proxy_on_queue_ready", f"(i32.store (i32.const {slot(10)}) (local.get $p0))")
    probe.on("proxy_on_request_headers", record(1, enqueue(probe, 1, "m")) + "\n    unreachable")
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="trap")
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 503
    assert plugin.failed is not None
    assert slots(plugin, 2) == [OK, OK]
    proxy_wasm_host.advance(0)  # the notification is dropped, not an error
    assert slots(plugin, 1, first=10) == [NOT_RUN]
    assert "proxy_on_queue_ready" not in plugin.vm.calls


def test_a_stream_registers_for_its_root(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", records([register(probe, "q", 16), enqueue(probe, 1, "m")]))
    probe.on("proxy_on_queue_ready", f"(i32.store (i32.const {slot(10)}) (local.get $p0))")
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="stream")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [OK, OK]
    assert proxy_wasm_host.queues.by_token[1].owner is plugin.root
    proxy_wasm_host.advance(0)
    assert slots(plugin, 1, first=10) == [plugin.root.id]
