package pwabi

// RootContext receives plugin-wide callbacks. Embed DefaultRootContext to get
// no-op implementations of everything.
type RootContext interface {
	OnVMStart(vmConfigSize uint32) bool
	OnPluginStart(pluginConfigSize uint32) bool
	OnTick()
	OnQueueReady(queueID uint32)
	OnHttpCallResponse(token, numHeaders, bodySize, numTrailers uint32)
	// NewHttpContext returns the handler of a new HTTP stream, or nil.
	NewHttpContext(contextID uint32) HttpContext
	// NewTcpContext returns the handler of a new connection, or nil.
	NewTcpContext(contextID uint32) TcpContext
	OnDone() bool
	OnLog()
	OnDelete()
}

// HttpContext receives the callbacks of one HTTP stream.
type HttpContext interface {
	OnRequestHeaders(numHeaders uint32, endOfStream bool) Action
	OnRequestBody(bodySize uint32, endOfStream bool) Action
	OnRequestTrailers(numTrailers uint32) Action
	OnResponseHeaders(numHeaders uint32, endOfStream bool) Action
	OnResponseBody(bodySize uint32, endOfStream bool) Action
	OnResponseTrailers(numTrailers uint32) Action
	OnHttpCallResponse(token, numHeaders, bodySize, numTrailers uint32)
	OnDone() bool
	OnLog()
	OnDelete()
}

// TcpContext receives the callbacks of one L4 connection.
type TcpContext interface {
	OnNewConnection() Action
	OnDownstreamData(size uint32, endOfStream bool) Action
	OnDownstreamClose(peer PeerType)
	OnUpstreamData(size uint32, endOfStream bool) Action
	OnUpstreamClose(peer PeerType)
	OnDone() bool
	OnLog()
	OnDelete()
}

// DefaultRootContext implements RootContext with no-ops (start callbacks succeed).
type DefaultRootContext struct{}

func (DefaultRootContext) OnVMStart(uint32) bool                             { return true }
func (DefaultRootContext) OnPluginStart(uint32) bool                         { return true }
func (DefaultRootContext) OnTick()                                           {}
func (DefaultRootContext) OnQueueReady(uint32)                               {}
func (DefaultRootContext) OnHttpCallResponse(uint32, uint32, uint32, uint32) {}
func (DefaultRootContext) NewHttpContext(uint32) HttpContext                 { return nil }
func (DefaultRootContext) NewTcpContext(uint32) TcpContext                   { return nil }
func (DefaultRootContext) OnDone() bool                                      { return true }
func (DefaultRootContext) OnLog()                                            {}
func (DefaultRootContext) OnDelete()                                         {}

// DefaultHttpContext implements HttpContext; every stream callback continues.
type DefaultHttpContext struct{}

func (DefaultHttpContext) OnRequestHeaders(uint32, bool) Action              { return ActionContinue }
func (DefaultHttpContext) OnRequestBody(uint32, bool) Action                 { return ActionContinue }
func (DefaultHttpContext) OnRequestTrailers(uint32) Action                   { return ActionContinue }
func (DefaultHttpContext) OnResponseHeaders(uint32, bool) Action             { return ActionContinue }
func (DefaultHttpContext) OnResponseBody(uint32, bool) Action                { return ActionContinue }
func (DefaultHttpContext) OnResponseTrailers(uint32) Action                  { return ActionContinue }
func (DefaultHttpContext) OnHttpCallResponse(uint32, uint32, uint32, uint32) {}
func (DefaultHttpContext) OnDone() bool                                      { return true }
func (DefaultHttpContext) OnLog()                                            {}
func (DefaultHttpContext) OnDelete()                                         {}

// DefaultTcpContext implements TcpContext; every data callback continues.
type DefaultTcpContext struct{}

func (DefaultTcpContext) OnNewConnection() Action              { return ActionContinue }
func (DefaultTcpContext) OnDownstreamData(uint32, bool) Action { return ActionContinue }
func (DefaultTcpContext) OnDownstreamClose(PeerType)           {}
func (DefaultTcpContext) OnUpstreamData(uint32, bool) Action   { return ActionContinue }
func (DefaultTcpContext) OnUpstreamClose(PeerType)             {}
func (DefaultTcpContext) OnDone() bool                         { return true }
func (DefaultTcpContext) OnLog()                               {}
func (DefaultTcpContext) OnDelete()                            {}

var (
	newRoot          func(contextID uint32) RootContext
	roots            = map[uint32]RootContext{}
	httpStreams      = map[uint32]HttpContext{}
	tcpStreams       = map[uint32]TcpContext{}
	streamRoot       = map[uint32]uint32{} // stream context id -> root context id
	pendingCalls     = map[uint32]uint32{} // http call token -> context id that dispatched it
	currentContextID uint32
)

// SetNewRootContext registers the plugin. Call it from init().
func SetNewRootContext(f func(contextID uint32) RootContext) { newRoot = f }

// CurrentContextID is the id of the context whose callback is running.
func CurrentContextID() uint32 { return currentContextID }

func enter(id uint32) { currentContextID = id }

//go:wasmexport proxy_abi_version_0_2_0
func proxyABIVersion() {}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID uint32) {
	enter(contextID)
	if parentID == 0 {
		if newRoot != nil {
			roots[contextID] = newRoot(contextID)
		}
		return
	}
	root, ok := roots[parentID]
	if !ok {
		return
	}
	if h := root.NewHttpContext(contextID); h != nil {
		httpStreams[contextID] = h
		streamRoot[contextID] = parentID
		return
	}
	if t := root.NewTcpContext(contextID); t != nil {
		tcpStreams[contextID] = t
		streamRoot[contextID] = parentID
	}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(contextID, size uint32) bool {
	enter(contextID)
	if r, ok := roots[contextID]; ok {
		return r.OnVMStart(size)
	}
	return true
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(contextID, size uint32) bool {
	enter(contextID)
	if r, ok := roots[contextID]; ok {
		return r.OnPluginStart(size)
	}
	return true
}

//go:wasmexport proxy_on_tick
func proxyOnTick(contextID uint32) {
	enter(contextID)
	if r, ok := roots[contextID]; ok {
		r.OnTick()
	}
}

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReady(contextID, queueID uint32) {
	enter(contextID)
	if r, ok := roots[contextID]; ok {
		r.OnQueueReady(queueID)
	}
}

//go:wasmexport proxy_on_new_connection
func proxyOnNewConnection(contextID uint32) Action {
	enter(contextID)
	if t, ok := tcpStreams[contextID]; ok {
		return t.OnNewConnection()
	}
	return ActionContinue
}

//go:wasmexport proxy_on_downstream_data
func proxyOnDownstreamData(contextID, size uint32, eos bool) Action {
	enter(contextID)
	if t, ok := tcpStreams[contextID]; ok {
		return t.OnDownstreamData(size, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_downstream_connection_close
func proxyOnDownstreamConnectionClose(contextID uint32, peer PeerType) {
	enter(contextID)
	if t, ok := tcpStreams[contextID]; ok {
		t.OnDownstreamClose(peer)
	}
}

//go:wasmexport proxy_on_upstream_data
func proxyOnUpstreamData(contextID, size uint32, eos bool) Action {
	enter(contextID)
	if t, ok := tcpStreams[contextID]; ok {
		return t.OnUpstreamData(size, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_upstream_connection_close
func proxyOnUpstreamConnectionClose(contextID uint32, peer PeerType) {
	enter(contextID)
	if t, ok := tcpStreams[contextID]; ok {
		t.OnUpstreamClose(peer)
	}
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, numHeaders uint32, eos bool) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnRequestHeaders(numHeaders, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(contextID, size uint32, eos bool) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnRequestBody(size, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(contextID, numTrailers uint32) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnRequestTrailers(numTrailers)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, numHeaders uint32, eos bool) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnResponseHeaders(numHeaders, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(contextID, size uint32, eos bool) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnResponseBody(size, eos)
	}
	return ActionContinue
}

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(contextID, numTrailers uint32) Action {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnResponseTrailers(numTrailers)
	}
	return ActionContinue
}

// proxy_on_http_call_response arrives on the root context; it is routed to the
// context that dispatched the call, after making that context effective.
//
//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponse(contextID, token, numHeaders, bodySize, numTrailers uint32) {
	enter(contextID)
	target, ok := pendingCalls[token]
	if ok {
		delete(pendingCalls, token)
	} else {
		target = contextID
	}
	if h, ok := httpStreams[target]; ok {
		rawSetEffectiveContext(target)
		enter(target)
		h.OnHttpCallResponse(token, numHeaders, bodySize, numTrailers)
		return
	}
	if r, ok := roots[target]; ok {
		r.OnHttpCallResponse(token, numHeaders, bodySize, numTrailers)
	}
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) bool {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		return h.OnDone()
	}
	if t, ok := tcpStreams[contextID]; ok {
		return t.OnDone()
	}
	if r, ok := roots[contextID]; ok {
		return r.OnDone()
	}
	return true
}

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		h.OnLog()
	} else if t, ok := tcpStreams[contextID]; ok {
		t.OnLog()
	} else if r, ok := roots[contextID]; ok {
		r.OnLog()
	}
}

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) {
	enter(contextID)
	if h, ok := httpStreams[contextID]; ok {
		h.OnDelete()
		delete(httpStreams, contextID)
	} else if t, ok := tcpStreams[contextID]; ok {
		t.OnDelete()
		delete(tcpStreams, contextID)
	} else if r, ok := roots[contextID]; ok {
		r.OnDelete()
		delete(roots, contextID)
	}
	delete(streamRoot, contextID)
	for token, id := range pendingCalls {
		if id == contextID {
			delete(pendingCalls, token)
		}
	}
}
