// config_file: looks for an optional rules file with os.Stat when the plugin
// starts, as gateway plugins built with Go 1.24+ do, and says what it found in
// a response header. os.Stat makes the module import
// wasi_snapshot_preview1.path_filestat_get: Envoy 1.39+ links it, Envoy 1.36-1.38
// refuses the module ("Failed to load Wasm module due to a missing import").
package main

import (
	"os"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const rulesFile = "/etc/proxy-wasm/rules.json"

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &fileRoot{} })
}

type fileRoot struct {
	pwabi.DefaultRootContext
	found string
}

func (r *fileRoot) OnPluginStart(uint32) bool {
	// Envoy gives the VM no preopened directories: the lookup fails, the plugin carries on without rules.
	if _, err := os.Stat(rulesFile); err != nil {
		r.found = "absent"
		pwabi.LogInfoMsg("config_file: no rules file: " + err.Error())
	} else {
		r.found = "present"
	}
	return true
}

func (r *fileRoot) NewHttpContext(uint32) pwabi.HttpContext { return &fileStream{root: r} }

type fileStream struct {
	pwabi.DefaultHttpContext
	root *fileRoot
}

func (s *fileStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	pwabi.AddHeaderMapValue(pwabi.MapResponseHeaders, "x-rules-file", s.root.found)
	return pwabi.ActionContinue
}
