// basic_auth: HTTP Basic authentication against credentials from pluginConfig.
// Contract: plugins_under_test/CONTRACTS.md, section "basic-auth".
package main

import (
	"encoding/base64"
	"encoding/json"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &authRoot{} })
}

type authRoot struct {
	pwabi.DefaultRootContext
	expected string // full expected Authorization header value
	realm    string
}

func (r *authRoot) OnPluginStart(size uint32) bool {
	var raw []byte
	if size > 0 {
		b, st := pwabi.GetPluginConfiguration(size)
		if st == pwabi.StatusOK {
			raw = b
		}
	}
	if len(raw) == 0 {
		pwabi.LogErrorMsg("basic-auth: invalid configuration: empty or missing pluginConfig")
		return false
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg == nil {
		pwabi.LogErrorMsg("basic-auth: invalid configuration: not a JSON object")
		return false
	}
	user, okU := cfg["username"].(string)
	pass, okP := cfg["password"].(string)
	if !okU || !okP {
		pwabi.LogErrorMsg("basic-auth: invalid configuration: username and password must be strings")
		return false
	}
	r.realm = "proxy-wasm"
	if realm, ok := cfg["realm"].(string); ok {
		r.realm = realm
	}
	r.expected = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	pwabi.LogDebugMsg("#on_configure -> " + string(raw))
	return true
}

func (r *authRoot) NewHttpContext(uint32) pwabi.HttpContext { return &authStream{root: r} }

type authStream struct {
	pwabi.DefaultHttpContext
	root *authRoot
}

func (s *authStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	got, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "authorization")
	if st == pwabi.StatusOK && got == s.root.expected {
		return pwabi.ActionContinue
	}
	pwabi.LogInfoMsg("basic-auth: denied")
	pwabi.SendLocalResponse(401, "", []byte("Unauthorized"),
		[]pwabi.Header{{Name: "WWW-Authenticate", Value: `Basic realm="` + s.root.realm + `"`}}, pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}
