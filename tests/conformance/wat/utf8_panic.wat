;; Behaves like a Rust SDK 0.2.x plugin that reads request headers as strings: on a header value that
;; is not UTF-8 (any byte >= 0x80) it logs the SDK's panic line at critical level and traps.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 256) "panicked at src/lib.rs:31:62:\0acalled `Result::unwrap()` on an `Err` value: FromUtf8Error { bytes: [99, 97, 102, 233], error: Utf8Error { valid_up_to: 3, error_len: Some(1) } }")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get $n)) (i32.const 15))
                               (i32.const -16)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $ptr i32) (local $end i32) (local $i i32)
    (drop (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
    (local.set $ptr (i32.load (i32.const 16)))
    (local.set $end (i32.add (local.get $ptr) (i32.load (i32.const 20))))
    ;; data starts after the count and the (key size, value size) pairs
    (local.set $i (i32.add (i32.add (local.get $ptr) (i32.const 4))
                           (i32.mul (i32.load (local.get $ptr)) (i32.const 8))))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.ge_u (i32.load8_u (local.get $i)) (i32.const 128))
          (then
            (drop (call $log (i32.const 5) (i32.const 256) (i32.const 175)))
            unreachable))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 0)))
