// jwt_auth: a gateway-style JWT check (HS256) against the host's clock.
// Contract: README.md in this folder.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &jwtRoot{} })
}

type jwtRoot struct {
	pwabi.DefaultRootContext
	secret []byte
	issuer string // "" accepts any issuer
}

func (r *jwtRoot) OnPluginStart(size uint32) bool {
	raw, st := pwabi.GetPluginConfiguration(size)
	var cfg struct {
		Secret string `json:"secret"`
		Issuer string `json:"issuer"`
	}
	if size == 0 || st != pwabi.StatusOK || json.Unmarshal(raw, &cfg) != nil || cfg.Secret == "" {
		pwabi.LogErrorMsg("jwt-auth: invalid configuration: expected {\"secret\": \"...\"}")
		return false
	}
	r.secret, r.issuer = []byte(cfg.Secret), cfg.Issuer
	return true
}

func (r *jwtRoot) NewHttpContext(uint32) pwabi.HttpContext { return &jwtStream{root: r} }

type jwtStream struct {
	pwabi.DefaultHttpContext
	root *jwtRoot
}

type claims struct {
	Sub string   `json:"sub"`
	Iss string   `json:"iss"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
}

func (s *jwtStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	value, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "authorization")
	if st != pwabi.StatusOK || !strings.HasPrefix(value, "Bearer ") {
		return deny("missing bearer token")
	}
	c, reason := s.root.verify(strings.TrimPrefix(value, "Bearer "))
	if reason != "" {
		return deny(reason)
	}
	pwabi.RemoveHeaderMapValue(pwabi.MapRequestHeaders, "authorization")
	pwabi.AddHeaderMapValue(pwabi.MapRequestHeaders, "x-jwt-sub", c.Sub)
	pwabi.LogInfoMsg("jwt-auth: allowed sub=" + c.Sub)
	return pwabi.ActionContinue
}

func (r *jwtRoot) verify(token string) (claims, string) {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, "malformed token"
	}
	header, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	signature, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, "malformed token"
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(header, &h) != nil || h.Alg != "HS256" {
		return c, "unsupported algorithm"
	}
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(mac.Sum(nil), signature) {
		return c, "bad signature"
	}
	if json.Unmarshal(payload, &c) != nil {
		return c, "malformed claims"
	}
	if r.issuer != "" && c.Iss != r.issuer {
		return c, "wrong issuer"
	}
	nowNs, st := pwabi.GetCurrentTimeNanoseconds()
	if st != pwabi.StatusOK {
		return c, "no clock"
	}
	now := float64(nowNs / 1_000_000_000)
	if c.Exp != nil && now >= *c.Exp {
		return c, "token is expired (exp " + seconds(*c.Exp) + ", now " + seconds(now) + ")"
	}
	if c.Nbf != nil && now < *c.Nbf {
		return c, "token is not valid yet (nbf " + seconds(*c.Nbf) + ", now " + seconds(now) + ")"
	}
	return c, ""
}

func seconds(v float64) string { return strconv.FormatInt(int64(v), 10) }

func deny(reason string) pwabi.Action {
	pwabi.LogInfoMsg("jwt-auth: denied: " + reason)
	pwabi.SendLocalResponse(401, "jwt_authn_denied", []byte("Jwt verification fails"),
		[]pwabi.Header{{Name: "www-authenticate", Value: `Bearer realm="proxy-wasm", error="invalid_token"`}},
		pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}
