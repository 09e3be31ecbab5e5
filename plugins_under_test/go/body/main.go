// body: buffers whole request and response bodies; rewrites one field of a
// JSON-object request body and replaces the response body. Contract: README.md.
package main

import (
	"encoding/json"
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

type bodyConfig struct {
	RequestField string `json:"request_field"`
	RequestValue string `json:"request_value"`
	ResponseBody string `json:"response_body"`
}

func defaults() bodyConfig {
	return bodyConfig{RequestField: "rewritten", RequestValue: "by wasm", ResponseBody: "replaced by wasm"}
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &bodyRoot{cfg: defaults()} })
}

type bodyRoot struct {
	pwabi.DefaultRootContext
	cfg bodyConfig
}

func (r *bodyRoot) OnPluginStart(size uint32) bool {
	r.cfg = defaults()
	if size == 0 {
		return true
	}
	raw, st := pwabi.GetPluginConfiguration(size)
	if st != pwabi.StatusOK || len(raw) == 0 {
		return true
	}
	cfg := defaults()
	if err := json.Unmarshal(raw, &cfg); err != nil {
		pwabi.LogErrorMsg("body: invalid configuration: " + err.Error())
		return false
	}
	r.cfg = cfg
	return true
}

func (r *bodyRoot) NewHttpContext(uint32) pwabi.HttpContext { return &bodyStream{cfg: r.cfg} }

type bodyStream struct {
	pwabi.DefaultHttpContext
	cfg bodyConfig
}

func n(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func (s *bodyStream) OnRequestHeaders(_ uint32, endOfStream bool) pwabi.Action {
	if !endOfStream {
		// The body may change length.
		pwabi.RemoveHeaderMapValue(pwabi.MapRequestHeaders, "content-length")
	}
	return pwabi.ActionContinue
}

func (s *bodyStream) OnRequestBody(bodySize uint32, endOfStream bool) pwabi.Action {
	if !endOfStream {
		return pwabi.ActionPause
	}
	body, st := pwabi.GetBufferBytes(pwabi.BufferHttpRequestBody, 0, bodySize)
	if st != pwabi.StatusOK {
		pwabi.LogWarnMsg("body: cannot read request body: " + st.String())
		return pwabi.ActionContinue
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		pwabi.LogInfoMsg("body: request body is not a JSON object (" + n(uint32(len(body))) + " bytes), left unchanged")
		return pwabi.ActionContinue
	}
	obj[s.cfg.RequestField] = s.cfg.RequestValue
	out, err := json.Marshal(obj)
	if err != nil {
		pwabi.LogWarnMsg("body: cannot re-serialize request body: " + err.Error())
		return pwabi.ActionContinue
	}
	st = pwabi.SetBufferBytes(pwabi.BufferHttpRequestBody, 0, uint32(len(body)), out)
	pwabi.LogInfoMsg("body: request body rewritten (" + n(uint32(len(body))) + " -> " + n(uint32(len(out))) + " bytes): " + st.String())
	return pwabi.ActionContinue
}

func (s *bodyStream) OnResponseHeaders(_ uint32, endOfStream bool) pwabi.Action {
	if !endOfStream {
		pwabi.RemoveHeaderMapValue(pwabi.MapResponseHeaders, "content-length")
	}
	return pwabi.ActionContinue
}

func (s *bodyStream) OnResponseBody(bodySize uint32, endOfStream bool) pwabi.Action {
	if !endOfStream {
		return pwabi.ActionPause
	}
	out := []byte(s.cfg.ResponseBody)
	st := pwabi.SetBufferBytes(pwabi.BufferHttpResponseBody, 0, bodySize, out)
	pwabi.LogInfoMsg("body: response body replaced (" + n(bodySize) + " -> " + n(uint32(len(out))) + " bytes): " + st.String())
	return pwabi.ActionContinue
}
