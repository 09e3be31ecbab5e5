// ip_allow: an IP allow-list, as gateways ship it. The client address is the
// `source.address` property (Envoy's downstream remote address, which the
// connection manager may take from x-forwarded-for); requests from addresses
// outside the list get 403. Contract: README.md.
package main

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

type ipConfig struct {
	Allow []string `json:"allow"`
}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &ipRoot{} })
}

type ipRoot struct {
	pwabi.DefaultRootContext
	allowed []netip.Prefix
}

func (r *ipRoot) OnPluginStart(size uint32) bool {
	raw, st := pwabi.GetPluginConfiguration(size)
	if size == 0 || st != pwabi.StatusOK {
		pwabi.LogErrorMsg("ip-allow: invalid configuration: pluginConfig with an allow list is required")
		return false
	}
	var cfg ipConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		pwabi.LogErrorMsg("ip-allow: invalid configuration: " + err.Error())
		return false
	}
	r.allowed = r.allowed[:0]
	for _, entry := range cfg.Allow {
		prefix, err := parseEntry(entry)
		if err != nil {
			pwabi.LogErrorMsg("ip-allow: invalid configuration: " + entry + ": " + err.Error())
			return false
		}
		r.allowed = append(r.allowed, prefix)
	}
	return true
}

// parseEntry takes "10.0.0.1" or "10.0.0.0/8".
func parseEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "/") {
		return netip.ParsePrefix(entry)
	}
	addr, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func (r *ipRoot) NewHttpContext(uint32) pwabi.HttpContext { return &ipStream{root: r} }

type ipStream struct {
	pwabi.DefaultHttpContext
	root *ipRoot
}

// clientIP strips the port from "ip:port" or "[v6]:port".
func clientIP(address string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(address)
}

func header(name string) string {
	value, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, name)
	if st != pwabi.StatusOK {
		return "-"
	}
	return value
}

func (s *ipStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	raw, st := pwabi.GetProperty([]string{"source", "address"})
	address := string(raw)
	pwabi.LogInfoMsg("ip-allow: source.address=" + address + " (" + st.String() + ") x-forwarded-for=" +
		header("x-forwarded-for") + " x-envoy-external-address=" + header("x-envoy-external-address") +
		" x-envoy-internal=" + header("x-envoy-internal"))
	ip, err := clientIP(address)
	if st == pwabi.StatusOK && err == nil {
		for _, prefix := range s.root.allowed {
			if prefix.Contains(ip.Unmap()) {
				pwabi.LogInfoMsg("ip-allow: " + ip.String() + " allowed by " + prefix.String())
				return pwabi.ActionContinue
			}
		}
	}
	pwabi.LogWarnMsg("ip-allow: denied " + address)
	pwabi.SendLocalResponse(403, "ip_not_allowed", []byte("client address not allowed\n"), nil, pwabi.GrpcStatusNone)
	return pwabi.ActionPause
}
