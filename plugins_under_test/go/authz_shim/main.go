// authz_shim: an external-authorization shim in the style of Kuadrant's wasm-shim. Each request is
// checked with a unary gRPC call to envoy.service.auth.v3.Authorization/Check on the cluster named
// by pluginConfig (default "authorino", the name the issue-25 crash was seen with: on Envoy 1.40
// those bytes parse as a GrpcService without a target and Envoy aborts).
// Contract: README.md next to this file.
package main

import (
	"encoding/json"
	"strconv"
	"unsafe"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const (
	defaultCluster = "authorino"
	service        = "envoy.service.auth.v3.Authorization"
	method         = "Check"
	timeoutMs      = 2000
)

// The gRPC hostcall and callbacks; pwabi has none (kept here so other samples do not export them).

//go:wasmimport env proxy_grpc_call
func rawGrpcCall(svc unsafe.Pointer, svcLen uint32, name unsafe.Pointer, nameLen uint32, m unsafe.Pointer,
	mLen uint32, md unsafe.Pointer, mdLen uint32, msg unsafe.Pointer, msgLen uint32, timeout uint32,
	retToken *uint32) pwabi.Status

var pending = map[uint32]uint32{} // gRPC token -> HTTP context id waiting for it

//go:wasmexport proxy_on_grpc_receive
func proxyOnGrpcReceive(_, token, size uint32) {
	stream, ok := pending[token]
	if !ok {
		return
	}
	delete(pending, token)
	body, _ := pwabi.GetBufferBytes(pwabi.BufferGrpcReceive, 0, size)
	pwabi.SetEffectiveContext(stream)
	code := statusCode(body)
	pwabi.LogInfoMsg("authz-shim: check answered code=" + strconv.Itoa(int(code)))
	if code == 0 {
		pwabi.ContinueStream(pwabi.StreamRequest)
		return
	}
	pwabi.SendLocalResponse(403, "authz_denied", []byte("denied by authorization service"), poweredBy,
		pwabi.GrpcStatusNone)
}

//go:wasmexport proxy_on_grpc_close
func proxyOnGrpcClose(_, token, status uint32) {
	stream, ok := pending[token]
	if !ok {
		return
	}
	delete(pending, token)
	pwabi.SetEffectiveContext(stream)
	pwabi.LogWarnMsg("authz-shim: check failed grpc-status=" + strconv.Itoa(int(status)))
	pwabi.SendLocalResponse(503, "authz_unavailable", []byte("authorization service unavailable"), poweredBy,
		pwabi.GrpcStatusNone)
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &shimRoot{cluster: defaultCluster} })
}

type shimRoot struct {
	pwabi.DefaultRootContext
	cluster string
}

func (r *shimRoot) OnPluginStart(size uint32) bool {
	r.cluster = defaultCluster
	if size == 0 {
		return true
	}
	raw, st := pwabi.GetPluginConfiguration(size)
	if st != pwabi.StatusOK || len(raw) == 0 {
		return true
	}
	var cfg struct {
		Cluster *string `json:"cluster"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		pwabi.LogErrorMsg("authz-shim: invalid configuration: " + err.Error())
		return false
	}
	if cfg.Cluster != nil {
		r.cluster = *cfg.Cluster
	}
	return true
}

func (r *shimRoot) NewHttpContext(uint32) pwabi.HttpContext { return &shimStream{root: r} }

type shimStream struct {
	pwabi.DefaultHttpContext
	root *shimRoot
}

var poweredBy = []pwabi.Header{{Name: "Powered-By", Value: "proxy-wasm"}}

func (s *shimStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	m, _ := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":method")
	path, _ := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":path")
	host, _ := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":authority")
	request := checkRequest(m, path, host)
	cluster := s.root.cluster
	var token uint32
	st := rawGrpcCall(ptr([]byte(cluster)), uint32(len(cluster)), ptr([]byte(service)), uint32(len(service)),
		ptr([]byte(method)), uint32(len(method)), nil, 0, ptr(request), uint32(len(request)), timeoutMs, &token)
	if st != pwabi.StatusOK {
		pwabi.LogWarnMsg("authz-shim: dispatch failed: " + st.String())
		pwabi.SendLocalResponse(503, "authz_dispatch_failed", []byte("authorization dispatch failed"), poweredBy,
			pwabi.GrpcStatusNone)
		return pwabi.ActionPause
	}
	pending[token] = pwabi.CurrentContextID()
	pwabi.LogInfoMsg("authz-shim: check sent to " + cluster)
	return pwabi.ActionPause
}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// checkRequest: CheckRequest{attributes(1): {request(2): {http(2): {method(2), path(4), host(5)}}}}.
func checkRequest(method, path, host string) []byte {
	http := append(append(field(2, []byte(method)), field(4, []byte(path))...), field(5, []byte(host))...)
	return field(1, field(2, field(2, http)))
}

func field(number int, value []byte) []byte {
	out := appendVarint(nil, uint64(number<<3|2))
	out = appendVarint(out, uint64(len(value)))
	return append(out, value...)
}

func appendVarint(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

// statusCode reads CheckResponse.status(1).code(1); a missing status is code 0 (OK), as in proto3.
func statusCode(body []byte) int64 {
	status := lengthField(body, 1)
	if status == nil {
		return 0
	}
	for i := 0; i < len(status); {
		key, n := varint(status[i:])
		if n == 0 {
			return -1
		}
		i += n
		if key == 1<<3 { // code, varint
			v, m := varint(status[i:])
			if m == 0 {
				return -1
			}
			return int64(int32(v))
		}
		skip := skipField(status[i:], key&7)
		if skip < 0 {
			return -1
		}
		i += skip
	}
	return 0
}

func lengthField(msg []byte, number uint64) []byte {
	for i := 0; i < len(msg); {
		key, n := varint(msg[i:])
		if n == 0 {
			return nil
		}
		i += n
		if key == number<<3|2 {
			size, m := varint(msg[i:])
			if m == 0 || i+m+int(size) > len(msg) {
				return nil
			}
			return msg[i+m : i+m+int(size)]
		}
		skip := skipField(msg[i:], key&7)
		if skip < 0 {
			return nil
		}
		i += skip
	}
	return nil
}

func skipField(b []byte, wireType uint64) int {
	switch wireType {
	case 0:
		_, n := varint(b)
		if n == 0 {
			return -1
		}
		return n
	case 1:
		return 8
	case 2:
		size, n := varint(b)
		if n == 0 {
			return -1
		}
		return n + int(size)
	case 5:
		return 4
	}
	return -1
}

func varint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
