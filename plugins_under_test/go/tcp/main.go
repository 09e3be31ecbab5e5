// tcp: L4 filter counting bytes each way (logs + metrics); closes the
// connection when downstream data contains "CLOSE". Contract: README.md.
package main

import (
	"bytes"
	"strconv"

	"github.com/pytest-proxy-wasm/plugins-go/pwabi"
)

func main() {}

const (
	metricDown  = "go_tcp_downstream_bytes_total"
	metricUp    = "go_tcp_upstream_bytes_total"
	metricConns = "go_tcp_connections_total"
)

func init() {
	pwabi.SetNewRootContext(func(uint32) pwabi.RootContext { return &tcpRoot{} })
}

type tcpRoot struct {
	pwabi.DefaultRootContext
	down, up, conns uint32
}

func (r *tcpRoot) OnPluginStart(uint32) bool {
	r.down, _ = pwabi.DefineMetric(pwabi.MetricCounter, metricDown)
	r.up, _ = pwabi.DefineMetric(pwabi.MetricCounter, metricUp)
	r.conns, _ = pwabi.DefineMetric(pwabi.MetricCounter, metricConns)
	return true
}

func (r *tcpRoot) NewTcpContext(id uint32) pwabi.TcpContext { return &conn{root: r, id: id} }

type conn struct {
	pwabi.DefaultTcpContext
	root     *tcpRoot
	id       uint32
	down, up uint64
	closing  bool
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func (c *conn) OnNewConnection() pwabi.Action {
	pwabi.IncrementMetric(c.root.conns, 1)
	pwabi.LogInfoMsg("tcp: new connection " + u(uint64(c.id)))
	return pwabi.ActionContinue
}

func (c *conn) OnDownstreamData(size uint32, endOfStream bool) pwabi.Action {
	c.down += uint64(size)
	pwabi.IncrementMetric(c.root.down, int64(size))
	pwabi.LogInfoMsg("tcp: downstream " + u(uint64(size)) + " bytes (total " + u(c.down) + ")")
	if size > 0 && !c.closing {
		data, st := pwabi.GetBufferBytes(pwabi.BufferDownstreamData, 0, size)
		if st == pwabi.StatusOK && bytes.Contains(data, []byte("CLOSE")) {
			c.closing = true
			st = pwabi.CloseStream(pwabi.StreamDownstream)
			pwabi.LogInfoMsg("tcp: CLOSE received, closing connection: " + st.String())
		}
	}
	return pwabi.ActionContinue
}

func (c *conn) OnUpstreamData(size uint32, endOfStream bool) pwabi.Action {
	c.up += uint64(size)
	pwabi.IncrementMetric(c.root.up, int64(size))
	pwabi.LogInfoMsg("tcp: upstream " + u(uint64(size)) + " bytes (total " + u(c.up) + ")")
	return pwabi.ActionContinue
}

func peer(p pwabi.PeerType) string {
	switch p {
	case pwabi.PeerLocal:
		return "local"
	case pwabi.PeerRemote:
		return "remote"
	}
	return "unknown"
}

func (c *conn) OnDownstreamClose(p pwabi.PeerType) {
	pwabi.LogInfoMsg("tcp: downstream closed (" + peer(p) + ")")
}

func (c *conn) OnUpstreamClose(p pwabi.PeerType) {
	pwabi.LogInfoMsg("tcp: upstream closed (" + peer(p) + ")")
}

func (c *conn) OnDone() bool {
	pwabi.LogInfoMsg("tcp: connection " + u(uint64(c.id)) + " done: downstream=" + u(c.down) + " upstream=" + u(c.up))
	return true
}
