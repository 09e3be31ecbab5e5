package main

// A minimal Higress-style ABI shim, self-contained so pwabi stays the upstream
// 0.2.0 layer: the Higress SDKs' marker proxy_abi_version_0_2_100, the
// hostcalls this plugin needs (signatures as the Higress Go SDK declares them)
// and the callbacks it handles. Host-allocated bytes are copied out at once.

import (
	"encoding/binary"
	"unsafe"
)

type status uint32

const (
	statusOK            status = 0
	bufferPluginConfig         = 7
	bufferRedisResponse        = 9 // Higress: the answer during proxy_on_redis_call_response
	mapRequestHeaders          = 0
	logInfo                    = 2
	logWarn                    = 3
	logError                   = 4
)

//go:wasmimport env proxy_log
func rawLog(level uint32, msg unsafe.Pointer, size uint32) status

//go:wasmimport env proxy_get_buffer_bytes
func rawGetBufferBytes(bt, start, max uint32, retPtr, retLen *uint32) status

//go:wasmimport env proxy_get_header_map_value
func rawGetHeader(mt uint32, key unsafe.Pointer, keyLen uint32, retPtr, retLen *uint32) status

//go:wasmimport env proxy_add_header_map_value
func rawAddHeader(mt uint32, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32) status

//go:wasmimport env proxy_get_property
func rawGetProperty(path unsafe.Pointer, pathLen uint32, retPtr, retLen *uint32) status

//go:wasmimport env proxy_send_local_response
func rawSendLocalResponse(code uint32, details unsafe.Pointer, detailsLen uint32, body unsafe.Pointer, bodyLen uint32,
	headers unsafe.Pointer, headersLen uint32, grpcStatus int32) status

//go:wasmimport env proxy_continue_stream
func rawContinueStream(streamType uint32) status

//go:wasmimport env proxy_set_effective_context
func rawSetEffectiveContext(contextID uint32) status

//go:wasmimport env proxy_redis_init
func rawRedisInit(cluster unsafe.Pointer, clusterLen uint32, user unsafe.Pointer, userLen uint32,
	password unsafe.Pointer, passwordLen uint32, timeoutMs uint32) status

//go:wasmimport env proxy_redis_call
func rawRedisCall(cluster unsafe.Pointer, clusterLen uint32, query unsafe.Pointer, queryLen uint32, retToken *uint32) status

var hostAllocations [][]byte // kept referenced until the bytes are copied out

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	buf := make([]byte, size+1)
	hostAllocations = append(hostAllocations, buf)
	return unsafe.Pointer(&buf[0])
}

//go:wasmexport proxy_abi_version_0_2_100
func proxyABIVersion() {}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func take(p, n uint32, st status) ([]byte, status) {
	defer func() { hostAllocations = hostAllocations[:0] }()
	if st != statusOK || n == 0 || p == 0 {
		return nil, st
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n))
	return out, st
}

func logMsg(level uint32, msg string) { b := []byte(msg); rawLog(level, ptr(b), uint32(len(b))) }

func bufferBytes(bt, size uint32) []byte {
	var p, n uint32
	st := rawGetBufferBytes(bt, 0, size, &p, &n)
	out, _ := take(p, n, st)
	return out
}

func requestHeader(name string) string {
	var p, n uint32
	key := []byte(name)
	st := rawGetHeader(mapRequestHeaders, ptr(key), uint32(len(key)), &p, &n)
	out, _ := take(p, n, st)
	return string(out)
}

func addRequestHeader(name, value string) {
	k, v := []byte(name), []byte(value)
	rawAddHeader(mapRequestHeaders, ptr(k), uint32(len(k)), ptr(v), uint32(len(v)))
}

func property(name string) string {
	var p, n uint32
	path := []byte(name)
	st := rawGetProperty(ptr(path), uint32(len(path)), &p, &n)
	out, _ := take(p, n, st)
	return string(out)
}

// sendLocalResponse with one header (Proxy-Wasm pairs serialization).
func sendLocalResponse(code uint32, details, body, header, value string) {
	var pairs []byte
	pairs = binary.LittleEndian.AppendUint32(pairs, 1)
	pairs = binary.LittleEndian.AppendUint32(pairs, uint32(len(header)))
	pairs = binary.LittleEndian.AppendUint32(pairs, uint32(len(value)))
	pairs = append(append(append(append(pairs, header...), 0), value...), 0)
	d, b := []byte(details), []byte(body)
	rawSendLocalResponse(code, ptr(d), uint32(len(d)), ptr(b), uint32(len(b)), ptr(pairs), uint32(len(pairs)), -1)
}

func redisInit(cluster string, timeoutMs uint32) status {
	c := []byte(cluster)
	return rawRedisInit(ptr(c), uint32(len(c)), nil, 0, nil, 0, timeoutMs)
}

// redisCall sends a command as a RESP array of bulk strings.
func redisCall(cluster string, words ...string) (uint32, status) {
	query := []byte("*" + itoa(len(words)) + "\r\n")
	for _, w := range words {
		query = append(query, "$"+itoa(len(w))+"\r\n"+w+"\r\n"...)
	}
	c := []byte(cluster)
	var token uint32
	st := rawRedisCall(ptr(c), uint32(len(c)), ptr(query), uint32(len(query)), &token)
	return token, st
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// ---- callbacks --------------------------------------------------------------

var (
	plugin  *limitRoot
	streams = map[uint32]*limitStream{}
	pending = map[uint32]uint32{} // redis token -> stream context id
)

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		plugin = &limitRoot{}
		return
	}
	streams[contextID] = &limitStream{id: contextID, root: plugin}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(uint32, uint32) bool { return true }

//go:wasmexport proxy_on_configure
func proxyOnConfigure(_ uint32, size uint32) bool {
	var config []byte
	if size > 0 {
		config = bufferBytes(bufferPluginConfig, size)
	}
	return plugin.configure(config)
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, _ uint32, _ bool) uint32 {
	if s, ok := streams[contextID]; ok {
		return s.onRequestHeaders()
	}
	return 0
}

//go:wasmexport proxy_on_redis_call_response
func proxyOnRedisCallResponse(_ uint32, token uint32, st int32, size uint32) {
	id, ok := pending[token]
	delete(pending, token)
	s, live := streams[id]
	if !ok || !live {
		return // the stream ended before the answer
	}
	rawSetEffectiveContext(id)
	var answer []byte
	if st == 0 && size > 0 {
		answer = bufferBytes(bufferRedisResponse, size)
	}
	s.onRedisAnswer(st, answer)
}

//go:wasmexport proxy_on_done
func proxyOnDone(uint32) bool { return true }

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) { delete(streams, contextID) }
