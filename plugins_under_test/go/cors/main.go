// cors: a CORS filter as gateways ship it. Preflights (OPTIONS with
// Access-Control-Request-Method) are answered locally, allowed origins get
// Access-Control-* headers on their responses, and two counters record
// preflights and refused origins. Contract: README.md.
package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

type corsConfig struct {
	AllowOrigins     []string `json:"allow_origins"`
	AllowMethods     []string `json:"allow_methods"`
	AllowHeaders     []string `json:"allow_headers"`
	ExposeHeaders    []string `json:"expose_headers"`
	MaxAge           int      `json:"max_age"`
	AllowCredentials bool     `json:"allow_credentials"`
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &corsRoot{} })
}

type corsRoot struct {
	pwabi.DefaultRootContext
	config     corsConfig
	preflights uint32
	refused    uint32
}

func (r *corsRoot) OnPluginStart(size uint32) bool {
	cfg := corsConfig{AllowMethods: []string{"GET", "POST"}, MaxAge: 600}
	if size > 0 {
		raw, st := pwabi.GetPluginConfiguration(size)
		if st != pwabi.StatusOK {
			pwabi.LogErrorMsg("cors: cannot read the configuration: " + st.String())
			return false
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			pwabi.LogErrorMsg("cors: invalid configuration: " + err.Error())
			return false
		}
	}
	if len(cfg.AllowOrigins) == 0 {
		pwabi.LogErrorMsg("cors: invalid configuration: allow_origins is empty")
		return false
	}
	r.config = cfg
	var st pwabi.Status
	if r.preflights, st = pwabi.DefineMetric(pwabi.MetricCounter, "cors_preflight_total"); st != pwabi.StatusOK {
		pwabi.LogErrorMsg("cors: define_metric: " + st.String())
		return false
	}
	if r.refused, st = pwabi.DefineMetric(pwabi.MetricCounter, "cors_refused_total"); st != pwabi.StatusOK {
		pwabi.LogErrorMsg("cors: define_metric: " + st.String())
		return false
	}
	pwabi.LogInfoMsg("cors: " + strconv.Itoa(len(cfg.AllowOrigins)) + " origins allowed")
	return true
}

func (r *corsRoot) NewHttpContext(uint32) pwabi.HttpContext { return &corsStream{root: r} }

// allows says whether origin is in the list ("*" allows every origin).
func (r *corsRoot) allows(origin string) bool {
	for _, allowed := range r.config.AllowOrigins {
		if allowed == "*" || strings.EqualFold(allowed, origin) {
			return true
		}
	}
	return false
}

type corsStream struct {
	pwabi.DefaultHttpContext
	root      *corsRoot
	origin    string // the allowed Origin of this request, "" when none
	preflight bool   // the plugin answered this request itself (its reply has the headers)
}

func requestHeader(name string) string {
	value, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, name)
	if st != pwabi.StatusOK {
		return ""
	}
	return value
}

func (s *corsStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	origin := requestHeader("origin")
	if origin == "" {
		return pwabi.ActionContinue
	}
	preflight := requestHeader(":method") == "OPTIONS" && requestHeader("access-control-request-method") != ""
	if !s.root.allows(origin) {
		pwabi.IncrementMetric(s.root.refused, 1)
		pwabi.LogWarnMsg("cors: origin refused: " + origin)
		if preflight {
			pwabi.SendLocalResponse(403, "cors_origin_refused", []byte("CORS origin not allowed\n"), nil, pwabi.GrpcStatusNone)
			return pwabi.ActionPause
		}
		return pwabi.ActionContinue
	}
	s.origin = origin
	if !preflight {
		return pwabi.ActionContinue
	}
	pwabi.IncrementMetric(s.root.preflights, 1)
	cfg := s.root.config
	headers := []pwabi.Header{
		{Name: "access-control-allow-origin", Value: origin},
		{Name: "access-control-allow-methods", Value: strings.Join(cfg.AllowMethods, ", ")},
		{Name: "access-control-max-age", Value: strconv.Itoa(cfg.MaxAge)},
		{Name: "vary", Value: "Origin"},
	}
	if len(cfg.AllowHeaders) > 0 {
		headers = append(headers, pwabi.Header{Name: "access-control-allow-headers", Value: strings.Join(cfg.AllowHeaders, ", ")})
	}
	if cfg.AllowCredentials {
		headers = append(headers, pwabi.Header{Name: "access-control-allow-credentials", Value: "true"})
	}
	pwabi.LogInfoMsg("cors: preflight answered for " + origin)
	s.preflight = true
	pwabi.SendLocalResponse(204, "cors_preflight", nil, headers, pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}

func (s *corsStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	// A local reply runs the response callbacks too: the preflight's own reply is complete.
	if s.origin == "" || s.preflight {
		return pwabi.ActionContinue
	}
	cfg := s.root.config
	pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "access-control-allow-origin", s.origin)
	pwabi.AddHeaderMapValue(pwabi.MapResponseHeaders, "vary", "Origin")
	if cfg.AllowCredentials {
		pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "access-control-allow-credentials", "true")
	}
	if len(cfg.ExposeHeaders) > 0 {
		pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "access-control-expose-headers", strings.Join(cfg.ExposeHeaders, ", "))
	}
	return pwabi.ActionContinue
}
