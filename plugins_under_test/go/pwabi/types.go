// Package pwabi is a small, self-contained binding of the Proxy-Wasm ABI
// (0.2.x host functions; marker proxy_abi_version_0_2_0) for
// the standard Go toolchain (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared).
//
// It exists because the upstream Go SDK could not be fetched in the build
// environment; see ../README.md. Callbacks are exported with //go:wasmexport
// and host functions imported with //go:wasmimport from module "env".
//
// A plugin registers its root-context factory from an init() function (in
// c-shared mode main.main is never run; the host must call _initialize first).
package pwabi

// Status is the result code every host function returns.
type Status uint32

const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusBadExpression        Status = 5
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCasMismatch          Status = 8
	StatusResultMismatch       Status = 9
	StatusInternalFailure      Status = 10
	StatusBrokenConnection     Status = 11
	StatusUnimplemented        Status = 12
)

var statusNames = map[Status]string{
	StatusOK: "OK", StatusNotFound: "NOT_FOUND", StatusBadArgument: "BAD_ARGUMENT",
	StatusSerializationFailure: "SERIALIZATION_FAILURE", StatusParseFailure: "PARSE_FAILURE",
	StatusBadExpression: "BAD_EXPRESSION", StatusInvalidMemoryAccess: "INVALID_MEMORY_ACCESS",
	StatusEmpty: "EMPTY", StatusCasMismatch: "CAS_MISMATCH", StatusResultMismatch: "RESULT_MISMATCH",
	StatusInternalFailure: "INTERNAL_FAILURE", StatusBrokenConnection: "BROKEN_CONNECTION",
	StatusUnimplemented: "UNIMPLEMENTED",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "STATUS_" + itoa(uint64(s))
}

// Action is what a stream callback returns.
type Action uint32

const (
	ActionContinue Action = 0
	ActionPause    Action = 1
)

// LogLevel of proxy_log.
type LogLevel uint32

const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
)

// MapType selects a header map.
type MapType uint32

const (
	MapRequestHeaders           MapType = 0
	MapRequestTrailers          MapType = 1
	MapResponseHeaders          MapType = 2
	MapResponseTrailers         MapType = 3
	MapGrpcInitialMetadata      MapType = 4
	MapGrpcTrailingMetadata     MapType = 5
	MapHttpCallResponseHeaders  MapType = 6
	MapHttpCallResponseTrailers MapType = 7
)

// BufferType selects a buffer.
type BufferType uint32

const (
	BufferHttpRequestBody      BufferType = 0
	BufferHttpResponseBody     BufferType = 1
	BufferDownstreamData       BufferType = 2
	BufferUpstreamData         BufferType = 3
	BufferHttpCallResponseBody BufferType = 4
	BufferGrpcReceive          BufferType = 5
	BufferVmConfiguration      BufferType = 6
	BufferPluginConfiguration  BufferType = 7
	BufferCallData             BufferType = 8
)

// StreamType for proxy_continue_stream / proxy_close_stream.
type StreamType uint32

const (
	StreamRequest    StreamType = 0
	StreamResponse   StreamType = 1
	StreamDownstream StreamType = 2
	StreamUpstream   StreamType = 3
)

// MetricType for proxy_define_metric.
type MetricType uint32

const (
	MetricCounter   MetricType = 0
	MetricGauge     MetricType = 1
	MetricHistogram MetricType = 2
)

// PeerType passed to the connection-close callbacks.
type PeerType uint32

const (
	PeerUnknown PeerType = 0
	PeerLocal   PeerType = 1
	PeerRemote  PeerType = 2
)

// GrpcStatusNone is the "no gRPC status" value for SendLocalResponse.
const GrpcStatusNone int32 = -1

// Header is one name/value pair of a header map.
type Header struct {
	Name  string
	Value string
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// Version of this ABI layer, recorded in the fixtures manifest as sdk_version.
const Version = "0.1.0"
