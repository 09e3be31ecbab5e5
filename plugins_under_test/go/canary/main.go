// canary: routes each request to the canary or the stable version by a random
// draw, the way canary plugins usually do it: math/rand, percent from
// pluginConfig. Sets request header x-canary: true|false. Contract: README.md.
package main

import (
	"encoding/json"
	"math/rand"
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const defaultPercent = 10

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &canaryRoot{percent: defaultPercent} })
}

type canaryRoot struct {
	pwabi.DefaultRootContext
	percent int
}

func (r *canaryRoot) OnPluginStart(size uint32) bool {
	r.percent = defaultPercent
	if size > 0 {
		raw, st := pwabi.GetPluginConfiguration(size)
		if st == pwabi.StatusOK && len(raw) > 0 {
			var cfg struct {
				CanaryPercent *int `json:"canary_percent"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				pwabi.LogErrorMsg("canary: invalid configuration: " + err.Error())
				return false
			}
			if cfg.CanaryPercent != nil {
				if *cfg.CanaryPercent < 0 || *cfg.CanaryPercent > 100 {
					pwabi.LogErrorMsg("canary: invalid configuration: canary_percent must be 0..100")
					return false
				}
				r.percent = *cfg.CanaryPercent
			}
		}
	}
	pwabi.LogInfoMsg("canary: " + strconv.Itoa(r.percent) + "% of requests go to the canary")
	return true
}

func (r *canaryRoot) NewHttpContext(uint32) pwabi.HttpContext { return &canaryStream{percent: r.percent} }

type canaryStream struct {
	pwabi.DefaultHttpContext
	percent int
}

func (s *canaryStream) OnRequestHeaders(uint32, bool) pwabi.Action {
	draw := rand.Intn(100)
	canary := draw < s.percent
	pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, "x-canary", strconv.FormatBool(canary))
	pwabi.LogInfoMsg("canary: draw " + strconv.Itoa(draw) + " percent " + strconv.Itoa(s.percent) +
		" -> " + strconv.FormatBool(canary))
	return pwabi.ActionContinue
}
