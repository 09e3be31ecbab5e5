// higress_ratelimit: a Higress-style plugin (ABI marker
// proxy_abi_version_0_2_100, its own shim in abi.go) that counts requests per
// user and route in Redis with INCR and answers 429 past the limit.
package main

import (
	"encoding/json"
	"strconv"
	"strings"
)

func main() {}

const defaultCluster = "outbound|6379||redis.default.svc.cluster.local"

type limitRoot struct {
	cluster string
	limit   int64
}

func (r *limitRoot) configure(raw []byte) bool {
	cfg := struct {
		Cluster string `json:"redis_cluster"`
		Limit   int64  `json:"limit"`
	}{Cluster: defaultCluster, Limit: 2}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			logMsg(logError, "ratelimit: invalid configuration: "+err.Error())
			return false
		}
	}
	r.cluster, r.limit = cfg.Cluster, cfg.Limit
	if st := redisInit(r.cluster, 1000); st != statusOK {
		logMsg(logError, "ratelimit: redis init failed: status "+itoa(int(st)))
		return false
	}
	return true
}

type limitStream struct {
	id   uint32
	root *limitRoot
}

func (s *limitStream) onRequestHeaders() uint32 {
	user := requestHeader("x-user")
	if user == "" {
		user = "anonymous"
	}
	key := "rl:" + property("route_name") + ":" + user
	token, st := redisCall(s.root.cluster, "INCR", key)
	if st != statusOK {
		logMsg(logWarn, "ratelimit: redis call failed: status "+itoa(int(st)))
		return 0 // Continue
	}
	pending[token] = s.id
	logMsg(logInfo, "ratelimit: INCR "+key)
	return 1 // Pause until the answer
}

func (s *limitStream) onRedisAnswer(st int32, answer []byte) {
	if st != 0 {
		logMsg(logWarn, "ratelimit: redis unavailable, letting the request through")
		rawContinueStream(0)
		return
	}
	text := string(answer)
	if !strings.HasPrefix(text, ":") {
		logMsg(logWarn, "ratelimit: unexpected redis answer "+strconv.Quote(text))
		rawContinueStream(0)
		return
	}
	count, err := strconv.ParseInt(strings.TrimSuffix(text[1:], "\r\n"), 10, 64)
	if err != nil || count > s.root.limit {
		sendLocalResponse(429, "ratelimited", "too many requests", "x-ratelimit-limit", strconv.FormatInt(s.root.limit, 10))
		return
	}
	addRequestHeader("x-ratelimit-count", strconv.FormatInt(count, 10))
	rawContinueStream(0)
}
