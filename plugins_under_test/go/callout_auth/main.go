// callout_auth: authorizes each request with an HTTP callout.
// Contract: plugins_under_test/CONTRACTS.md, section "callout-auth".
package main

import (
	"encoding/json"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const defaultCluster = "outbound|5000||sealos.hub"

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &calloutRoot{cluster: defaultCluster} })
}

type calloutRoot struct {
	pwabi.DefaultRootContext
	cluster string
}

func (r *calloutRoot) OnPluginStart(size uint32) bool {
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
		pwabi.LogErrorMsg("callout-auth: invalid configuration: " + err.Error())
		return false
	}
	if cfg.Cluster != nil {
		r.cluster = *cfg.Cluster
	}
	return true
}

func (r *calloutRoot) NewHttpContext(uint32) pwabi.HttpContext { return &calloutStream{root: r} }

type calloutStream struct {
	pwabi.DefaultHttpContext
	root *calloutRoot
}

var poweredBy = []pwabi.Header{{Name: "Powered-By", Value: "proxy-wasm"}}

func (s *calloutStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	headers := []pwabi.Header{
		{Name: ":method", Value: "GET"},
		{Name: ":path", Value: "/bytes/1"},
		{Name: ":authority", Value: "sealos.hub:5000"},
	}
	if _, st := pwabi.DispatchHttpCall(s.root.cluster, headers, nil, nil, 5000); st != pwabi.StatusOK {
		pwabi.LogDebugMsg("callout-auth: dispatch failed: " + st.String())
		pwabi.SendLocalResponse(503, "", []byte("callout dispatch failed"), poweredBy, pwabi.GrpcStatusNone)
		return pwabi.ActionPause
	}
	pwabi.LogInfoMsg("callout-auth: dispatched")
	return pwabi.ActionPause
}

func (s *calloutStream) OnHttpCallResponse(_, numHeaders, bodySize, _ uint32) {
	var body []byte
	if bodySize > 0 {
		body, _ = pwabi.GetBufferBytes(pwabi.BufferHttpCallResponseBody, 0, bodySize)
	}
	if len(body) > 0 && body[0]%2 == 0 {
		pwabi.LogDebugMsg("callout-auth: allowed")
		pwabi.ContinueStream(pwabi.StreamRequest)
		return
	}
	pwabi.LogDebugMsg("callout-auth: forbidden")
	pwabi.SendLocalResponse(403, "", []byte("Access forbidden."), poweredBy, pwabi.GrpcStatusNone)
}
