package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func now() time.Time {
	ns, st := pwabi.GetCurrentTimeNanoseconds()
	if st != pwabi.StatusOK {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

// clientAllowed reads source.address ("ip:port") and matches the allow-list.
func (s *gatewayStream) clientAllowed() bool {
	raw, st := pwabi.GetProperty([]string{"source", "address"})
	if st != pwabi.StatusOK {
		return false
	}
	addr, err := netip.ParseAddrPort(string(raw))
	var ip netip.Addr
	if err == nil {
		ip = addr.Addr()
	} else if ip, err = netip.ParseAddr(string(raw)); err != nil {
		return false
	}
	for _, p := range s.root.allow {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func (s *gatewayStream) originAllowed() bool {
	for _, re := range s.root.origins {
		if re.MatchString(s.origin) {
			return true
		}
	}
	return false
}

func (s *gatewayStream) preflight() {
	c := s.root.cfg.CORS
	headers := []pwabi.Header{
		{Name: "access-control-allow-origin", Value: s.origin},
		{Name: "access-control-allow-methods", Value: strings.Join(c.Methods, ", ")},
		{Name: "access-control-allow-headers", Value: strings.Join(c.Headers, ", ")},
		{Name: "vary", Value: "Origin"},
	}
	if c.MaxAge > 0 {
		headers = append(headers, pwabi.Header{Name: "access-control-max-age", Value: strconv.Itoa(c.MaxAge)})
	}
	pwabi.SendLocalResponse(204, "cors_preflight", nil, headers, pwabi.GrpcStatusNone)
}

func (s *gatewayStream) rateKey() string {
	if k := s.root.cfg.RateLimit.Key; k != "" {
		if v := header(strings.ToLower(k)); v != "" {
			return v
		}
	}
	raw, _ := pwabi.GetProperty([]string{"source", "address"})
	return string(raw)
}

// requestID: the client's x-request-id when it sent one, else a digest of the request line.
func requestID(given, method, path string) string {
	if given != "" {
		return given
	}
	sum := sha256.Sum256([]byte(method + " " + path))
	return hex.EncodeToString(sum[:8])
}

// limiter: one token bucket per key, refilled per minute (0 = unlimited).
type limiter struct {
	perMinute int
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

func (l *limiter) take(key string, at time.Time) bool {
	if l.perMinute <= 0 {
		return true
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 10000 {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: float64(l.perMinute), last: at}
		l.buckets[key] = b
	}
	b.tokens += at.Sub(b.last).Minutes() * float64(l.perMinute)
	if b.tokens > float64(l.perMinute) {
		b.tokens = float64(l.perMinute)
	}
	b.last = at
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
