// route_meter: a rate-limit shim. It keys requests on the method and
// `request.url_path`, read from Envoy's request attributes in every callback
// (as such shims do, to label their logs and metrics), strips a configured
// route prefix from :path, and answers 429 once a key has used its quota.
// Envoy 1.40 computes the header-derived request attributes from the header
// map the filter holds: in on_request_headers (and while paused there) and in
// on_log. Elsewhere they are NOT_FOUND and the shim uses the value it kept. A
// missing request.url_path where Envoy always has one is a bug: the plugin
// panics there, as the shims it imitates do. Contract: README.md.
package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

type meterConfig struct {
	StripPrefix string `json:"strip_prefix"`
	Limit       int    `json:"limit"`
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext {
		return &meterRoot{counts: map[string]int{}}
	})
}

type meterRoot struct {
	pwabi.DefaultRootContext
	cfg    meterConfig
	counts map[string]int
}

func (r *meterRoot) OnPluginStart(size uint32) bool {
	r.cfg = meterConfig{}
	if size == 0 {
		return true
	}
	raw, st := pwabi.GetPluginConfiguration(size)
	if st == pwabi.StatusOK {
		if err := json.Unmarshal(raw, &r.cfg); err != nil {
			pwabi.LogErrorMsg("route-meter: invalid configuration: " + err.Error())
			return false
		}
	}
	return true
}

func (r *meterRoot) NewHttpContext(uint32) pwabi.HttpContext { return &meterStream{root: r} }

type meterStream struct {
	pwabi.DefaultHttpContext
	root    *meterRoot
	urlPath string // kept from on_request_headers
}

func property(name string) (string, pwabi.Status) {
	raw, st := pwabi.GetProperty([]string{"request", name})
	return string(raw), st
}

func number(name string) string {
	raw, st := pwabi.GetProperty([]string{"request", name})
	if st != pwabi.StatusOK || len(raw) != 8 {
		return st.String()
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(raw[i])
	}
	return strconv.FormatUint(v, 10)
}

// urlPath is what the shim keys on; Envoy has it in on_request_headers and on_log.
func urlPath(callback string) string {
	value, st := property("url_path")
	if st != pwabi.StatusOK {
		panic("route-meter: request.url_path unavailable in " + callback + ": " + st.String())
	}
	return value
}

func (s *meterStream) describe(callback string, required bool) {
	if !required {
		if _, st := property("url_path"); st != pwabi.StatusOK {
			pwabi.LogInfoMsg("route-meter " + callback + ": request.url_path " + st.String() +
				", kept url_path=" + s.urlPath)
			return
		}
	}
	path, _ := property("path")
	method, _ := property("method")
	host, _ := property("host")
	scheme, _ := property("scheme")
	query, _ := property("query")
	protocol, _ := property("protocol")
	agent, agentSt := property("useragent")
	if agentSt != pwabi.StatusOK {
		agent = agentSt.String()
	}
	pwabi.LogInfoMsg("route-meter " + callback + ": url_path=" + urlPath(callback) + " path=" + path +
		" method=" + method + " host=" + host + " scheme=" + scheme + " query=" + query +
		" protocol=" + protocol + " useragent=" + agent)
}

func (s *meterStream) OnRequestHeaders(_ uint32, _ bool) pwabi.Action {
	s.describe("request_headers", true)
	method, _ := property("method")
	path := urlPath("request_headers")
	prefix := s.root.cfg.StripPrefix
	if prefix != "" && strings.HasPrefix(path, prefix+"/") {
		full, _ := property("path")
		rewritten := strings.TrimPrefix(full, prefix)
		pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, ":path", rewritten)
		path = urlPath("request_headers")
		full, _ = property("path")
		pwabi.LogInfoMsg("route-meter: rewrote :path, request.path=" + full + " request.url_path=" + path)
	}
	s.urlPath = path
	key := method + " " + path
	s.root.counts[key]++
	if limit := s.root.cfg.Limit; limit > 0 && s.root.counts[key] > limit {
		pwabi.LogWarnMsg("route-meter: quota used for " + key)
		pwabi.SendLocalResponse(429, "rate_limited", []byte("too many requests\n"), nil, pwabi.GrpcStatusNone)
		return pwabi.ActionPause
	}
	return pwabi.ActionContinue
}

func (s *meterStream) OnRequestBody(size uint32, eos bool) pwabi.Action {
	s.describe("request_body", false)
	return pwabi.ActionContinue
}

func (s *meterStream) OnRequestTrailers(uint32) pwabi.Action {
	s.describe("request_trailers", false)
	return pwabi.ActionContinue
}

func (s *meterStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	s.describe("response_headers", false)
	return pwabi.ActionContinue
}

func (s *meterStream) OnResponseBody(uint32, bool) pwabi.Action {
	s.describe("response_body", false)
	return pwabi.ActionContinue
}

func (s *meterStream) OnResponseTrailers(uint32) pwabi.Action {
	s.describe("response_trailers", false)
	return pwabi.ActionContinue
}

func (s *meterStream) OnLog() {
	s.describe("log", true)
	pwabi.LogInfoMsg("route-meter log: request.size=" + number("size") + " request.total_size=" + number("total_size"))
}
