// body_sum: validates that a request body is as long as its content-length.
// It adds up the size reported by every on_request_body call and compares the
// sum with content-length at end of stream; a mismatch is answered 400.
//
// It carries a common bug on purpose: the size the host reports is the whole
// body buffered so far, not the size of the new chunk, so the sum is right only
// when the body arrives in one frame. Contract: README.md.
package main

import (
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &bodySumRoot{} })
}

type bodySumRoot struct {
	pwabi.DefaultRootContext
}

func (r *bodySumRoot) NewHttpContext(uint32) pwabi.HttpContext {
	return &bodySumStream{expected: -1}
}

type bodySumStream struct {
	pwabi.DefaultHttpContext
	expected int64 // content-length, -1 when absent or unparsable
	total    int64
}

func (s *bodySumStream) OnRequestHeaders(_ uint32, endOfStream bool) pwabi.Action {
	if endOfStream {
		return pwabi.ActionContinue
	}
	if value, st := pwabi.GetHeaderMapValue(pwabi.MapRequestHeaders, "content-length"); st == pwabi.StatusOK {
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= 0 {
			s.expected = n
		}
	}
	return pwabi.ActionContinue
}

func (s *bodySumStream) OnRequestBody(bodySize uint32, endOfStream bool) pwabi.Action {
	s.total += int64(bodySize)
	pwabi.LogDebugMsg("body-sum: chunk size=" + strconv.FormatUint(uint64(bodySize), 10) +
		" total=" + strconv.FormatInt(s.total, 10) + " end_of_stream=" + strconv.FormatBool(endOfStream))
	if !endOfStream {
		// Hold the body until it can be checked.
		return pwabi.ActionPause
	}
	if s.expected < 0 {
		pwabi.LogInfoMsg("body-sum: no content-length, " + strconv.FormatInt(s.total, 10) + " bytes")
		return pwabi.ActionContinue
	}
	if s.total != s.expected {
		pwabi.LogInfoMsg("body-sum: mismatch total=" + strconv.FormatInt(s.total, 10) +
			" content-length=" + strconv.FormatInt(s.expected, 10))
		pwabi.SendLocalResponse(400, "body_size_mismatch", []byte("body size mismatch"),
			[]pwabi.Header{{Name: "content-type", Value: "text/plain"}}, -1)
		return pwabi.ActionPause
	}
	pwabi.LogInfoMsg("body-sum: ok " + strconv.FormatInt(s.total, 10) + " bytes")
	return pwabi.ActionContinue
}
