// bot_detect: refuses requests whose User-Agent matches a deny-list, and
// carries a real bug: a request WITHOUT a User-Agent is paused "for a
// challenge" that is never sent, so the stream waits forever (on Envoy too,
// until the client or a stream timeout gives up). Contract: README.md.
package main

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &botRoot{} })
}

var defaultDeny = []string{`(?i)curl/`, `(?i)python-requests`, `(?i)scrapy`, `(?i)headless`}

type botRoot struct {
	pwabi.DefaultRootContext
	deny []*regexp.Regexp
}

func (r *botRoot) OnPluginStart(size uint32) bool {
	patterns := defaultDeny
	if size > 0 {
		raw, st := pwabi.GetPluginConfiguration(size)
		if st == pwabi.StatusOK && len(raw) > 0 {
			var cfg struct {
				Deny []string `json:"deny"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				pwabi.LogErrorMsg("bot-detect: invalid configuration: " + err.Error())
				return false
			}
			if cfg.Deny != nil {
				patterns = cfg.Deny
			}
		}
	}
	r.deny = r.deny[:0]
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			pwabi.LogErrorMsg("bot-detect: bad pattern " + p + ": " + err.Error())
			return false
		}
		r.deny = append(r.deny, re)
	}
	return true
}

func (r *botRoot) NewHttpContext(uint32) pwabi.HttpContext { return &botStream{root: r} }

type botStream struct {
	pwabi.DefaultHttpContext
	root *botRoot
}

func (s *botStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	agent, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "user-agent")
	if st != pwabi.StatusOK || strings.TrimSpace(agent) == "" {
		// The bug: meant to dispatch a JavaScript challenge and resume from its
		// answer, but nothing ever resumes the stream.
		pwabi.LogInfoMsg("bot-detect: no user-agent, holding the request for a challenge")
		return pwabi.ActionPause
	}
	for _, re := range s.root.deny {
		if re.MatchString(agent) {
			pwabi.LogInfoMsg("bot-detect: denied " + agent)
			pwabi.SendLocalResponse(403, "bot_detected", []byte("bots are not allowed\n"),
				[]pwabi.Header{{Name: "content-type", Value: "text/plain"}}, pwabi.GrpcStatusNone)
			return pwabi.ActionPause
		}
	}
	pwabi.AddHeaderMapValue(pwabi.MapRequestHeaders, "x-bot-check", "passed")
	return pwabi.ActionContinue
}
