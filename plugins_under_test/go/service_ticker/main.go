// service_ticker: a root-only service plugin (no HTTP or TCP context), the Go
// twin of plugins_under_test/rust/service. Every tick it counts in shared data
// with CAS, publishes an event on its shared queue and reports to a stats
// cluster with an HTTP callout. Contract: README.md.
package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const (
	ticksKey       = "service.ticks"
	queueName      = "service.events"
	defaultTickMs  = 1000
	defaultCluster = "outbound|8080||stats.svc"
)

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext {
		return &serviceRoot{tickMs: defaultTickMs, cluster: defaultCluster}
	})
}

type serviceRoot struct {
	pwabi.DefaultRootContext
	tickMs  uint32
	cluster string
	queueID uint32
	queued  bool
}

// clusterHost is the last field of an Istio cluster name direction|port|subset|host.
func clusterHost(cluster string) string {
	parts := strings.Split(cluster, "|")
	if len(parts) == 4 && parts[3] != "" {
		return parts[3]
	}
	return cluster
}

func (r *serviceRoot) OnVMStart(uint32) bool {
	pwabi.LogInfoMsg("service: vm started")
	return true
}

func (r *serviceRoot) OnPluginStart(size uint32) bool {
	r.tickMs, r.cluster = defaultTickMs, defaultCluster
	if size > 0 {
		raw, st := pwabi.GetPluginConfiguration(size)
		if st == pwabi.StatusOK && len(raw) > 0 {
			var cfg struct {
				TickMs  *int64  `json:"tick_ms"`
				Cluster *string `json:"cluster"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				pwabi.LogErrorMsg("service: invalid configuration: " + err.Error())
				return false
			}
			if cfg.TickMs != nil {
				if *cfg.TickMs <= 0 || *cfg.TickMs > 1<<31 {
					pwabi.LogErrorMsg("service: invalid configuration: tick_ms must be a positive integer")
					return false
				}
				r.tickMs = uint32(*cfg.TickMs)
			}
			if cfg.Cluster != nil {
				if *cfg.Cluster == "" {
					pwabi.LogErrorMsg("service: invalid configuration: cluster must be a non-empty string")
					return false
				}
				r.cluster = *cfg.Cluster
			}
		}
	}
	id, st := pwabi.RegisterSharedQueue(queueName)
	r.queueID, r.queued = id, st == pwabi.StatusOK
	pwabi.SetTickPeriodMilliseconds(r.tickMs)
	pwabi.LogInfoMsg("service: tick every " + strconv.FormatUint(uint64(r.tickMs), 10) + " ms, reporting to " +
		r.cluster + ", queue " + queueName + " id=" + strconv.FormatUint(uint64(id), 10))
	return true
}

// countTick adds one to the shared tick counter, retrying when another VM wrote in between.
func (r *serviceRoot) countTick() (uint64, bool) {
	for {
		value, cas, st := pwabi.GetSharedData(ticksKey)
		if st != pwabi.StatusOK {
			value, cas = nil, 0
		}
		current, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil {
			current = 0
		}
		next := current + 1
		switch st := pwabi.SetSharedData(ticksKey, []byte(strconv.FormatUint(next, 10)), cas); st {
		case pwabi.StatusOK:
			return next, true
		case pwabi.StatusCasMismatch:
			continue
		default:
			pwabi.LogWarnMsg("service: cannot store " + ticksKey + ": " + st.String())
			return 0, false
		}
	}
}

func (r *serviceRoot) OnTick() {
	n, ok := r.countTick()
	if !ok {
		return
	}
	pwabi.LogInfoMsg("service: tick " + strconv.FormatUint(n, 10))
	if r.queued {
		if st := pwabi.EnqueueSharedQueue(r.queueID, []byte("tick "+strconv.FormatUint(n, 10))); st != pwabi.StatusOK {
			pwabi.LogWarnMsg("service: enqueue failed: " + st.String())
		}
	}
	headers := []pwabi.Header{
		{Name: ":method", Value: "GET"},
		{Name: ":path", Value: "/report"},
		{Name: ":authority", Value: clusterHost(r.cluster)},
	}
	if _, st := pwabi.DispatchHttpCall(r.cluster, headers, nil, nil, 5000); st != pwabi.StatusOK {
		pwabi.LogWarnMsg("service: report dispatch failed: " + st.String())
	}
}

func (r *serviceRoot) OnQueueReady(queueID uint32) {
	for {
		event, st := pwabi.DequeueSharedQueue(queueID)
		if st != pwabi.StatusOK {
			return
		}
		pwabi.LogDebugMsg("service: event " + strconv.Quote(string(event)))
	}
}

func (r *serviceRoot) OnHttpCallResponse(token, _, bodySize, _ uint32) {
	status, st := pwabi.GetHeaderMapValue(pwabi.MapHttpCallResponseHeaders, ":status")
	if st != pwabi.StatusOK {
		status = "none"
	}
	pwabi.LogInfoMsg("service: report answered " + status)
	pwabi.LogDebugMsg("service: report " + strconv.FormatUint(uint64(token), 10) + " body " +
		strconv.FormatUint(uint64(bodySize), 10) + " bytes")
}
