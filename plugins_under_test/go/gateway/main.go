// gateway: an API-gateway plugin of the size real Go gateway plugins reach
// (6-8 MB): JSON configuration, JWT verification (HS256, RS256, ES256 with
// keys from PEM/X.509), CORS, IP allow-lists (CIDR), path/header blocking
// rules (regexp), a per-client token bucket and request-id/claims headers.
// Contract: README.md.
package main

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &gatewayRoot{} })
}

type ruleConfig struct {
	Path   string `json:"path"`
	Header string `json:"header"`
	Match  string `json:"match"`
	Status int    `json:"status"`
}

type config struct {
	JWT struct {
		Required bool              `json:"required"`
		Secret   string            `json:"hs256_secret"`
		PEMKeys  map[string]string `json:"pem_keys"` // kid -> PEM public key or certificate
		Issuer   string            `json:"issuer"`
		Audience string            `json:"audience"`
		Skip     []string          `json:"skip_paths"`
	} `json:"jwt"`
	CORS struct {
		Origins []string `json:"allowed_origins"` // regexps
		Methods []string `json:"allowed_methods"`
		Headers []string `json:"allowed_headers"`
		MaxAge  int      `json:"max_age"`
	} `json:"cors"`
	AllowCIDRs []string     `json:"allow_cidrs"`
	Block      []ruleConfig `json:"block"`
	RateLimit  struct {
		PerMinute int    `json:"per_minute"`
		Key       string `json:"key_header"`
	} `json:"rate_limit"`
}

type blockRule struct {
	path, header string
	re           *regexp.Regexp
	status       uint32
}

type gatewayRoot struct {
	pwabi.DefaultRootContext
	cfg     config
	verify  *verifier
	origins []*regexp.Regexp
	allow   []netip.Prefix
	block   []blockRule
	buckets *limiter
}

func (r *gatewayRoot) OnPluginStart(size uint32) bool {
	var raw []byte
	if size > 0 {
		if b, st := pwabi.GetPluginConfiguration(size); st == pwabi.StatusOK {
			raw = b
		}
	}
	cfg := config{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			pwabi.LogErrorMsg("gateway: invalid configuration: " + err.Error())
			return false
		}
	}
	v, err := newVerifier(cfg.JWT.Secret, cfg.JWT.PEMKeys)
	if err != nil {
		pwabi.LogErrorMsg("gateway: jwt keys: " + err.Error())
		return false
	}
	origins := make([]*regexp.Regexp, 0, len(cfg.CORS.Origins))
	for _, o := range cfg.CORS.Origins {
		re, err := regexp.Compile(o)
		if err != nil {
			pwabi.LogErrorMsg("gateway: cors origin " + o + ": " + err.Error())
			return false
		}
		origins = append(origins, re)
	}
	allow := make([]netip.Prefix, 0, len(cfg.AllowCIDRs))
	for _, c := range cfg.AllowCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			pwabi.LogErrorMsg("gateway: allow_cidrs: " + err.Error())
			return false
		}
		allow = append(allow, p)
	}
	block := make([]blockRule, 0, len(cfg.Block))
	for _, b := range cfg.Block {
		re, err := regexp.Compile(b.Match)
		if err != nil {
			pwabi.LogErrorMsg("gateway: block rule " + b.Match + ": " + err.Error())
			return false
		}
		status := uint32(403)
		if b.Status >= 200 && b.Status <= 599 {
			status = uint32(b.Status)
		}
		block = append(block, blockRule{path: b.Path, header: strings.ToLower(b.Header), re: re, status: status})
	}
	r.cfg, r.verify, r.origins, r.allow, r.block = cfg, v, origins, allow, block
	r.buckets = newLimiter(cfg.RateLimit.PerMinute)
	pwabi.LogInfoMsg("gateway: configured (" + strconv.Itoa(len(block)) + " block rules, " +
		strconv.Itoa(len(v.keys)) + " jwt keys)")
	return true
}

func (r *gatewayRoot) NewHttpContext(id uint32) pwabi.HttpContext {
	return &gatewayStream{root: r, id: id}
}

type gatewayStream struct {
	pwabi.DefaultHttpContext
	root   *gatewayRoot
	id     uint32
	origin string
}

func (s *gatewayStream) deny(status uint32, details, message string) pwabi.Action {
	body, _ := json.Marshal(map[string]any{"error": details, "message": message, "status": status})
	pwabi.SendLocalResponse(status, details, body,
		[]pwabi.Header{{Name: "content-type", Value: "application/json"}}, pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}

func header(name string) string {
	v, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, name)
	if st != pwabi.StatusOK {
		return ""
	}
	return v
}

func (s *gatewayStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	r := s.root
	path, method := header(":path"), header(":method")
	if len(r.allow) > 0 && !s.clientAllowed() {
		return s.deny(403, "ip_denied", "client address not allowed")
	}
	for _, b := range r.block {
		subject := path
		if b.header != "" {
			subject = header(b.header)
		}
		if (b.path == "" || strings.HasPrefix(path, b.path)) && b.re.MatchString(subject) {
			return s.deny(b.status, "blocked", "request blocked by rule "+b.re.String())
		}
	}
	s.origin = header("origin")
	if s.origin != "" && method == "OPTIONS" && header("access-control-request-method") != "" {
		if !s.originAllowed() {
			return s.deny(403, "cors_denied", "origin not allowed")
		}
		s.preflight()
		return pwabi.ActionPause
	}
	if r.cfg.JWT.Required && !skipped(path, r.cfg.JWT.Skip) {
		claims, err := r.verify.verify(strings.TrimPrefix(header("authorization"), "Bearer "))
		if err == nil {
			err = claims.valid(r.cfg.JWT.Issuer, r.cfg.JWT.Audience, now())
		}
		if err != nil {
			return s.deny(401, "jwt_invalid", err.Error())
		}
		pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, "x-jwt-subject", claims.Subject)
	}
	if !r.buckets.take(s.rateKey(), now()) {
		return s.deny(429, "rate_limited", "too many requests")
	}
	pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, "x-gateway-request-id", requestID(header("x-request-id"), method, path))
	return pwabi.ActionContinue
}

func (s *gatewayStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	if s.origin != "" && s.originAllowed() {
		pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "access-control-allow-origin", s.origin)
		pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "vary", "Origin")
	}
	return pwabi.ActionContinue
}

func skipped(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
