// probe: on every request, calls each host function the ABI layer reaches with
// ordinary and edge-case arguments and logs one line per call:
//
//	probe <hostcall> <case>: status=<status> value=<value>
//
// The full list of calls and cases is in README.md.
package main

import (
	"strconv"
	"strings"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const (
	badType  = 99
	badID    = 0xFFFFFFFF
	badAddr  = 0xFFFFFFF0
	hugeSize = 0x7FFFFFFF
)

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &probeRoot{} })
}

type probeRoot struct {
	pwabi.DefaultRootContext
	requests uint64
}

func (r *probeRoot) NewHttpContext(id uint32) pwabi.HttpContext { return &probeStream{root: r, id: id} }

type probeStream struct {
	pwabi.DefaultHttpContext
	root *probeRoot
	id   uint32
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func quote(b []byte) string {
	const max = 120
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "...(" + u(uint64(len(b))) + " bytes)"
	}
	return strconv.Quote(string(b))
}

func headers(hs []pwabi.Header) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Name + "=" + h.Value
	}
	return quote([]byte("[" + strings.Join(parts, ", ") + "]"))
}

var calls uint64

func rec(call, c string, st pwabi.Status, value string) {
	calls++
	if value == "" {
		value = "-"
	}
	pwabi.LogInfoMsg("probe " + call + " " + c + ": status=" + st.String() + " value=" + value)
}

func (s *probeStream) OnRequestHeaders(numHeaders uint32, _ bool) pwabi.Action {
	s.root.requests++
	calls = 0
	var st pwabi.Status
	var b []byte
	var n, m uint32
	var v64 uint64
	var str string
	var hs []pwabi.Header

	// proxy_log (its own return status is logged by the next line)
	for _, lv := range []pwabi.LogLevel{pwabi.LogTrace, pwabi.LogDebug, pwabi.LogInfo, pwabi.LogWarn, pwabi.LogError, pwabi.LogCritical} {
		st = pwabi.Log(lv, "probe-log: message at level "+u(uint64(lv)))
		rec("proxy_log", "level_"+u(uint64(lv)), st, "")
	}
	st = pwabi.Log(pwabi.LogInfo, "")
	rec("proxy_log", "empty_message", st, "")
	st = pwabi.Log(pwabi.LogLevel(badType), "probe-log: message at invalid level")
	rec("proxy_log", "invalid_level", st, "")
	st = pwabi.RawLog(pwabi.LogInfo, badAddr, 100)
	rec("proxy_log", "out_of_bounds_message", st, "")

	// proxy_get_log_level is not probed: it belongs to ABI 0.2.1 and this
	// module declares 0.2.0, so a strict host would refuse to load it.
	v64, st = pwabi.GetCurrentTimeNanoseconds()
	rec("proxy_get_current_time_nanoseconds", "ordinary", st, strconv.FormatBool(v64 > 0))
	st = pwabi.SetTickPeriodMilliseconds(0)
	rec("proxy_set_tick_period_milliseconds", "zero_from_stream", st, "")

	// buffers
	b, st = pwabi.GetBufferBytes(pwabi.BufferHttpRequestBody, 0, hugeSize)
	rec("proxy_get_buffer_bytes", "request_body_during_headers", st, quote(b))
	b, st = pwabi.GetBufferBytes(pwabi.BufferPluginConfiguration, 0, hugeSize)
	rec("proxy_get_buffer_bytes", "plugin_configuration_from_stream", st, quote(b))
	b, st = pwabi.GetBufferBytes(pwabi.BufferType(badType), 0, 10)
	rec("proxy_get_buffer_bytes", "invalid_buffer_type", st, quote(b))
	b, st = pwabi.GetBufferBytes(pwabi.BufferPluginConfiguration, hugeSize, 10)
	rec("proxy_get_buffer_bytes", "start_beyond_end", st, quote(b))
	b, st = pwabi.GetBufferBytes(pwabi.BufferPluginConfiguration, 0, 0)
	rec("proxy_get_buffer_bytes", "zero_max_size", st, quote(b))
	st = pwabi.RawGetBufferBytesReturnAt(pwabi.BufferPluginConfiguration, 10, badAddr, badAddr)
	rec("proxy_get_buffer_bytes", "out_of_bounds_return_pointers", st, "")
	st = pwabi.SetBufferBytes(pwabi.BufferType(badType), 0, 0, []byte("x"))
	rec("proxy_set_buffer_bytes", "invalid_buffer_type", st, "")
	st = pwabi.SetBufferBytes(pwabi.BufferHttpCallResponseBody, 0, 0, []byte("x"))
	rec("proxy_set_buffer_bytes", "http_call_response_body_outside_callback", st, "")
	st = pwabi.RawSetBufferBytes(pwabi.BufferHttpRequestBody, 0, 0, badAddr, 100)
	rec("proxy_set_buffer_bytes", "out_of_bounds_data", st, "")
	n, m, st = pwabi.GetBufferStatus(pwabi.BufferPluginConfiguration)
	rec("proxy_get_buffer_status", "plugin_configuration", st, "length="+u(uint64(n))+" flags="+u(uint64(m)))
	n, m, st = pwabi.GetBufferStatus(pwabi.BufferType(badType))
	rec("proxy_get_buffer_status", "invalid_buffer_type", st, "length="+u(uint64(n))+" flags="+u(uint64(m)))

	// header maps
	hs, st = pwabi.GetHeaderMapPairs(pwabi.MapRequestHeaders)
	rec("proxy_get_header_map_pairs", "request_headers", st, u(uint64(len(hs)))+" pairs (num_headers="+u(uint64(numHeaders))+")")
	reqHeaders := hs
	hs, st = pwabi.GetHeaderMapPairs(pwabi.MapResponseHeaders)
	rec("proxy_get_header_map_pairs", "response_headers_during_request", st, headers(hs))
	hs, st = pwabi.GetHeaderMapPairs(pwabi.MapType(badType))
	rec("proxy_get_header_map_pairs", "invalid_map_type", st, headers(hs))
	str, st = pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":path")
	rec("proxy_get_header_map_value", "path", st, quote([]byte(str)))
	str, st = pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-missing")
	rec("proxy_get_header_map_value", "missing", st, quote([]byte(str)))
	str, st = pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "")
	rec("proxy_get_header_map_value", "empty_name", st, quote([]byte(str)))
	str, st = pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, ":PATH")
	rec("proxy_get_header_map_value", "upper_case_name", st, quote([]byte(str)))
	str, st = pwabi.GetHeaderMapValue(pwabi.MapType(badType), ":path")
	rec("proxy_get_header_map_value", "invalid_map_type", st, quote([]byte(str)))
	st = pwabi.RawGetHeaderMapValue(pwabi.MapRequestHeaders, badAddr, 100)
	rec("proxy_get_header_map_value", "out_of_bounds_key", st, "")
	st = pwabi.AddHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-added", "1")
	rec("proxy_add_header_map_value", "ordinary", st, "")
	st = pwabi.AddHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-empty-value", "")
	rec("proxy_add_header_map_value", "empty_value", st, "")
	st = pwabi.AddHeaderMapValue(pwabi.MapType(badType), "x-probe-added", "1")
	rec("proxy_add_header_map_value", "invalid_map_type", st, "")
	st = pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-replaced", "2")
	rec("proxy_replace_header_map_value", "absent_name", st, "")
	st = pwabi.ReplaceHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-replaced", "3")
	rec("proxy_replace_header_map_value", "present_name", st, "")
	st = pwabi.ReplaceHeaderMapValue(pwabi.MapType(badType), "x-probe-replaced", "2")
	rec("proxy_replace_header_map_value", "invalid_map_type", st, "")
	st = pwabi.RemoveHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-absent")
	rec("proxy_remove_header_map_value", "absent_name", st, "")
	st = pwabi.RemoveHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-empty-value")
	rec("proxy_remove_header_map_value", "present_name", st, "")
	st = pwabi.RemoveHeaderMapValue(pwabi.MapType(badType), "x-probe-absent")
	rec("proxy_remove_header_map_value", "invalid_map_type", st, "")
	hs, _ = pwabi.GetHeaderMapPairs(pwabi.MapRequestHeaders)
	if hs == nil {
		hs = reqHeaders
	}
	st = pwabi.SetHeaderMapPairs(pwabi.MapRequestHeaders, append(hs, pwabi.Header{Name: "x-probe-set", Value: "1"}))
	rec("proxy_set_header_map_pairs", "request_headers_plus_one", st, "")
	st = pwabi.SetHeaderMapPairs(pwabi.MapType(badType), nil)
	rec("proxy_set_header_map_pairs", "invalid_map_type", st, "")
	n, st = pwabi.GetHeaderMapSize(pwabi.MapRequestHeaders)
	rec("proxy_get_header_map_size", "request_headers", st, u(uint64(n)))
	n, st = pwabi.GetHeaderMapSize(pwabi.MapType(badType))
	rec("proxy_get_header_map_size", "invalid_map_type", st, u(uint64(n)))

	// properties
	b, st = pwabi.GetProperty([]string{"request", "path"})
	rec("proxy_get_property", "request_path", st, quote(b))
	b, st = pwabi.GetProperty([]string{"plugin_name"})
	rec("proxy_get_property", "plugin_name", st, quote(b))
	b, st = pwabi.GetProperty([]string{"probe", "missing"})
	rec("proxy_get_property", "missing", st, quote(b))
	b, st = pwabi.GetProperty(nil)
	rec("proxy_get_property", "empty_path", st, quote(b))
	st = pwabi.SetProperty([]string{"probe", "key"}, []byte("value"))
	rec("proxy_set_property", "ordinary", st, "")
	b, st = pwabi.GetProperty([]string{"probe", "key"})
	rec("proxy_get_property", "after_set", st, quote(b))
	st = pwabi.SetProperty(nil, []byte("value"))
	rec("proxy_set_property", "empty_path", st, "")

	// shared data
	b, n, st = pwabi.GetSharedData("probe.missing")
	rec("proxy_get_shared_data", "missing", st, quote(b)+" cas="+u(uint64(n)))
	b, n, st = pwabi.GetSharedData("")
	rec("proxy_get_shared_data", "empty_key", st, quote(b)+" cas="+u(uint64(n)))
	st = pwabi.SetSharedData("probe.key", []byte("request "+u(s.root.requests)), 0)
	rec("proxy_set_shared_data", "no_cas", st, "")
	b, n, st = pwabi.GetSharedData("probe.key")
	rec("proxy_get_shared_data", "after_set", st, quote(b)+" cas_nonzero="+strconv.FormatBool(n != 0))
	st = pwabi.SetSharedData("probe.key", []byte("stale"), n+1000)
	rec("proxy_set_shared_data", "stale_cas", st, "")
	st = pwabi.SetSharedData("probe.key", []byte("fresh"), n)
	rec("proxy_set_shared_data", "current_cas", st, "")
	st = pwabi.SetSharedData("probe.empty", nil, 0)
	rec("proxy_set_shared_data", "empty_value", st, "")

	// shared queues
	qid, st := pwabi.RegisterSharedQueue("probe.queue")
	rec("proxy_register_shared_queue", "ordinary", st, "registered")
	_, st = pwabi.RegisterSharedQueue("")
	rec("proxy_register_shared_queue", "empty_name", st, "")
	rid, st := pwabi.ResolveSharedQueue("", "probe.queue")
	rec("proxy_resolve_shared_queue", "registered", st, "same_id="+strconv.FormatBool(rid == qid))
	_, st = pwabi.ResolveSharedQueue("", "probe.queue.missing")
	rec("proxy_resolve_shared_queue", "missing", st, "")
	st = pwabi.EnqueueSharedQueue(qid, []byte("probe item"))
	rec("proxy_enqueue_shared_queue", "ordinary", st, "")
	st = pwabi.EnqueueSharedQueue(badID, []byte("probe item"))
	rec("proxy_enqueue_shared_queue", "unknown_queue", st, "")
	b, st = pwabi.DequeueSharedQueue(qid)
	rec("proxy_dequeue_shared_queue", "ordinary", st, quote(b))
	b, st = pwabi.DequeueSharedQueue(qid)
	rec("proxy_dequeue_shared_queue", "empty_queue", st, quote(b))
	b, st = pwabi.DequeueSharedQueue(badID)
	rec("proxy_dequeue_shared_queue", "unknown_queue", st, quote(b))

	// metrics
	cid, st := pwabi.DefineMetric(pwabi.MetricCounter, "probe_counter")
	rec("proxy_define_metric", "counter", st, "")
	gid, st := pwabi.DefineMetric(pwabi.MetricGauge, "probe_gauge")
	rec("proxy_define_metric", "gauge", st, "")
	hid, st := pwabi.DefineMetric(pwabi.MetricHistogram, "probe_histogram")
	rec("proxy_define_metric", "histogram", st, "")
	_, st = pwabi.DefineMetric(pwabi.MetricType(badType), "probe_bad_type")
	rec("proxy_define_metric", "invalid_type", st, "")
	_, st = pwabi.DefineMetric(pwabi.MetricCounter, "")
	rec("proxy_define_metric", "empty_name", st, "")
	st = pwabi.IncrementMetric(cid, 1)
	rec("proxy_increment_metric", "counter_plus_one", st, "")
	st = pwabi.IncrementMetric(cid, -1)
	rec("proxy_increment_metric", "counter_minus_one", st, "")
	st = pwabi.IncrementMetric(gid, -5)
	rec("proxy_increment_metric", "gauge_minus_five", st, "")
	st = pwabi.IncrementMetric(badID, 1)
	rec("proxy_increment_metric", "unknown_metric", st, "")
	st = pwabi.RecordMetric(gid, 42)
	rec("proxy_record_metric", "gauge", st, "")
	st = pwabi.RecordMetric(hid, 7)
	rec("proxy_record_metric", "histogram", st, "")
	st = pwabi.RecordMetric(cid, 3)
	rec("proxy_record_metric", "counter", st, "")
	st = pwabi.RecordMetric(badID, 1)
	rec("proxy_record_metric", "unknown_metric", st, "")
	v64, st = pwabi.GetMetric(gid)
	rec("proxy_get_metric", "gauge", st, u(v64))
	v64, st = pwabi.GetMetric(hid)
	rec("proxy_get_metric", "histogram", st, u(v64))
	v64, st = pwabi.GetMetric(badID)
	rec("proxy_get_metric", "unknown_metric", st, u(v64))

	// HTTP calls and foreign functions
	_, st = pwabi.DispatchHttpCall("probe_missing_cluster", []pwabi.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: ":authority", Value: "probe"}}, nil, nil, 1000)
	rec("proxy_http_call", "unknown_cluster", st, "")
	_, st = pwabi.DispatchHttpCall("", nil, nil, nil, 1000)
	rec("proxy_http_call", "empty_cluster_no_headers", st, "")
	b, st = pwabi.CallForeignFunction("probe_missing_function", []byte("arg"))
	rec("proxy_call_foreign_function", "missing", st, quote(b))
	b, st = pwabi.CallForeignFunction("", nil)
	rec("proxy_call_foreign_function", "empty_name", st, quote(b))

	// context and stream control (only calls that leave this request usable)
	st = pwabi.SetEffectiveContext(badID)
	rec("proxy_set_effective_context", "unknown_context", st, "")
	st = pwabi.SetEffectiveContext(s.id)
	rec("proxy_set_effective_context", "own_context", st, "")
	st = pwabi.ContinueStream(pwabi.StreamType(badType))
	rec("proxy_continue_stream", "invalid_stream_type", st, "")
	st = pwabi.CloseStream(pwabi.StreamType(badType))
	rec("proxy_close_stream", "invalid_stream_type", st, "")
	st = pwabi.Done()
	rec("proxy_done", "unsolicited", st, "")

	// Opt-in: ends the request with a local response.
	if _, present := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "x-probe-local-response"); present == pwabi.StatusOK {
		st = pwabi.SendLocalResponse(299, "probe", []byte("probe local response"), []pwabi.Header{{Name: "x-probe", Value: "1"}}, pwabi.GrpcStatusNone)
		rec("proxy_send_local_response", "opt_in", st, "")
		return pwabi.ActionPause
	}
	pwabi.LogInfoMsg("probe-summary: request " + u(s.root.requests) + ", " + u(calls) + " calls")
	return pwabi.ActionContinue
}
