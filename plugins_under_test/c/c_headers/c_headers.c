/* c_headers: ABI 0.2.1 plugin in freestanding C (see ../README.md). */
#include "../proxy_wasm_abi.h"

static const char PLUGIN_HEADER[] = "x-c-plugin";
static const char PLUGIN_VALUE[] = "1";

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

/* Looks up a request header; a missing header reads as the empty string. */
static void request_header(const char *name, const char **value, size_t *size) {
  *value = "";
  *size = 0;
  const char *v = 0;
  size_t n = 0;
  if (proxy_get_header_map_value(PW_REQUEST_HEADERS, name, pw_strlen(name), &v, &n) == PW_OK && v) {
    *value = v;
    *size = n;
  }
}

static char log_line[512];

int32_t PW_EXPORT(proxy_on_request_headers)(uint32_t context_id, uint32_t headers, uint32_t eos) {
  (void)context_id;
  (void)headers;
  (void)eos;
  const char *method, *path;
  size_t method_size, path_size;
  request_header(":method", &method, &method_size);
  request_header(":path", &path, &path_size);

  static const char prefix[] = "c_headers: ";
  size_t room = sizeof(log_line) - (sizeof(prefix) - 1) - 1;
  if (method_size > room) method_size = room;
  room -= method_size;
  if (path_size > room) path_size = room;
  char *p = pw_append(log_line, prefix, sizeof(prefix) - 1);
  p = pw_append(p, method, method_size);
  *p++ = ' ';
  p = pw_append(p, path, path_size);
  proxy_log(PW_INFO, log_line, (size_t)(p - log_line));

  proxy_add_header_map_value(PW_REQUEST_HEADERS, PLUGIN_HEADER, sizeof(PLUGIN_HEADER) - 1,
                             PLUGIN_VALUE, sizeof(PLUGIN_VALUE) - 1);
  return PW_CONTINUE;
}

int32_t PW_EXPORT(proxy_on_response_headers)(uint32_t context_id, uint32_t headers, uint32_t eos) {
  (void)context_id;
  (void)headers;
  (void)eos;
  proxy_add_header_map_value(PW_RESPONSE_HEADERS, PLUGIN_HEADER, sizeof(PLUGIN_HEADER) - 1,
                             PLUGIN_VALUE, sizeof(PLUGIN_VALUE) - 1);
  return PW_CONTINUE;
}

int32_t PW_EXPORT(proxy_on_done)(uint32_t context_id) {
  (void)context_id;
  return 1;
}

void PW_EXPORT(proxy_on_log)(uint32_t context_id) { (void)context_id; }

void PW_EXPORT(proxy_on_delete)(uint32_t context_id) { (void)context_id; }
