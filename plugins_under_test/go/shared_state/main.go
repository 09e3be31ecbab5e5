// shared_state: tick timer, CAS-incremented shared-data counter, a shared
// queue and three metrics. Names and log lines: README.md.
package main

import (
	"encoding/json"
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const (
	counterKey    = "go_shared_state.request_count"
	queueName     = "go_shared_state.queue"
	metricCounter = "go_shared_state_requests_total"
	metricGauge   = "go_shared_state_last_request_count"
	metricHisto   = "go_shared_state_request_headers"
	maxCasRetries = 8
)

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &stateRoot{} })
}

type stateRoot struct {
	pwabi.DefaultRootContext
	tickMs  uint32
	vmID    string
	queueID uint32
	ticks   uint64
	counter uint32
	gauge   uint32
	histo   uint32
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func (r *stateRoot) OnPluginStart(size uint32) bool {
	r.tickMs, r.vmID = 1000, ""
	if size > 0 {
		raw, st := pwabi.GetPluginConfiguration(size)
		if st == pwabi.StatusOK && len(raw) > 0 {
			var cfg struct {
				TickMs *uint32 `json:"tick_ms"`
				VMID   *string `json:"vm_id"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				pwabi.LogErrorMsg("shared-state: invalid configuration: " + err.Error())
				return false
			}
			if cfg.TickMs != nil {
				r.tickMs = *cfg.TickMs
			}
			if cfg.VMID != nil {
				r.vmID = *cfg.VMID
			}
		}
	}
	st := pwabi.SetTickPeriodMilliseconds(r.tickMs)
	pwabi.LogInfoMsg("shared-state: tick period " + u(uint64(r.tickMs)) + " ms: " + st.String())
	r.queueID, st = pwabi.RegisterSharedQueue(queueName)
	pwabi.LogInfoMsg("shared-state: registered queue " + queueName + " id=" + u(uint64(r.queueID)) + ": " + st.String())
	r.counter, st = pwabi.DefineMetric(pwabi.MetricCounter, metricCounter)
	pwabi.LogInfoMsg("shared-state: defined counter " + metricCounter + " id=" + u(uint64(r.counter)) + ": " + st.String())
	r.gauge, st = pwabi.DefineMetric(pwabi.MetricGauge, metricGauge)
	pwabi.LogInfoMsg("shared-state: defined gauge " + metricGauge + " id=" + u(uint64(r.gauge)) + ": " + st.String())
	r.histo, st = pwabi.DefineMetric(pwabi.MetricHistogram, metricHisto)
	pwabi.LogInfoMsg("shared-state: defined histogram " + metricHisto + " id=" + u(uint64(r.histo)) + ": " + st.String())
	return true
}

func (r *stateRoot) OnTick() {
	r.ticks++
	pwabi.LogInfoMsg("shared-state: tick " + u(r.ticks))
}

func (r *stateRoot) OnQueueReady(queueID uint32) {
	for {
		msg, st := pwabi.DequeueSharedQueue(queueID)
		if st != pwabi.StatusOK {
			if st != pwabi.StatusEmpty {
				pwabi.LogWarnMsg("shared-state: dequeue from queue " + u(uint64(queueID)) + " failed: " + st.String())
			}
			return
		}
		pwabi.LogInfoMsg("shared-state: dequeued " + string(msg))
	}
}

// incrementCounter adds one to the decimal counter under counterKey with
// compare-and-swap, retrying on CAS_MISMATCH. It returns the new value.
func incrementCounter() (uint64, bool) {
	for attempt := 1; attempt <= maxCasRetries; attempt++ {
		var current uint64
		value, cas, st := pwabi.GetSharedData(counterKey)
		switch st {
		case pwabi.StatusOK:
			current, _ = strconv.ParseUint(string(value), 10, 64)
		case pwabi.StatusNotFound:
			cas = 0
		default:
			pwabi.LogWarnMsg("shared-state: get_shared_data failed: " + st.String())
			return 0, false
		}
		next := current + 1
		st = pwabi.SetSharedData(counterKey, []byte(u(next)), cas)
		if st == pwabi.StatusOK {
			return next, true
		}
		if st != pwabi.StatusCasMismatch {
			pwabi.LogWarnMsg("shared-state: set_shared_data failed: " + st.String())
			return 0, false
		}
		pwabi.LogInfoMsg("shared-state: cas mismatch, retry " + u(uint64(attempt)))
	}
	pwabi.LogWarnMsg("shared-state: gave up after " + u(maxCasRetries) + " cas mismatches")
	return 0, false
}

func (r *stateRoot) NewHttpContext(uint32) pwabi.HttpContext { return &stateStream{root: r} }

type stateStream struct {
	pwabi.DefaultHttpContext
	root  *stateRoot
	count uint64
	ok    bool
}

func (s *stateStream) OnRequestHeaders(numHeaders uint32, _ bool) pwabi.Action {
	r := s.root
	s.count, s.ok = incrementCounter()
	if s.ok {
		pwabi.LogInfoMsg("shared-state: request count " + u(s.count))
		pwabi.RecordMetric(r.gauge, s.count)
	}
	pwabi.IncrementMetric(r.counter, 1)
	pwabi.RecordMetric(r.histo, uint64(numHeaders))

	qid, st := pwabi.ResolveSharedQueue(r.vmID, queueName)
	if st != pwabi.StatusOK {
		pwabi.LogWarnMsg("shared-state: resolve queue failed: " + st.String() + ", using registered id")
		qid = r.queueID
	}
	st = pwabi.EnqueueSharedQueue(qid, []byte("request "+u(s.count)))
	pwabi.LogInfoMsg("shared-state: enqueued request " + u(s.count) + " to queue " + u(uint64(qid)) + ": " + st.String())
	return pwabi.ActionContinue
}

func (s *stateStream) OnResponseHeaders(uint32, bool) pwabi.Action {
	if s.ok {
		pwabi.ReplaceHeaderMapValue(pwabi.MapResponseHeaders, "x-request-count", u(s.count))
	}
	return pwabi.ActionContinue
}
