// body_validator: checks JSON request bodies, as API gateways do. It lets the
// request headers through at once (so Envoy's router forwards them upstream)
// and decides on the whole body: a body that is not a JSON object, or lacks a
// required field, gets 403 from on_request_body. Contract: README.md.
package main

import (
	"encoding/json"
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

type validatorConfig struct {
	Required []string `json:"required"`
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &validatorRoot{} })
}

type validatorRoot struct {
	pwabi.DefaultRootContext
	cfg validatorConfig
}

func (r *validatorRoot) OnPluginStart(size uint32) bool {
	r.cfg = validatorConfig{}
	if size == 0 {
		return true
	}
	raw, st := pwabi.GetPluginConfiguration(size)
	if st != pwabi.StatusOK {
		return true
	}
	if err := json.Unmarshal(raw, &r.cfg); err != nil {
		pwabi.LogErrorMsg("body-validator: invalid configuration: " + err.Error())
		return false
	}
	return true
}

func (r *validatorRoot) NewHttpContext(uint32) pwabi.HttpContext {
	return &validatorStream{root: r}
}

type validatorStream struct {
	pwabi.DefaultHttpContext
	root *validatorRoot
}

func (s *validatorStream) OnRequestHeaders(_ uint32, endOfStream bool) pwabi.Action {
	method, _ := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":method")
	pwabi.LogInfoMsg("body-validator: " + method + " headers passed on (end_of_stream=" + strconv.FormatBool(endOfStream) + ")")
	return pwabi.ActionContinue
}

func (s *validatorStream) reject(reason string) pwabi.Action {
	pwabi.LogWarnMsg("body-validator: rejected: " + reason)
	body, _ := json.Marshal(map[string]string{"error": reason})
	pwabi.SendLocalResponse(403, "invalid_body", body,
		[]pwabi.Header{{Name: "content-type", Value: "application/json"}}, pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}

func (s *validatorStream) OnRequestBody(bodySize uint32, endOfStream bool) pwabi.Action {
	pwabi.LogInfoMsg("body-validator: body " + strconv.FormatUint(uint64(bodySize), 10) +
		" bytes, end_of_stream=" + strconv.FormatBool(endOfStream))
	if !endOfStream {
		return pwabi.ActionPause // buffer until the whole body is here
	}
	body, st := pwabi.GetBufferBytes(pwabi.BufferHttpRequestBody, 0, bodySize)
	if st != pwabi.StatusOK && bodySize > 0 {
		return s.reject("cannot read body: " + st.String())
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return s.reject("body is not a JSON object")
	}
	for _, field := range s.root.cfg.Required {
		if _, ok := obj[field]; !ok {
			return s.reject("missing field " + strconv.Quote(field))
		}
	}
	pwabi.LogInfoMsg("body-validator: accepted")
	return pwabi.ActionContinue
}
