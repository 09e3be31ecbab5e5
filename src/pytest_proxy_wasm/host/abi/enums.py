"""Proxy-Wasm enumerations (abi-spec section 3), upper-case members named as in the ABI."""

from __future__ import annotations

from enum import Enum, IntEnum


class WasmResult(IntEnum):
    OK = 0
    NOT_FOUND = 1
    BAD_ARGUMENT = 2
    SERIALIZATION_FAILURE = 3
    PARSE_FAILURE = 4
    BAD_EXPRESSION = 5
    INVALID_MEMORY_ACCESS = 6
    EMPTY = 7
    CAS_MISMATCH = 8
    RESULT_MISMATCH = 9
    INTERNAL_FAILURE = 10
    BROKEN_CONNECTION = 11
    UNIMPLEMENTED = 12


class LogLevel(IntEnum):
    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    CRITICAL = 5


class StreamType(IntEnum):
    HTTP_REQUEST = 0
    HTTP_RESPONSE = 1
    DOWNSTREAM = 2
    UPSTREAM = 3


class BufferType(IntEnum):
    HTTP_REQUEST_BODY = 0
    HTTP_RESPONSE_BODY = 1
    DOWNSTREAM_DATA = 2
    UPSTREAM_DATA = 3
    HTTP_CALL_RESPONSE_BODY = 4
    GRPC_RECEIVE_BUFFER = 5
    VM_CONFIGURATION = 6
    PLUGIN_CONFIGURATION = 7
    FOREIGN_FUNCTION_ARGUMENTS = 8
    REDIS_CALL_RESPONSE = 9  # Higress only (proxy_on_redis_call_response)


class MapType(IntEnum):
    HTTP_REQUEST_HEADERS = 0
    HTTP_REQUEST_TRAILERS = 1
    HTTP_RESPONSE_HEADERS = 2
    HTTP_RESPONSE_TRAILERS = 3
    GRPC_RECEIVE_INITIAL_METADATA = 4
    GRPC_RECEIVE_TRAILING_METADATA = 5
    HTTP_CALL_RESPONSE_HEADERS = 6
    HTTP_CALL_RESPONSE_TRAILERS = 7


class MetricType(IntEnum):
    COUNTER = 0
    GAUGE = 1
    HISTOGRAM = 2


class PeerType(IntEnum):
    UNKNOWN = 0
    LOCAL = 1
    REMOTE = 2


class Action(IntEnum):
    """What a plugin callback returned, as the test sees it."""

    CONTINUE = 0
    PAUSE = 1


class FilterHeadersStatus(IntEnum):
    """Envoy's view of a headers callback result (cpp-host convertVmCallResultToFilterHeadersStatus)."""

    CONTINUE = 0
    STOP_ITERATION = 1
    CONTINUE_AND_END_STREAM = 2
    STOP_ALL_ITERATION_AND_BUFFER = 3
    STOP_ALL_ITERATION_AND_WATERMARK = 4


class FilterDataStatus(IntEnum):
    CONTINUE = 0
    STOP_ITERATION_AND_BUFFER = 1
    STOP_ITERATION_AND_WATERMARK = 2
    STOP_ITERATION_NO_BUFFER = 3


class AbiVersion(Enum):
    V0_1_0 = "0.1.0"
    V0_2_0 = "0.2.0"
    V0_2_1 = "0.2.1"
    # Higress's SDKs' marker: 0.2.1 plus Higress-only hostcalls; only HostOptions(platform="higress")
    # accepts it, as upstream Envoy 1.40 refuses it (host/platforms.py).
    V0_2_100 = "0.2.100"

    @property
    def marker(self) -> str:
        return "proxy_abi_version_" + self.value.replace(".", "_")


class WasiErrno(IntEnum):
    SUCCESS = 0
    BADF = 8
    EXIST = 20
    FAULT = 21
    INVAL = 28
    NOENT = 44
    NOSYS = 52
    NOTDIR = 54
    NOTSUP = 58
    NOTCAPABLE = 76


class FailurePolicy(Enum):
    """Envoy's PluginConfig failure handling; LEGACY_FAIL_OPEN is the deprecated ``fail_open: true``."""

    FAIL_CLOSED = "FAIL_CLOSED"
    FAIL_OPEN = "FAIL_OPEN"
    FAIL_RELOAD = "FAIL_RELOAD"
    LEGACY_FAIL_OPEN = "LEGACY_FAIL_OPEN"
