"""The one table of host functions and plugin callbacks.

It drives import registration, the capability list, the coverage report and ``docs/hostcalls.md``.
Each hostcall names its spec area; the implementation lives in ``host/hostcalls/<area>.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .enums import AbiVersion

I32 = "i32"
I64 = "i64"
ALL = frozenset(AbiVersion)
V010 = frozenset({AbiVersion.V0_1_0})
V02X = frozenset({AbiVersion.V0_2_0, AbiVersion.V0_2_1, AbiVersion.V0_2_100})
V021 = frozenset({AbiVersion.V0_2_1, AbiVersion.V0_2_100})
# Higress-only imports and callbacks (higress-group/proxy-wasm-go-sdk proxywasm/internal/abi_hostcalls.go):
# linked only for the 0.2.100 marker, which only HostOptions(platform="higress") accepts.
HIGRESS = frozenset({AbiVersion.V0_2_100})
WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")


@dataclass(frozen=True)
class Hostcall:
    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    area: str
    versions: frozenset[AbiVersion] = ALL
    note: str = ""

    @property
    def is_wasi(self) -> bool:
        return self.area == "wasi"

    @property
    def modules(self) -> tuple[str, ...]:
        return WASI_MODULES if self.is_wasi else ("env",)


def _h(
    name: str,
    n: int | tuple[str, ...],
    area: str,
    versions: frozenset[AbiVersion] = ALL,
    note: str = "",
    result: bool = True,
) -> Hostcall:
    params = (I32,) * n if isinstance(n, int) else n
    return Hostcall(name, params, (I32,) if result else (), area, versions, note)


HOSTCALLS: tuple[Hostcall, ...] = (
    # Logging
    _h("proxy_log", 3, "logging"),
    _h("proxy_get_log_level", 1, "logging", V021),
    # Clocks and timers
    _h("proxy_get_current_time_nanoseconds", 1, "timers", note="virtual clock"),
    _h("proxy_set_tick_period_milliseconds", 1, "timers"),
    # Configuration (0.1.0) and context handling
    _h("proxy_get_configuration", 2, "configuration", V010),
    _h("proxy_set_effective_context", 1, "contexts"),
    _h("proxy_done", 0, "contexts"),
    _h("proxy_call_foreign_function", 6, "foreign_functions"),
    # Buffers
    _h("proxy_get_buffer_bytes", 5, "buffers"),
    _h("proxy_get_buffer_status", 3, "buffers"),
    _h("proxy_set_buffer_bytes", 5, "buffers"),
    # HTTP fields
    _h("proxy_get_header_map_pairs", 3, "http_fields"),
    _h("proxy_set_header_map_pairs", 3, "http_fields"),
    _h("proxy_get_header_map_value", 5, "http_fields"),
    _h("proxy_add_header_map_value", 5, "http_fields"),
    _h("proxy_replace_header_map_value", 5, "http_fields"),
    _h("proxy_remove_header_map_value", 3, "http_fields"),
    _h("proxy_get_header_map_size", 2, "http_fields", note="Envoy: byteSize, not the entry count"),
    # Stream control and local responses
    _h("proxy_continue_request", 0, "stream_control", V010),
    _h("proxy_continue_response", 0, "stream_control", V010),
    _h("proxy_clear_route_cache", 0, "stream_control", V010),
    _h("proxy_continue_stream", 1, "stream_control", V02X),
    _h("proxy_close_stream", 1, "stream_control", V02X),
    _h("proxy_send_local_response", 8, "stream_control"),
    _h("proxy_get_status", 3, "stream_control"),
    # HTTP calls
    _h("proxy_http_call", 10, "http_calls"),
    # gRPC calls
    _h("proxy_grpc_call", 12, "grpc_calls"),
    _h("proxy_grpc_stream", 9, "grpc_calls"),
    _h("proxy_grpc_send", 4, "grpc_calls"),
    _h("proxy_grpc_cancel", 1, "grpc_calls"),
    _h("proxy_grpc_close", 1, "grpc_calls"),
    # Shared key-value store and queues
    _h("proxy_set_shared_data", 5, "shared_data"),
    _h("proxy_get_shared_data", 5, "shared_data"),
    _h("proxy_register_shared_queue", 3, "shared_queues"),
    _h("proxy_resolve_shared_queue", 5, "shared_queues"),
    _h("proxy_enqueue_shared_queue", 3, "shared_queues"),
    _h("proxy_dequeue_shared_queue", 3, "shared_queues"),
    # Metrics
    _h("proxy_define_metric", 4, "metrics"),
    _h("proxy_increment_metric", (I32, I64), "metrics"),
    _h("proxy_record_metric", (I32, I64), "metrics"),
    _h("proxy_get_metric", 2, "metrics"),
    # Properties
    _h("proxy_get_property", 4, "properties"),
    _h("proxy_set_property", 4, "properties"),
    # Higress only: Redis calls (host/redis.py) and its other extensions
    _h("proxy_redis_init", 7, "redis_calls", HIGRESS, note="Higress; from sources"),
    _h("proxy_redis_call", 5, "redis_calls", HIGRESS, note="Higress; from sources"),
    _h("proxy_inject_encoded_data_to_filter_chain", 3, "higress", HIGRESS, note="Higress"),
    _h("proxy_get_upstream_hosts", 2, "higress", HIGRESS, note="Higress"),
    _h("proxy_set_upstream_override_host", 2, "higress", HIGRESS, note="Higress"),
    # Emscripten / libc shims the reference host links in env
    _h("pthread_equal", 2, "runtime_shims"),
    _h("emscripten_notify_memory_growth", 1, "runtime_shims", result=False),
    # WASI preview 1 (both module names)
    _h("fd_write", 4, "wasi"),
    _h("fd_pwrite", (I32, I32, I32, I64, I32), "wasi"),
    _h("fd_read", 4, "wasi"),
    _h("fd_pread", (I32, I32, I32, I64, I32), "wasi"),
    _h("fd_seek", (I32, I64, I32, I32), "wasi"),
    _h("fd_close", 1, "wasi"),
    _h("fd_fdstat_get", 2, "wasi"),
    _h("fd_fdstat_set_flags", 2, "wasi"),
    _h("fd_fdstat_set_rights", (I32, I64, I64), "wasi"),
    _h("fd_prestat_get", 2, "wasi"),
    _h("fd_prestat_dir_name", 3, "wasi"),
    _h("fd_filestat_get", 2, "wasi"),
    _h("fd_filestat_set_size", (I32, I64), "wasi"),
    _h("fd_filestat_set_times", (I32, I64, I64, I32), "wasi"),
    _h("fd_advise", (I32, I64, I64, I32), "wasi"),
    _h("fd_allocate", (I32, I64, I64), "wasi"),
    _h("fd_datasync", 1, "wasi"),
    _h("fd_sync", 1, "wasi"),
    _h("fd_tell", 2, "wasi"),
    _h("fd_readdir", (I32, I32, I32, I64, I32), "wasi"),
    _h("fd_renumber", 2, "wasi"),
    _h("path_open", (I32, I32, I32, I32, I32, I64, I64, I32, I32), "wasi"),
    _h("path_filestat_get", 5, "wasi"),
    _h("path_filestat_set_times", (I32, I32, I32, I32, I64, I64, I32), "wasi"),
    _h("path_create_directory", 3, "wasi"),
    _h("path_remove_directory", 3, "wasi"),
    _h("path_unlink_file", 3, "wasi"),
    _h("path_rename", 6, "wasi"),
    _h("path_readlink", 6, "wasi"),
    _h("path_link", 7, "wasi", note="WASI signature; cpp-host registers 6 params"),
    _h("path_symlink", 5, "wasi", note="WASI signature; cpp-host registers 4 params"),
    _h("environ_sizes_get", 2, "wasi"),
    _h("environ_get", 2, "wasi"),
    _h("args_sizes_get", 2, "wasi"),
    _h("args_get", 2, "wasi"),
    _h("clock_time_get", (I32, I64, I32), "wasi", note="virtual clock"),
    _h("clock_res_get", 2, "wasi"),
    _h("random_get", 2, "wasi", note="seedable"),
    _h("sched_yield", 0, "wasi"),
    _h("poll_oneoff", 4, "wasi"),
    _h("proc_exit", 1, "wasi", result=False, note="recorded as a named failure"),
    _h("sock_accept", 3, "wasi"),
    _h("sock_recv", 6, "wasi"),
    _h("sock_send", 5, "wasi"),
    _h("sock_shutdown", 2, "wasi"),
)

HOSTCALLS_BY_NAME: dict[str, Hostcall] = {h.name: h for h in HOSTCALLS}


@dataclass(frozen=True)
class Callback:
    """A function the plugin exports and the host calls."""

    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    area: str
    versions: frozenset[AbiVersion] = ALL
    note: str = ""


def _c(
    name: str, n: int, area: str, result: bool = False, versions: frozenset[AbiVersion] = ALL, note: str = ""
) -> Callback:
    return Callback(name, (I32,) * n, (I32,) if result else (), area, versions, note)


CALLBACKS: tuple[Callback, ...] = (
    _c("_initialize", 0, "start"),
    Callback("main", (I32, I32), (I32,), "start", note="called as main(0, 0) after _initialize"),
    Callback("__main_void", (), (I32,), "start"),
    _c("_start", 0, "start", note="only when _initialize is not exported"),
    _c("malloc", 1, "memory", True, note="preferred allocator, as in cpp-host"),
    _c("proxy_on_memory_allocate", 1, "memory", True),
    _c("proxy_on_context_create", 2, "contexts"),
    _c("proxy_on_vm_start", 2, "contexts", True),
    _c("proxy_validate_configuration", 2, "contexts", True),
    _c("proxy_on_configure", 2, "contexts", True),
    _c("proxy_on_tick", 1, "timers"),
    _c("proxy_on_queue_ready", 2, "shared_queues"),
    _c("proxy_on_foreign_function", 3, "foreign_functions", versions=frozenset(V02X)),
    _c("proxy_on_new_connection", 1, "tcp", True),
    _c("proxy_on_downstream_data", 3, "tcp", True),
    _c("proxy_on_upstream_data", 3, "tcp", True),
    _c("proxy_on_downstream_connection_close", 2, "tcp"),
    _c("proxy_on_upstream_connection_close", 2, "tcp"),
    _c("proxy_on_request_headers", 2, "http", True, V010),
    _c("proxy_on_request_headers", 3, "http", True, V02X),
    _c("proxy_on_request_body", 3, "http", True),
    _c("proxy_on_request_trailers", 2, "http", True),
    _c("proxy_on_request_metadata", 2, "http", True),
    _c("proxy_on_response_headers", 2, "http", True, V010),
    _c("proxy_on_response_headers", 3, "http", True, V02X),
    _c("proxy_on_response_body", 3, "http", True),
    _c("proxy_on_response_trailers", 2, "http", True),
    _c("proxy_on_response_metadata", 2, "http", True),
    _c("proxy_on_http_call_response", 5, "http_calls"),
    _c("proxy_on_redis_call_response", 4, "redis_calls", versions=HIGRESS, note="Higress; from sources"),
    _c("proxy_on_grpc_receive_initial_metadata", 3, "grpc_calls"),
    _c("proxy_on_grpc_receive", 3, "grpc_calls"),
    _c("proxy_on_grpc_receive_trailing_metadata", 3, "grpc_calls"),
    _c("proxy_on_grpc_close", 3, "grpc_calls"),
    _c("proxy_on_done", 1, "contexts", True),
    _c("proxy_on_log", 1, "contexts"),
    _c("proxy_on_delete", 1, "contexts"),
)


def callbacks_for(version: AbiVersion) -> dict[str, Callback]:
    return {c.name: c for c in CALLBACKS if version in c.versions}


def hostcalls_for(version: AbiVersion) -> dict[tuple[str, str], Hostcall]:
    """(module, name) -> hostcall, for the imports the reference host links for ``version``."""
    return {(m, h.name): h for h in HOSTCALLS if version in h.versions for m in h.modules}
