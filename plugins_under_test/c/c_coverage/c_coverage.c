/* c_coverage: ABI 0.2.1 plugin built with DWARF (-g) for the coverage tests (see ../README.md).
 * A request whose :path starts with "/admin" takes the deny branch; any other takes the allow branch.
 * tests/plugin_coverage/test_line_hits.py asserts the lines by their "LINE:" markers. */
#include "../proxy_wasm_abi.h"

PW_IMPORT(proxy_send_local_response)
int32_t proxy_send_local_response(uint32_t status, const char *details, size_t details_size,
                                  const char *body, size_t body_size, const char *headers,
                                  size_t headers_size, int32_t grpc_status);

static const char VERDICT[] = "x-verdict";

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
  if (size < n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (text[i] != prefix[i]) return 0;
  }
  return 1;
}

static void deny(void) {
  static const char body[] = "denied";
  proxy_send_local_response(403, "", 0, body, sizeof(body) - 1, 0, 0, -1); /* LINE:deny */
}

static void allow(void) {
  proxy_add_header_map_value(PW_REQUEST_HEADERS, VERDICT, sizeof(VERDICT) - 1, "allow", 5); /* LINE:allow */
}

/* Never called: its lines stay unhit. */
void PW_EXPORT(c_coverage_unused)(void) {
  proxy_log(PW_INFO, "unused", 6); /* LINE:unused */
}

int32_t PW_EXPORT(proxy_on_request_headers)(uint32_t context_id, uint32_t headers, uint32_t eos) {
  (void)context_id;
  (void)headers;
  (void)eos;
  const char *path = 0;
  size_t size = 0;
  proxy_get_header_map_value(PW_REQUEST_HEADERS, ":path", 5, &path, &size);
  if (starts_with(path, size, "/admin")) {
    deny(); /* LINE:call-deny */
    return PW_PAUSE;
  }
  allow(); /* LINE:call-allow */
  return PW_CONTINUE;
}

int32_t PW_EXPORT(proxy_on_done)(uint32_t context_id) {
  (void)context_id;
  return 1;
}
