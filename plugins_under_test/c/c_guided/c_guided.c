/* c_guided: ABI 0.2.1 plugin built with DWARF (-g) whose branches nest on request headers, for the
 * coverage-guidance tests and benchmark (docs/coverage.md "Coverage-guided generation"):
 *   x-mode: debug                          -> x-level: 1 added
 *   ... and a :path starting with /admin    -> x-level: 2 added
 *   ... and x-token: letmein                -> a 418 local response
 * Any other request continues untouched. The "LINE:" markers name the lines the tests look at. */
#include "../proxy_wasm_abi.h"

PW_IMPORT(proxy_send_local_response)
int32_t proxy_send_local_response(uint32_t status, const char *details, size_t details_size,
                                  const char *body, size_t body_size, const char *headers,
                                  size_t headers_size, int32_t grpc_status);

static const char LEVEL[] = "x-level";

void PW_EXPORT(proxy_abi_version_0_2_1)(void) {}

void *PW_EXPORT(malloc)(size_t size) { return pw_bump_alloc(size); }

void PW_EXPORT(proxy_on_context_create)(uint32_t context_id, uint32_t parent_id) {
  (void)context_id;
  (void)parent_id;
}

int32_t PW_EXPORT(proxy_on_vm_start)(uint32_t root_id, uint32_t size) {
  (void)root_id;
  (void)size;
  return 1;
}

int32_t PW_EXPORT(proxy_on_configure)(uint32_t root_id, uint32_t size) {
  (void)root_id;
  (void)size;
  return 1;
}

static int starts_with(const char *text, size_t size, const char *prefix) {
  size_t n = pw_strlen(prefix);
  if (text == 0 || size < n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (text[i] != prefix[i]) return 0;
  }
  return 1;
}

static int header_is(const char *name, const char *expected) {
  const char *value = 0;
  size_t size = 0;
  if (proxy_get_header_map_value(PW_REQUEST_HEADERS, name, pw_strlen(name), &value, &size) != PW_OK) {
    return 0;
  }
  return size == pw_strlen(expected) && starts_with(value, size, expected);
}

int32_t PW_EXPORT(proxy_on_request_headers)(uint32_t context_id, uint32_t headers, uint32_t eos) {
  (void)context_id;
  (void)headers;
  (void)eos;
  if (!header_is("x-mode", "debug")) return PW_CONTINUE;
  proxy_add_header_map_value(PW_REQUEST_HEADERS, LEVEL, sizeof(LEVEL) - 1, "1", 1); /* LINE:level1 */
  const char *path = 0;
  size_t size = 0;
  proxy_get_header_map_value(PW_REQUEST_HEADERS, ":path", 5, &path, &size);
  if (!starts_with(path, size, "/admin")) return PW_CONTINUE;
  proxy_add_header_map_value(PW_REQUEST_HEADERS, LEVEL, sizeof(LEVEL) - 1, "2", 1); /* LINE:level2 */
  if (!header_is("x-token", "letmein")) return PW_CONTINUE;
  static const char body[] = "teapot";
  proxy_send_local_response(418, "", 0, body, sizeof(body) - 1, 0, 0, -1); /* LINE:level3 */
  return PW_PAUSE;
}

int32_t PW_EXPORT(proxy_on_done)(uint32_t context_id) {
  (void)context_id;
  return 1;
}
