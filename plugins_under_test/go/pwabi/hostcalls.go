package pwabi

import (
	"encoding/binary"
	"unsafe"
)

// Memory handed to the host by proxy_on_memory_allocate stays referenced here
// until the hostcall that asked for it has copied the bytes out, so the Go
// garbage collector cannot reclaim it in between.
var hostAllocations [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	n := size
	if n == 0 {
		n = 1
	}
	buf := make([]byte, n)
	hostAllocations = append(hostAllocations, buf)
	return unsafe.Pointer(&buf[0])
}

// takeHostBytes copies size bytes at ptr (memory the host filled) into a
// fresh Go slice and releases every pending host allocation.
func takeHostBytes(ptr, size uint32) []byte {
	defer func() { hostAllocations = hostAllocations[:0] }()
	if size == 0 {
		return []byte{}
	}
	if ptr == 0 {
		return nil
	}
	src := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), size)
	out := make([]byte, size)
	copy(out, src)
	return out
}

func strPtr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// ---- logging -------------------------------------------------------------

func Log(level LogLevel, msg string) Status { return rawLog(level, strPtr(msg), uint32(len(msg))) }
func LogTraceMsg(msg string) Status         { return Log(LogTrace, msg) }
func LogDebugMsg(msg string) Status         { return Log(LogDebug, msg) }
func LogInfoMsg(msg string) Status          { return Log(LogInfo, msg) }
func LogWarnMsg(msg string) Status          { return Log(LogWarn, msg) }
func LogErrorMsg(msg string) Status         { return Log(LogError, msg) }
func LogCriticalMsg(msg string) Status      { return Log(LogCritical, msg) }

func GetLogLevel() (LogLevel, Status) {
	var l uint32
	st := rawGetLogLevel(&l)
	return LogLevel(l), st
}

func GetCurrentTimeNanoseconds() (uint64, Status) {
	var t uint64
	st := rawGetCurrentTimeNanoseconds(&t)
	return t, st
}

func SetTickPeriodMilliseconds(ms uint32) Status { return rawSetTickPeriod(ms) }

// ---- buffers ---------------------------------------------------------------

func GetBufferBytes(bt BufferType, start, maxSize uint32) ([]byte, Status) {
	var p, n uint32
	st := rawGetBufferBytes(bt, start, maxSize, &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, st
	}
	return takeHostBytes(p, n), st
}

func SetBufferBytes(bt BufferType, start, size uint32, data []byte) Status {
	return rawSetBufferBytes(bt, start, size, bytesPtr(data), uint32(len(data)))
}

func GetBufferStatus(bt BufferType) (length uint32, flags uint32, st Status) {
	st = rawGetBufferStatus(bt, &length, &flags)
	return
}

// GetPluginConfiguration returns the whole plugin configuration buffer.
func GetPluginConfiguration(size uint32) ([]byte, Status) {
	return GetBufferBytes(BufferPluginConfiguration, 0, size)
}

// GetVMConfiguration returns the whole VM configuration buffer.
func GetVMConfiguration(size uint32) ([]byte, Status) {
	return GetBufferBytes(BufferVmConfiguration, 0, size)
}

// ---- header maps -------------------------------------------------------------

// SerializeHeaders encodes pairs in the Proxy-Wasm map format: u32 count,
// then (u32 name length, u32 value length) per pair, then each name and value
// followed by a NUL byte. All integers little-endian.
func SerializeHeaders(hs []Header) []byte {
	size := 4 + 8*len(hs)
	for _, h := range hs {
		size += len(h.Name) + len(h.Value) + 2
	}
	out := make([]byte, size)
	binary.LittleEndian.PutUint32(out, uint32(len(hs)))
	off := 4
	for _, h := range hs {
		binary.LittleEndian.PutUint32(out[off:], uint32(len(h.Name)))
		binary.LittleEndian.PutUint32(out[off+4:], uint32(len(h.Value)))
		off += 8
	}
	for _, h := range hs {
		off += copy(out[off:], h.Name)
		out[off] = 0
		off++
		off += copy(out[off:], h.Value)
		out[off] = 0
		off++
	}
	return out
}

// DeserializeHeaders decodes the map format; it returns nil on malformed input.
func DeserializeHeaders(b []byte) []Header {
	if len(b) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 0 || 4+8*n > len(b) {
		return nil
	}
	hs := make([]Header, 0, n)
	data := 4 + 8*n
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if data+kl+1+vl+1 > len(b) {
			return nil
		}
		k := string(b[data : data+kl])
		data += kl + 1
		v := string(b[data : data+vl])
		data += vl + 1
		hs = append(hs, Header{Name: k, Value: v})
	}
	return hs
}

func GetHeaderMapPairs(mt MapType) ([]Header, Status) {
	var p, n uint32
	st := rawGetHeaderMapPairs(mt, &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, st
	}
	return DeserializeHeaders(takeHostBytes(p, n)), st
}

func SetHeaderMapPairs(mt MapType, hs []Header) Status {
	b := SerializeHeaders(hs)
	return rawSetHeaderMapPairs(mt, bytesPtr(b), uint32(len(b)))
}

func GetHeaderMapValue(mt MapType, name string) (string, Status) {
	var p, n uint32
	st := rawGetHeaderMapValue(mt, strPtr(name), uint32(len(name)), &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return "", st
	}
	return string(takeHostBytes(p, n)), st
}

func AddHeaderMapValue(mt MapType, name, value string) Status {
	return rawAddHeaderMapValue(mt, strPtr(name), uint32(len(name)), strPtr(value), uint32(len(value)))
}

func ReplaceHeaderMapValue(mt MapType, name, value string) Status {
	return rawReplaceHeaderMapValue(mt, strPtr(name), uint32(len(name)), strPtr(value), uint32(len(value)))
}

func RemoveHeaderMapValue(mt MapType, name string) Status {
	return rawRemoveHeaderMapValue(mt, strPtr(name), uint32(len(name)))
}

func GetHeaderMapSize(mt MapType) (uint32, Status) {
	var n uint32
	st := rawGetHeaderMapSize(mt, &n)
	return n, st
}

// ---- HTTP stream control -------------------------------------------------------

// SendLocalResponse sends an immediate response; grpcStatus -1 means none.
func SendLocalResponse(status uint32, details string, body []byte, headers []Header, grpcStatus int32) Status {
	hb := SerializeHeaders(headers)
	return rawSendLocalResponse(status, strPtr(details), uint32(len(details)), bytesPtr(body), uint32(len(body)),
		bytesPtr(hb), uint32(len(hb)), grpcStatus)
}

func ContinueStream(st StreamType) Status  { return rawContinueStream(st) }
func CloseStream(st StreamType) Status     { return rawCloseStream(st) }
func SetEffectiveContext(id uint32) Status { return rawSetEffectiveContext(id) }
func Done() Status                         { return rawDone() }

// DispatchHttpCall sends an HTTP call to cluster and returns its token. The
// response is delivered to the HTTP context that was current when dispatching
// (or to the root context when dispatched from one).
func DispatchHttpCall(cluster string, headers []Header, body []byte, trailers []Header, timeoutMs uint32) (uint32, Status) {
	hb := SerializeHeaders(headers)
	tb := SerializeHeaders(trailers)
	var token uint32
	st := rawHttpCall(strPtr(cluster), uint32(len(cluster)), bytesPtr(hb), uint32(len(hb)), bytesPtr(body), uint32(len(body)),
		bytesPtr(tb), uint32(len(tb)), timeoutMs, &token)
	if st == StatusOK {
		pendingCalls[token] = currentContextID
	}
	return token, st
}

// ---- shared data and queues -----------------------------------------------------

func GetSharedData(key string) ([]byte, uint32, Status) {
	var p, n, cas uint32
	st := rawGetSharedData(strPtr(key), uint32(len(key)), &p, &n, &cas)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, cas, st
	}
	return takeHostBytes(p, n), cas, st
}

func SetSharedData(key string, value []byte, cas uint32) Status {
	return rawSetSharedData(strPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), cas)
}

func RegisterSharedQueue(name string) (uint32, Status) {
	var id uint32
	st := rawRegisterSharedQueue(strPtr(name), uint32(len(name)), &id)
	return id, st
}

func ResolveSharedQueue(vmID, name string) (uint32, Status) {
	var id uint32
	st := rawResolveSharedQueue(strPtr(vmID), uint32(len(vmID)), strPtr(name), uint32(len(name)), &id)
	return id, st
}

func EnqueueSharedQueue(id uint32, value []byte) Status {
	return rawEnqueueSharedQueue(id, bytesPtr(value), uint32(len(value)))
}

func DequeueSharedQueue(id uint32) ([]byte, Status) {
	var p, n uint32
	st := rawDequeueSharedQueue(id, &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, st
	}
	return takeHostBytes(p, n), st
}

// ---- metrics --------------------------------------------------------------------

func DefineMetric(mt MetricType, name string) (uint32, Status) {
	var id uint32
	st := rawDefineMetric(mt, strPtr(name), uint32(len(name)), &id)
	return id, st
}

func IncrementMetric(id uint32, offset int64) Status { return rawIncrementMetric(id, offset) }
func RecordMetric(id uint32, value uint64) Status    { return rawRecordMetric(id, value) }

func GetMetric(id uint32) (uint64, Status) {
	var v uint64
	st := rawGetMetric(id, &v)
	return v, st
}

// ---- properties and foreign functions -----------------------------------------------

// SerializePropertyPath joins path segments with NUL bytes, as hosts expect.
func SerializePropertyPath(path []string) []byte {
	var out []byte
	for i, p := range path {
		if i > 0 {
			out = append(out, 0)
		}
		out = append(out, p...)
	}
	return out
}

func GetProperty(path []string) ([]byte, Status) {
	pb := SerializePropertyPath(path)
	var p, n uint32
	st := rawGetProperty(bytesPtr(pb), uint32(len(pb)), &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, st
	}
	return takeHostBytes(p, n), st
}

func SetProperty(path []string, value []byte) Status {
	pb := SerializePropertyPath(path)
	return rawSetProperty(bytesPtr(pb), uint32(len(pb)), bytesPtr(value), uint32(len(value)))
}

func CallForeignFunction(name string, arg []byte) ([]byte, Status) {
	var p, n uint32
	st := rawCallForeignFunction(strPtr(name), uint32(len(name)), bytesPtr(arg), uint32(len(arg)), &p, &n)
	if st != StatusOK {
		hostAllocations = hostAllocations[:0]
		return nil, st
	}
	return takeHostBytes(p, n), st
}
