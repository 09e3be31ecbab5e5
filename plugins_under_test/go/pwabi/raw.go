package pwabi

import "unsafe"

// Raw* helpers pass arbitrary 32-bit addresses to the host, bypassing Go
// pointers. They exist for probing how a host treats out-of-bounds memory.

func rawAddr(a uint32) unsafe.Pointer { return unsafe.Pointer(uintptr(a)) }

// RawLog calls proxy_log with an arbitrary message address and length.
func RawLog(level LogLevel, addr, size uint32) Status { return rawLog(level, rawAddr(addr), size) }

// RawGetHeaderMapValue calls proxy_get_header_map_value with an arbitrary key address.
func RawGetHeaderMapValue(mt MapType, keyAddr, keyLen uint32) Status {
	var p, n uint32
	st := rawGetHeaderMapValue(mt, rawAddr(keyAddr), keyLen, &p, &n)
	hostAllocations = hostAllocations[:0]
	return st
}

// RawGetBufferBytesReturnAt calls proxy_get_buffer_bytes asking the host to
// write the result pointer and length at arbitrary addresses.
func RawGetBufferBytesReturnAt(bt BufferType, maxSize, retPtrAddr, retLenAddr uint32) Status {
	st := rawGetBufferBytes(bt, 0, maxSize, (*uint32)(rawAddr(retPtrAddr)), (*uint32)(rawAddr(retLenAddr)))
	hostAllocations = hostAllocations[:0]
	return st
}

// RawSetBufferBytes calls proxy_set_buffer_bytes with an arbitrary data address.
func RawSetBufferBytes(bt BufferType, start, size, dataAddr, dataLen uint32) Status {
	return rawSetBufferBytes(bt, start, size, rawAddr(dataAddr), dataLen)
}
