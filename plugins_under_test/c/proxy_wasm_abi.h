/*
 * proxy_wasm_abi.h - a minimal, hand-written view of the Proxy-Wasm ABI for freestanding C
 * (no libc). Only what the C plugins of pytest-proxy-wasm use is declared here. Functions that a
 * module never calls do not become imports, so declaring a hostcall is harmless.
 */
#ifndef PROXY_WASM_ABI_H
#define PROXY_WASM_ABI_H

#include <stddef.h>
#include <stdint.h>

#define PW_EXPORT(name) __attribute__((export_name(#name), used)) name
#define PW_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* Values shared by the ABI versions. */
enum pw_result { PW_OK = 0, PW_NOT_FOUND = 1, PW_BAD_ARGUMENT = 2 };
enum pw_log_level { PW_TRACE = 0, PW_DEBUG = 1, PW_INFO = 2, PW_WARN = 3, PW_ERROR = 4, PW_CRITICAL = 5 };
enum pw_map_type { PW_REQUEST_HEADERS = 0, PW_REQUEST_TRAILERS = 1, PW_RESPONSE_HEADERS = 2, PW_RESPONSE_TRAILERS = 3 };
enum pw_buffer_type { PW_BUFFER_VM_CONFIGURATION = 6, PW_BUFFER_PLUGIN_CONFIGURATION = 7 };
enum pw_action { PW_CONTINUE = 0, PW_PAUSE = 1 };

/* Hostcalls common to ABI 0.1.0 and 0.2.x. Results are enum pw_result. */
PW_IMPORT(proxy_log)
int32_t proxy_log(int32_t level, const char *message, size_t size);
PW_IMPORT(proxy_get_header_map_value)
int32_t proxy_get_header_map_value(int32_t map_type, const char *key, size_t key_size,
                                   const char **value, size_t *value_size);
PW_IMPORT(proxy_add_header_map_value)
int32_t proxy_add_header_map_value(int32_t map_type, const char *key, size_t key_size,
                                   const char *value, size_t value_size);
PW_IMPORT(proxy_get_buffer_bytes)
int32_t proxy_get_buffer_bytes(int32_t buffer_type, uint32_t start, uint32_t max_size,
                               const char **data, size_t *size);

/* ABI 0.1.0 only: the plugin configuration (replaced by proxy_get_buffer_bytes in 0.2.x). */
PW_IMPORT(proxy_get_configuration)
int32_t proxy_get_configuration(const char **data, size_t *size);

/*
 * Callbacks a plugin may export (define them with PW_EXPORT):
 *   ABI 0.2.1: proxy_on_request_headers(ctx, num_headers, end_of_stream) -> action
 *              proxy_on_response_headers(ctx, num_headers, end_of_stream) -> action
 *   ABI 0.1.0: proxy_on_request_headers(ctx, num_headers) -> action
 *              proxy_on_response_headers(ctx, num_headers) -> action
 *   both:      proxy_on_context_create(ctx, parent), proxy_on_vm_start(root, size) -> bool,
 *              proxy_on_configure(root, size) -> bool, proxy_on_done(ctx) -> bool,
 *              proxy_on_log(ctx), proxy_on_delete(ctx)
 * plus the ABI marker function proxy_abi_version_0_1_0 / proxy_abi_version_0_2_1.
 */

/* Small freestanding helpers (static inline: each plugin gets its own copy). */
static inline size_t pw_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline char *pw_append(char *dst, const char *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = src[i];
  return dst + n;
}

static inline int32_t pw_log_str(int32_t level, const char *s) {
  return proxy_log(level, s, pw_strlen(s));
}

/*
 * A bump allocator for the host's allocation requests: memory is never freed (plugins here keep
 * per-request allocations small). Grows linear memory when needed; returns 0 when it cannot.
 */
extern unsigned char __heap_base;
static uintptr_t pw_heap_top;

static inline void *pw_bump_alloc(size_t size) {
  if (pw_heap_top == 0) pw_heap_top = (uintptr_t)&__heap_base;
  uintptr_t start = (pw_heap_top + 7u) & ~(uintptr_t)7u;
  if (size > 0xFFFFFFFFu - start) return 0;
  uintptr_t end = start + size;
  uintptr_t limit = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end > limit) {
    uintptr_t pages = (end - limit + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  pw_heap_top = end;
  return (void *)start;
}

#endif /* PROXY_WASM_ABI_H */
