/* c_abi_010: ABI 0.1.0 plugin in freestanding C (see ../README.md). */
#include "../proxy_wasm_abi.h"

#define CONFIG_MAX 1024

static char config[CONFIG_MAX];
static size_t config_size;

void PW_EXPORT(proxy_abi_version_0_1_0)(void) {}

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

/* 0.1.0: the configuration comes from proxy_get_configuration(ret_ptr, ret_size). */
int32_t PW_EXPORT(proxy_on_configure)(uint32_t root_id, uint32_t size) {
  (void)root_id;
  (void)size;
  const char *data = 0;
  size_t n = 0;
  config_size = 0;
  if (proxy_get_configuration(&data, &n) == PW_OK && data) {
    if (n > CONFIG_MAX) n = CONFIG_MAX;
    pw_append(config, data, n);
    config_size = n;
  }
  static const char prefix[] = "c_abi_010 config: ";
  static char line[sizeof(prefix) - 1 + CONFIG_MAX];
  char *p = pw_append(line, prefix, sizeof(prefix) - 1);
  p = pw_append(p, config, config_size);
  proxy_log(PW_INFO, line, (size_t)(p - line));
  return 1;
}

/* 0.1.0 signature: no end_of_stream argument. */
int32_t PW_EXPORT(proxy_on_request_headers)(uint32_t context_id, uint32_t headers) {
  (void)context_id;
  (void)headers;
  static const char abi_name[] = "x-abi";
  static const char abi_value[] = "0.1.0";
  static const char config_name[] = "x-config";
  proxy_add_header_map_value(PW_REQUEST_HEADERS, abi_name, sizeof(abi_name) - 1, abi_value,
                             sizeof(abi_value) - 1);
  proxy_add_header_map_value(PW_REQUEST_HEADERS, config_name, sizeof(config_name) - 1, config,
                             config_size);
  return PW_CONTINUE;
}

int32_t PW_EXPORT(proxy_on_response_headers)(uint32_t context_id, uint32_t headers) {
  (void)context_id;
  (void)headers;
  return PW_CONTINUE;
}

int32_t PW_EXPORT(proxy_on_done)(uint32_t context_id) {
  (void)context_id;
  return 1;
}

void PW_EXPORT(proxy_on_log)(uint32_t context_id) { (void)context_id; }

void PW_EXPORT(proxy_on_delete)(uint32_t context_id) { (void)context_id; }
