package pwabi

import "unsafe"

// Raw host functions. Pointers are 32-bit offsets into linear memory; every
// length is an i32. Only the functions a plugin actually reaches end up in its
// import section.

//go:wasmimport env proxy_log
func rawLog(level LogLevel, msg unsafe.Pointer, msgLen uint32) Status

//go:wasmimport env proxy_get_log_level
func rawGetLogLevel(retLevel *uint32) Status

//go:wasmimport env proxy_get_current_time_nanoseconds
func rawGetCurrentTimeNanoseconds(retTime *uint64) Status

//go:wasmimport env proxy_set_tick_period_milliseconds
func rawSetTickPeriod(ms uint32) Status

//go:wasmimport env proxy_get_buffer_bytes
func rawGetBufferBytes(bt BufferType, start uint32, maxSize uint32, retPtr *uint32, retLen *uint32) Status

//go:wasmimport env proxy_set_buffer_bytes
func rawSetBufferBytes(bt BufferType, start uint32, size uint32, data unsafe.Pointer, dataLen uint32) Status

//go:wasmimport env proxy_get_buffer_status
func rawGetBufferStatus(bt BufferType, retLen *uint32, retFlags *uint32) Status

//go:wasmimport env proxy_get_header_map_pairs
func rawGetHeaderMapPairs(mt MapType, retPtr *uint32, retLen *uint32) Status

//go:wasmimport env proxy_set_header_map_pairs
func rawSetHeaderMapPairs(mt MapType, data unsafe.Pointer, dataLen uint32) Status

//go:wasmimport env proxy_get_header_map_value
func rawGetHeaderMapValue(mt MapType, key unsafe.Pointer, keyLen uint32, retPtr *uint32, retLen *uint32) Status

//go:wasmimport env proxy_add_header_map_value
func rawAddHeaderMapValue(mt MapType, key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32) Status

//go:wasmimport env proxy_replace_header_map_value
func rawReplaceHeaderMapValue(mt MapType, key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32) Status

//go:wasmimport env proxy_remove_header_map_value
func rawRemoveHeaderMapValue(mt MapType, key unsafe.Pointer, keyLen uint32) Status

//go:wasmimport env proxy_get_header_map_size
func rawGetHeaderMapSize(mt MapType, retSize *uint32) Status

//go:wasmimport env proxy_send_local_response
func rawSendLocalResponse(status uint32, details unsafe.Pointer, detailsLen uint32, body unsafe.Pointer, bodyLen uint32,
	headers unsafe.Pointer, headersLen uint32, grpcStatus int32) Status

//go:wasmimport env proxy_continue_stream
func rawContinueStream(st StreamType) Status

//go:wasmimport env proxy_close_stream
func rawCloseStream(st StreamType) Status

//go:wasmimport env proxy_http_call
func rawHttpCall(upstream unsafe.Pointer, upstreamLen uint32, headers unsafe.Pointer, headersLen uint32,
	body unsafe.Pointer, bodyLen uint32, trailers unsafe.Pointer, trailersLen uint32, timeoutMs uint32, retToken *uint32) Status

//go:wasmimport env proxy_set_effective_context
func rawSetEffectiveContext(contextID uint32) Status

//go:wasmimport env proxy_done
func rawDone() Status

//go:wasmimport env proxy_get_shared_data
func rawGetSharedData(key unsafe.Pointer, keyLen uint32, retPtr *uint32, retLen *uint32, retCas *uint32) Status

//go:wasmimport env proxy_set_shared_data
func rawSetSharedData(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, cas uint32) Status

//go:wasmimport env proxy_register_shared_queue
func rawRegisterSharedQueue(name unsafe.Pointer, nameLen uint32, retID *uint32) Status

//go:wasmimport env proxy_resolve_shared_queue
func rawResolveSharedQueue(vmID unsafe.Pointer, vmIDLen uint32, name unsafe.Pointer, nameLen uint32, retID *uint32) Status

//go:wasmimport env proxy_enqueue_shared_queue
func rawEnqueueSharedQueue(id uint32, val unsafe.Pointer, valLen uint32) Status

//go:wasmimport env proxy_dequeue_shared_queue
func rawDequeueSharedQueue(id uint32, retPtr *uint32, retLen *uint32) Status

//go:wasmimport env proxy_define_metric
func rawDefineMetric(mt MetricType, name unsafe.Pointer, nameLen uint32, retID *uint32) Status

//go:wasmimport env proxy_increment_metric
func rawIncrementMetric(id uint32, offset int64) Status

//go:wasmimport env proxy_record_metric
func rawRecordMetric(id uint32, value uint64) Status

//go:wasmimport env proxy_get_metric
func rawGetMetric(id uint32, retValue *uint64) Status

//go:wasmimport env proxy_get_property
func rawGetProperty(path unsafe.Pointer, pathLen uint32, retPtr *uint32, retLen *uint32) Status

//go:wasmimport env proxy_set_property
func rawSetProperty(path unsafe.Pointer, pathLen uint32, val unsafe.Pointer, valLen uint32) Status

//go:wasmimport env proxy_call_foreign_function
func rawCallForeignFunction(name unsafe.Pointer, nameLen uint32, arg unsafe.Pointer, argLen uint32, retPtr *uint32, retLen *uint32) Status
