// headers_v2: the headers sample with two deliberate changes, for `compare` tests: the default
// response header value is "world-v2" (was "world"), and each request logs one more line,
// "headers v2: <:path>". Everything else is the headers sample, unchanged.
// headers: logs every request/response header, adds one header each way and
// removes one. Contract: plugins_under_test/CONTRACTS.md, section "headers".
package main

import (
	"encoding/json"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return newHeadersRoot() })
}

type headersRoot struct {
	pwabi.DefaultRootContext
	reqHeader  [2]string
	respHeader [2]string
	remove     string
}

func newHeadersRoot() *headersRoot {
	return &headersRoot{
		reqHeader:  [2]string{"x-wasm-request", "hello"},
		respHeader: [2]string{"x-wasm-response", "world-v2"},
		remove:     "x-remove-me",
	}
}

func (r *headersRoot) OnPluginStart(size uint32) bool {
	d := newHeadersRoot()
	r.reqHeader, r.respHeader, r.remove = d.reqHeader, d.respHeader, d.remove
	if size == 0 {
		return true
	}
	raw, st := pwabi.GetPluginConfiguration(size)
	if st != pwabi.StatusOK || len(raw) == 0 {
		return true
	}
	var cfg struct {
		RequestHeader  *[2]string `json:"request_header"`
		ResponseHeader *[2]string `json:"response_header"`
		Remove         *string    `json:"remove"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		pwabi.LogErrorMsg("headers: invalid configuration: " + err.Error())
		return false
	}
	if cfg.RequestHeader != nil {
		r.reqHeader = *cfg.RequestHeader
	}
	if cfg.ResponseHeader != nil {
		r.respHeader = *cfg.ResponseHeader
	}
	if cfg.Remove != nil {
		r.remove = *cfg.Remove
	}
	return true
}

func (r *headersRoot) NewHttpContext(uint32) pwabi.HttpContext { return &headersStream{root: r} }

type headersStream struct {
	pwabi.DefaultHttpContext
	root *headersRoot
}

func process(mt pwabi.MapType, prefix string, add [2]string, remove string) {
	hs, _ := pwabi.GetHeaderMapPairs(mt)
	for _, h := range hs {
		pwabi.LogInfoMsg(prefix + h.Name + ": " + h.Value)
	}
	pwabi.AddHeaderMapValue(mt, add[0], add[1])
	if remove != "" {
		pwabi.RemoveHeaderMapValue(mt, remove)
	}
}

func (s *headersStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	path, _ := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":path")
	pwabi.LogInfoMsg("headers v2: " + path)
	process(pwabi.MapRequestHeaders, "request header: ", s.root.reqHeader, s.root.remove)
	return pwabi.ActionContinue
}

func (s *headersStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	process(pwabi.MapResponseHeaders, "response header: ", s.root.respHeader, s.root.remove)
	return pwabi.ActionContinue
}
