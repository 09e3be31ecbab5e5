// cpp_coverage: ABI 0.2.1 plugin in C++ (libc++, built with -g) for the coverage tests (see ../README.md).
// A :path under a denied prefix gets a 403 (deny branch); any other gets x-verdict: allow.
// tests/plugin_coverage/test_cpp_lines.py asserts the lines by their "LINE:" markers and the
// demangled (Itanium) names of the functions.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#define PW_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define PW_EXPORT(name) __attribute__((export_name(#name)))

extern "C" {
PW_IMPORT(proxy_log) int32_t proxy_log(int32_t level, const char* message, size_t size);
PW_IMPORT(proxy_get_header_map_value)
int32_t proxy_get_header_map_value(int32_t map, const char* key, size_t key_size, const char** value,
                                   size_t* value_size);
PW_IMPORT(proxy_add_header_map_value)
int32_t proxy_add_header_map_value(int32_t map, const char* key, size_t key_size, const char* value,
                                   size_t value_size);
PW_IMPORT(proxy_send_local_response)
int32_t proxy_send_local_response(uint32_t status, const char* details, size_t details_size,
                                  const char* body, size_t body_size, const char* headers,
                                  size_t headers_size, int32_t grpc_status);
}

namespace coverage {

enum class Verdict { allow, deny };

template <std::size_t N>
class PrefixRule {
 public:
  constexpr explicit PrefixRule(std::array<std::string_view, N> prefixes) : prefixes_(prefixes) {}

  Verdict judge(std::string_view path) const {
    for (std::string_view prefix : prefixes_) {
      if (path.starts_with(prefix)) {
        return Verdict::deny;  // LINE:deny
      }
    }
    return Verdict::allow;  // LINE:allow
  }

 private:
  std::array<std::string_view, N> prefixes_;
};

constexpr PrefixRule<2> kRule({std::string_view("/admin"), std::string_view("/internal")});

void reply(std::string_view body) {
  proxy_send_local_response(403, "", 0, body.data(), body.size(), nullptr, 0, -1);  // LINE:reply
}

}  // namespace coverage

// Never called: its lines stay unhit.
PW_EXPORT(cpp_coverage_unused) void unused() {
  proxy_log(2, "unused", 6);  // LINE:unused
}

extern "C" {
PW_EXPORT(proxy_abi_version_0_2_1) void abi_marker() {}
PW_EXPORT(proxy_on_context_create) void on_context_create(uint32_t, uint32_t) {}
PW_EXPORT(proxy_on_vm_start) int32_t on_vm_start(uint32_t, uint32_t) { return 1; }
PW_EXPORT(proxy_on_configure) int32_t on_configure(uint32_t, uint32_t) { return 1; }
PW_EXPORT(proxy_on_done) int32_t on_done(uint32_t) { return 1; }

PW_EXPORT(proxy_on_request_headers) int32_t on_request_headers(uint32_t, uint32_t, uint32_t) {
  const char* data = nullptr;
  std::size_t size = 0;
  proxy_get_header_map_value(0, ":path", 5, &data, &size);
  std::string_view path(data, size);
  coverage::Verdict verdict = coverage::kRule.judge(path);
  std::free(const_cast<char*>(data));
  if (verdict == coverage::Verdict::deny) {
    coverage::reply("denied");  // LINE:call-deny
    return 1;
  }
  proxy_add_header_map_value(0, "x-verdict", 9, "allow", 5);  // LINE:call-allow
  return 0;
}
}
