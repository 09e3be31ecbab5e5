//! probe sample plugin: calls every hostcall the Rust SDK links against, with ordinary and
//! edge-case arguments, and logs one line per call:
//! `probe <hostcall> <case>: status=<status> value=<value>`. Contract: probe/README.md.
//!
//! The SDK's own wrappers panic on statuses they do not expect, so the probe declares the
//! `proxy_*` imports itself (returning the raw status as u32) and decodes results by hand.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::ptr::{null, null_mut};

#[allow(clashing_extern_declarations)]
mod raw {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
        pub fn proxy_get_log_level(return_level: *mut u32) -> u32;
        pub fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
        pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
        pub fn proxy_get_buffer_bytes(
            buffer_type: u32,
            start: usize,
            max_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_buffer_bytes(
            buffer_type: u32,
            start: usize,
            size: usize,
            data: *const u8,
            data_size: usize,
        ) -> u32;
        pub fn proxy_get_header_map_pairs(
            map_type: u32,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_header_map_pairs(map_type: u32, data: *const u8, size: usize) -> u32;
        pub fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_add_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
        ) -> u32;
        pub fn proxy_get_property(
            path_data: *const u8,
            path_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_property(
            path_data: *const u8,
            path_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_get_shared_data(
            key_data: *const u8,
            key_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
            return_cas: *mut u32,
        ) -> u32;
        pub fn proxy_set_shared_data(
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
            cas: u32,
        ) -> u32;
        pub fn proxy_register_shared_queue(
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub fn proxy_resolve_shared_queue(
            vm_id_data: *const u8,
            vm_id_size: usize,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub fn proxy_dequeue_shared_queue(
            queue_id: u32,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_enqueue_shared_queue(queue_id: u32, data: *const u8, size: usize) -> u32;
        pub fn proxy_continue_stream(stream_type: u32) -> u32;
        pub fn proxy_close_stream(stream_type: u32) -> u32;
        pub fn proxy_send_local_response(
            status_code: u32,
            details_data: *const u8,
            details_size: usize,
            body_data: *const u8,
            body_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        pub fn proxy_http_call(
            upstream_data: *const u8,
            upstream_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            body_data: *const u8,
            body_size: usize,
            trailers_data: *const u8,
            trailers_size: usize,
            timeout: u32,
            return_token: *mut u32,
        ) -> u32;
        pub fn proxy_grpc_call(
            upstream_data: *const u8,
            upstream_size: usize,
            service_data: *const u8,
            service_size: usize,
            method_data: *const u8,
            method_size: usize,
            metadata_data: *const u8,
            metadata_size: usize,
            message_data: *const u8,
            message_size: usize,
            timeout: u32,
            return_token: *mut u32,
        ) -> u32;
        pub fn proxy_grpc_stream(
            upstream_data: *const u8,
            upstream_size: usize,
            service_data: *const u8,
            service_size: usize,
            method_data: *const u8,
            method_size: usize,
            metadata_data: *const u8,
            metadata_size: usize,
            return_token: *mut u32,
        ) -> u32;
        pub fn proxy_grpc_send(token: u32, data: *const u8, size: usize, end_stream: u32) -> u32;
        pub fn proxy_grpc_cancel(token: u32) -> u32;
        pub fn proxy_grpc_close(token: u32) -> u32;
        pub fn proxy_get_status(
            return_code: *mut u32,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_effective_context(context_id: u32) -> u32;
        pub fn proxy_call_foreign_function(
            name_data: *const u8,
            name_size: usize,
            args_data: *const u8,
            args_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_done() -> u32;
        pub fn proxy_define_metric(
            metric_type: u32,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32;
        pub fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
        pub fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    }
}

// Enum values of the ABI (proxy-wasm spec v0.2.1).
const LOG_INFO: u32 = 2;
const BUFFER_HTTP_REQUEST_BODY: u32 = 0;
const BUFFER_HTTP_RESPONSE_BODY: u32 = 1;
const BUFFER_HTTP_CALL_RESPONSE_BODY: u32 = 4;
const BUFFER_VM_CONFIGURATION: u32 = 6;
const BUFFER_PLUGIN_CONFIGURATION: u32 = 7;
const MAP_REQUEST_HEADERS: u32 = 0;
const MAP_REQUEST_TRAILERS: u32 = 1;
const MAP_RESPONSE_HEADERS: u32 = 2;
const MAP_HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
const METRIC_COUNTER: u32 = 0;
const METRIC_GAUGE: u32 = 1;
const METRIC_HISTOGRAM: u32 = 2;
const INVALID_ENUM: u32 = 99;
const UNKNOWN_ID: u32 = 0x7fff_fff0;
/// An address far past any memory the module has (for the opt-in bad-pointer cases).
const BAD_POINTER: usize = 0xffff_ff00;

const MISSING_CLUSTER: &str = "probe_missing_cluster";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(ProbeRoot { context_id })
    });
}}

fn status_name(status: u32) -> String {
    let name = match status {
        0 => "OK",
        1 => "NOT_FOUND",
        2 => "BAD_ARGUMENT",
        3 => "SERIALIZATION_FAILURE",
        4 => "PARSE_FAILURE",
        5 => "BAD_EXPRESSION",
        6 => "INVALID_MEMORY_ACCESS",
        7 => "EMPTY",
        8 => "CAS_MISMATCH",
        9 => "RESULT_MISMATCH",
        10 => "INTERNAL_FAILURE",
        11 => "BROKEN_CONNECTION",
        12 => "UNIMPLEMENTED",
        other => return format!("UNKNOWN_{}", other),
    };
    name.to_string()
}

/// Writes one probe line straight through `proxy_log` (level info).
fn report(hostcall: &str, case: &str, status: u32, value: &str) {
    let line = format!(
        "probe {} {}: status={} value={}",
        hostcall,
        case,
        status_name(status),
        value
    );
    unsafe {
        raw::proxy_log(LOG_INFO, line.as_ptr(), line.len());
    }
}

/// Takes ownership of a buffer the host allocated through `proxy_on_memory_allocate`.
unsafe fn take(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        Some(Vec::from_raw_parts(data, size, size))
    }
}

fn show_bytes(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "-".to_string(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    }
}

fn serialize_pairs(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Decodes a serialized header map; `None` when it is malformed.
fn deserialize_pairs(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let slice = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]) as usize)
    };
    let count = word(0)?;
    let mut pos = 4usize.checked_add(count.checked_mul(8)?)?;
    let mut pairs = Vec::new();
    for n in 0..count {
        let key_len = word(4 + n * 8)?;
        let value_len = word(8 + n * 8)?;
        let key = bytes.get(pos..pos + key_len)?;
        pos += key_len + 1;
        let value = bytes.get(pos..pos + value_len)?;
        pos += value_len + 1;
        pairs.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Some(pairs)
}

fn show_pairs(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "-".to_string(),
        Some(b) => match deserialize_pairs(b) {
            Some(pairs) => format!("{:?}", pairs),
            None => format!("malformed({} bytes)", b.len()),
        },
    }
}

fn property_path(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

// ---- one helper per hostcall shape -------------------------------------------------------

fn get_buffer(case: &str, buffer_type: u32, start: usize, max_size: usize) {
    let mut data = null_mut();
    let mut size = 0;
    let status =
        unsafe { raw::proxy_get_buffer_bytes(buffer_type, start, max_size, &mut data, &mut size) };
    let value = unsafe { take(data, size) };
    report("proxy_get_buffer_bytes", case, status, &show_bytes(&value));
}

fn set_buffer(case: &str, buffer_type: u32, start: usize, size: usize, value: &[u8]) {
    let status =
        unsafe { raw::proxy_set_buffer_bytes(buffer_type, start, size, value.as_ptr(), value.len()) };
    report("proxy_set_buffer_bytes", case, status, "-");
}

fn get_pairs(case: &str, map_type: u32) -> Option<Vec<u8>> {
    let mut data = null_mut();
    let mut size = 0;
    let status = unsafe { raw::proxy_get_header_map_pairs(map_type, &mut data, &mut size) };
    let value = unsafe { take(data, size) };
    report("proxy_get_header_map_pairs", case, status, &show_pairs(&value));
    value
}

fn set_pairs(case: &str, map_type: u32, serialized: &[u8]) {
    let status =
        unsafe { raw::proxy_set_header_map_pairs(map_type, serialized.as_ptr(), serialized.len()) };
    report("proxy_set_header_map_pairs", case, status, "-");
}

fn get_value(case: &str, map_type: u32, key: &str) {
    let mut data = null_mut();
    let mut size = 0;
    let status = unsafe {
        raw::proxy_get_header_map_value(map_type, key.as_ptr(), key.len(), &mut data, &mut size)
    };
    let value = unsafe { take(data, size) };
    report("proxy_get_header_map_value", case, status, &show_bytes(&value));
}

fn add_value(case: &str, map_type: u32, key: &str, value: &str) {
    let status = unsafe {
        raw::proxy_add_header_map_value(
            map_type,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    report("proxy_add_header_map_value", case, status, "-");
}

fn replace_value(case: &str, map_type: u32, key: &str, value: &str) {
    let status = unsafe {
        raw::proxy_replace_header_map_value(
            map_type,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    report("proxy_replace_header_map_value", case, status, "-");
}

fn remove_value(case: &str, map_type: u32, key: &str) {
    let status = unsafe { raw::proxy_remove_header_map_value(map_type, key.as_ptr(), key.len()) };
    report("proxy_remove_header_map_value", case, status, "-");
}

fn get_property(case: &str, path: &[u8]) {
    let mut data = null_mut();
    let mut size = 0;
    let status =
        unsafe { raw::proxy_get_property(path.as_ptr(), path.len(), &mut data, &mut size) };
    let value = unsafe { take(data, size) };
    report("proxy_get_property", case, status, &show_bytes(&value));
}

fn set_property(case: &str, path: &[u8], value: &[u8]) {
    let status = unsafe {
        raw::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len())
    };
    report("proxy_set_property", case, status, "-");
}

fn get_shared(case: &str, key: &str) -> u32 {
    let mut data = null_mut();
    let mut size = 0;
    let mut cas = 0u32;
    let status = unsafe {
        raw::proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas)
    };
    let value = unsafe { take(data, size) };
    // The cas is a host-chosen number: report only whether one was given.
    let shown = format!(
        "{} cas={}",
        show_bytes(&value),
        if cas == 0 { "0" } else { "nonzero" }
    );
    report("proxy_get_shared_data", case, status, &shown);
    cas
}

fn set_shared(case: &str, key: &str, value: &[u8], cas: u32) {
    let status = unsafe {
        raw::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    };
    report("proxy_set_shared_data", case, status, "-");
}

fn register_queue(case: &str, name: &str) -> Option<u32> {
    let mut id = 0u32;
    let status = unsafe { raw::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) };
    report("proxy_register_shared_queue", case, status, if status == 0 { "id" } else { "-" });
    if status == 0 {
        Some(id)
    } else {
        None
    }
}

fn resolve_queue(case: &str, vm_id: &str, name: &str, expected: Option<u32>) {
    let mut id = 0u32;
    let status = unsafe {
        raw::proxy_resolve_shared_queue(vm_id.as_ptr(), vm_id.len(), name.as_ptr(), name.len(), &mut id)
    };
    let shown = match (status, expected) {
        (0, Some(e)) if e == id => "same_id",
        (0, _) => "other_id",
        _ => "-",
    };
    report("proxy_resolve_shared_queue", case, status, shown);
}

fn dequeue(case: &str, queue_id: u32) {
    let mut data = null_mut();
    let mut size = 0;
    let status = unsafe { raw::proxy_dequeue_shared_queue(queue_id, &mut data, &mut size) };
    let value = unsafe { take(data, size) };
    report("proxy_dequeue_shared_queue", case, status, &show_bytes(&value));
}

fn enqueue(case: &str, queue_id: u32, value: &[u8]) {
    let status = unsafe { raw::proxy_enqueue_shared_queue(queue_id, value.as_ptr(), value.len()) };
    report("proxy_enqueue_shared_queue", case, status, "-");
}

fn define_metric(case: &str, metric_type: u32, name: &str) -> Option<u32> {
    let mut id = 0u32;
    let status =
        unsafe { raw::proxy_define_metric(metric_type, name.as_ptr(), name.len(), &mut id) };
    report("proxy_define_metric", case, status, if status == 0 { "id" } else { "-" });
    if status == 0 {
        Some(id)
    } else {
        None
    }
}

fn get_metric(case: &str, id: u32) {
    let mut value = 0u64;
    let status = unsafe { raw::proxy_get_metric(id, &mut value) };
    let shown = if status == 0 { value.to_string() } else { "-".to_string() };
    report("proxy_get_metric", case, status, &shown);
}

fn record_metric(case: &str, id: u32, value: u64) {
    let status = unsafe { raw::proxy_record_metric(id, value) };
    report("proxy_record_metric", case, status, "-");
}

fn increment_metric(case: &str, id: u32, offset: i64) {
    let status = unsafe { raw::proxy_increment_metric(id, offset) };
    report("proxy_increment_metric", case, status, "-");
}

fn http_call(case: &str, cluster: &str, headers: &[u8]) {
    let mut token = 0u32;
    let status = unsafe {
        raw::proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            headers.as_ptr(),
            headers.len(),
            null(),
            0,
            null(),
            0,
            1000,
            &mut token,
        )
    };
    report("proxy_http_call", case, status, if status == 0 { "token" } else { "-" });
}

fn grpc_call(case: &str, cluster: &str) {
    let mut token = 0u32;
    let service = "probe.Service";
    let method = "Call";
    let message = b"probe";
    let status = unsafe {
        raw::proxy_grpc_call(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            null(),
            0,
            message.as_ptr(),
            message.len(),
            1000,
            &mut token,
        )
    };
    report("proxy_grpc_call", case, status, if status == 0 { "token" } else { "-" });
    if status == 0 {
        // Nobody wants the answer: cancel it (the SDK ignores callbacks for unknown tokens).
        let status = unsafe { raw::proxy_grpc_cancel(token) };
        report("proxy_grpc_cancel", &format!("{}_token", case), status, "-");
    }
}

fn grpc_stream(case: &str, cluster: &str) {
    let mut token = 0u32;
    let service = "probe.Service";
    let method = "Stream";
    let status = unsafe {
        raw::proxy_grpc_stream(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            null(),
            0,
            &mut token,
        )
    };
    report("proxy_grpc_stream", case, status, if status == 0 { "token" } else { "-" });
    if status == 0 {
        let status = unsafe { raw::proxy_grpc_cancel(token) };
        report("proxy_grpc_cancel", &format!("{}_token", case), status, "-");
    }
}

fn grpc_status(case: &str) {
    let mut code = 0u32;
    let mut data = null_mut();
    let mut size = 0;
    let status = unsafe { raw::proxy_get_status(&mut code, &mut data, &mut size) };
    let message = unsafe { take(data, size) };
    let shown = if status == 0 {
        format!("code={} message={}", code, show_bytes(&message))
    } else {
        "-".to_string()
    };
    report("proxy_get_status", case, status, &shown);
}

fn foreign_function(case: &str, name: &str, args: &[u8]) {
    let mut data = null_mut();
    let mut size = 0;
    let status = unsafe {
        raw::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            &mut data,
            &mut size,
        )
    };
    let value = unsafe { take(data, size) };
    report("proxy_call_foreign_function", case, status, &show_bytes(&value));
}

// ---- contexts ---------------------------------------------------------------------------

struct ProbeRoot {
    context_id: u32,
}

impl Context for ProbeRoot {}

impl RootContext for ProbeRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        get_buffer("configure_plugin_configuration", BUFFER_PLUGIN_CONFIGURATION, 0, usize::MAX);
        get_buffer("configure_vm_configuration", BUFFER_VM_CONFIGURATION, 0, usize::MAX);
        get_property("configure_plugin_root_id", &property_path(&["plugin_root_id"]));
        let status = unsafe { raw::proxy_set_tick_period_milliseconds(0) };
        report("proxy_set_tick_period_milliseconds", "configure_zero", status, "-");
        let status = unsafe { raw::proxy_set_effective_context(self.context_id) };
        report("proxy_set_effective_context", "configure_root", status, "-");
        true
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(ProbeFilter { context_id }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct ProbeFilter {
    context_id: u32,
}

impl ProbeFilter {
    fn request_header(&self, name: &str) -> Option<String> {
        let mut data = null_mut();
        let mut size = 0;
        let status = unsafe {
            raw::proxy_get_header_map_value(
                MAP_REQUEST_HEADERS,
                name.as_ptr(),
                name.len(),
                &mut data,
                &mut size,
            )
        };
        let value = unsafe { take(data, size) };
        if status == 0 {
            Some(String::from_utf8_lossy(&value.unwrap_or_default()).into_owned())
        } else {
            None
        }
    }

    fn probe_logging_and_time(&self) {
        let mut level = 0u32;
        let status = unsafe { raw::proxy_get_log_level(&mut level) };
        report("proxy_get_log_level", "ordinary", status, &level.to_string());

        let message = "probe: log at an invalid level";
        let status = unsafe { raw::proxy_log(INVALID_ENUM, message.as_ptr(), message.len()) };
        report("proxy_log", "invalid_level", status, "-");
        let status = unsafe { raw::proxy_log(LOG_INFO, null(), 0) };
        report("proxy_log", "empty_message", status, "-");

        let mut now = 0u64;
        let status = unsafe { raw::proxy_get_current_time_nanoseconds(&mut now) };
        report(
            "proxy_get_current_time_nanoseconds",
            "ordinary",
            status,
            if now > 0 { "nonzero" } else { "0" },
        );

        let status = unsafe { raw::proxy_set_tick_period_milliseconds(0) };
        report("proxy_set_tick_period_milliseconds", "zero", status, "-");
    }

    fn probe_buffers(&self) {
        get_buffer("plugin_configuration", BUFFER_PLUGIN_CONFIGURATION, 0, usize::MAX);
        get_buffer("plugin_configuration_max_zero", BUFFER_PLUGIN_CONFIGURATION, 0, 0);
        get_buffer("plugin_configuration_start_past_end", BUFFER_PLUGIN_CONFIGURATION, 1 << 20, 16);
        get_buffer("vm_configuration", BUFFER_VM_CONFIGURATION, 0, usize::MAX);
        get_buffer("request_body_in_headers", BUFFER_HTTP_REQUEST_BODY, 0, usize::MAX);
        get_buffer("http_call_response_body_outside_callback", BUFFER_HTTP_CALL_RESPONSE_BODY, 0, usize::MAX);
        get_buffer("invalid_type", INVALID_ENUM, 0, usize::MAX);
        set_buffer("plugin_configuration", BUFFER_PLUGIN_CONFIGURATION, 0, 0, b"x");
        set_buffer("invalid_type", INVALID_ENUM, 0, 0, b"x");
    }

    fn probe_headers(&self) {
        let current = get_pairs("request_headers", MAP_REQUEST_HEADERS);
        get_pairs("response_headers_in_request", MAP_RESPONSE_HEADERS);
        get_pairs("request_trailers_in_headers", MAP_REQUEST_TRAILERS);
        get_pairs("http_call_response_headers_outside_callback", MAP_HTTP_CALL_RESPONSE_HEADERS);
        get_pairs("invalid_type", INVALID_ENUM);
        // Write the request headers back unchanged (same serialized bytes).
        if let Some(serialized) = &current {
            set_pairs("request_headers_unchanged", MAP_REQUEST_HEADERS, serialized);
        }
        set_pairs("invalid_type", INVALID_ENUM, &serialize_pairs(&[]));
        set_pairs("malformed", MAP_REQUEST_TRAILERS, &[0xff, 0xff, 0xff, 0x7f]);

        get_value("path", MAP_REQUEST_HEADERS, ":path");
        get_value("missing", MAP_REQUEST_HEADERS, "x-probe-missing");
        get_value("empty_value", MAP_REQUEST_HEADERS, "x-probe-empty");
        get_value("empty_key", MAP_REQUEST_HEADERS, "");
        get_value("uppercase_key", MAP_REQUEST_HEADERS, "X-PROBE-EMPTY");
        get_value("invalid_type", INVALID_ENUM, ":path");

        add_value("ordinary", MAP_REQUEST_HEADERS, "x-probe-added", "1");
        add_value("empty_value", MAP_REQUEST_HEADERS, "x-probe-added-empty", "");
        add_value("invalid_type", INVALID_ENUM, "x-probe-added", "1");
        get_value("after_add", MAP_REQUEST_HEADERS, "x-probe-added");

        replace_value("missing", MAP_REQUEST_HEADERS, "x-probe-replaced", "2");
        replace_value("existing", MAP_REQUEST_HEADERS, "x-probe-replaced", "3");
        replace_value("invalid_type", INVALID_ENUM, "x-probe-replaced", "1");
        get_value("after_replace", MAP_REQUEST_HEADERS, "x-probe-replaced");

        remove_value("existing", MAP_REQUEST_HEADERS, "x-probe-remove");
        remove_value("missing", MAP_REQUEST_HEADERS, "x-probe-missing");
        remove_value("invalid_type", INVALID_ENUM, "x-probe-missing");
        get_value("after_remove", MAP_REQUEST_HEADERS, "x-probe-remove");
    }

    fn probe_properties(&self) {
        get_property("request_path", &property_path(&["request", "path"]));
        get_property("plugin_root_id", &property_path(&["plugin_root_id"]));
        get_property("plugin_name", &property_path(&["plugin_name"]));
        get_property("unknown", &property_path(&["probe", "unknown"]));
        get_property("empty_path", &[]);
        set_property("ordinary", &property_path(&["probe_value"]), b"1");
        get_property("after_set", &property_path(&["probe_value"]));
        set_property("empty_path", &[], b"1");
    }

    fn probe_shared_data(&self) {
        get_shared("missing_key", "probe_missing_key");
        get_shared("empty_key", "");
        set_shared("no_cas", "probe_key", b"one", 0);
        let cas = get_shared("after_set", "probe_key");
        set_shared("stale_cas", "probe_key", b"two", cas.wrapping_add(1000));
        set_shared("current_cas", "probe_key", b"three", cas);
        get_shared("after_cas_set", "probe_key");
        set_shared("empty_value", "probe_empty_value", b"", 0);
        get_shared("empty_value", "probe_empty_value");
    }

    fn probe_queues(&self) {
        let queue = register_queue("ordinary", "probe_queue");
        register_queue("again", "probe_queue");
        register_queue("empty_name", "");
        let vm_id = self
            .request_header("x-probe-vm-id")
            .unwrap_or_default();
        resolve_queue("registered", &vm_id, "probe_queue", queue);
        resolve_queue("unknown", &vm_id, "probe_unknown_queue", None);
        resolve_queue("unknown_vm", "probe_unknown_vm", "probe_queue", None);
        if let Some(queue) = queue {
            // Drain what earlier requests may have left, quietly.
            loop {
                let mut data = null_mut();
                let mut size = 0;
                let status =
                    unsafe { raw::proxy_dequeue_shared_queue(queue, &mut data, &mut size) };
                unsafe { take(data, size) };
                if status != 0 {
                    break;
                }
            }
            dequeue("empty", queue);
            enqueue("ordinary", queue, b"probe-item");
            dequeue("after_enqueue", queue);
            dequeue("drained", queue);
        }
        dequeue("unknown_id", UNKNOWN_ID);
        enqueue("unknown_id", UNKNOWN_ID, b"x");
    }

    fn probe_metrics(&self) {
        let counter = define_metric("counter", METRIC_COUNTER, "probe_counter");
        let gauge = define_metric("gauge", METRIC_GAUGE, "probe_gauge");
        let histogram = define_metric("histogram", METRIC_HISTOGRAM, "probe_histogram");
        define_metric("counter_again", METRIC_COUNTER, "probe_counter");
        define_metric("invalid_type", INVALID_ENUM, "probe_invalid");
        define_metric("empty_name", METRIC_COUNTER, "");
        if let Some(id) = counter {
            increment_metric("counter", id, 1);
            increment_metric("counter_negative", id, -1);
            record_metric("counter", id, 5);
            get_metric("counter", id);
        }
        if let Some(id) = gauge {
            record_metric("gauge", id, 42);
            increment_metric("gauge_negative", id, -2);
            get_metric("gauge", id);
        }
        if let Some(id) = histogram {
            record_metric("histogram", id, 7);
            increment_metric("histogram", id, 1);
            get_metric("histogram", id);
        }
        increment_metric("unknown_id", UNKNOWN_ID, 1);
        record_metric("unknown_id", UNKNOWN_ID, 1);
        get_metric("unknown_id", UNKNOWN_ID);
    }

    fn probe_callouts(&self) {
        let headers = serialize_pairs(&[
            (":method", b"GET".as_slice()),
            (":path", b"/probe".as_slice()),
            (":authority", b"probe".as_slice()),
        ]);
        http_call("bad_cluster", MISSING_CLUSTER, &headers);
        http_call("empty_cluster", "", &headers);
        grpc_call("bad_cluster", MISSING_CLUSTER);
        grpc_stream("bad_cluster", MISSING_CLUSTER);
        let status = unsafe { raw::proxy_grpc_send(UNKNOWN_ID, b"x".as_ptr(), 1, 0) };
        report("proxy_grpc_send", "unknown_token", status, "-");
        let status = unsafe { raw::proxy_grpc_cancel(UNKNOWN_ID) };
        report("proxy_grpc_cancel", "unknown_token", status, "-");
        let status = unsafe { raw::proxy_grpc_close(UNKNOWN_ID) };
        report("proxy_grpc_close", "unknown_token", status, "-");
        grpc_status("outside_callback");
        // A callout to a cluster the test names itself, through the SDK so that the
        // response is routed back to this context.
        if let Some(cluster) = self.request_header("x-probe-cluster") {
            let result = self.dispatch_http_call(
                &cluster,
                vec![(":method", "GET"), (":path", "/probe"), (":authority", "probe")],
                None,
                vec![],
                std::time::Duration::from_millis(1000),
            );
            let (status, value) = match result {
                Ok(_) => (0, "token"),
                Err(status) => (status as u32, "-"),
            };
            report("proxy_http_call", "named_cluster", status, value);
        }
    }

    fn probe_misc(&self) {
        foreign_function("unknown", "probe_unknown_function", b"");
        let status = unsafe { raw::proxy_set_effective_context(self.context_id) };
        report("proxy_set_effective_context", "self", status, "-");
        let status = unsafe { raw::proxy_set_effective_context(UNKNOWN_ID) };
        report("proxy_set_effective_context", "unknown_id", status, "-");
        let status = unsafe { raw::proxy_set_effective_context(self.context_id) };
        report("proxy_set_effective_context", "restore", status, "-");
        let status = unsafe { raw::proxy_continue_stream(INVALID_ENUM) };
        report("proxy_continue_stream", "invalid_type", status, "-");
        let status = unsafe { raw::proxy_close_stream(INVALID_ENUM) };
        report("proxy_close_stream", "invalid_type", status, "-");
        let status = unsafe { raw::proxy_done() };
        report("proxy_done", "from_http_context", status, "-");
    }

    fn probe_bad_pointers(&self) {
        let mut data = null_mut();
        let mut size = 0;
        let status = unsafe {
            raw::proxy_get_header_map_value(
                MAP_REQUEST_HEADERS,
                BAD_POINTER as *const u8,
                64,
                &mut data,
                &mut size,
            )
        };
        unsafe { take(data, size) };
        report("proxy_get_header_map_value", "bad_key_pointer", status, "-");
        let status = unsafe { raw::proxy_log(LOG_INFO, BAD_POINTER as *const u8, 64) };
        report("proxy_log", "bad_message_pointer", status, "-");
        let status = unsafe {
            raw::proxy_get_current_time_nanoseconds(BAD_POINTER as *mut u64)
        };
        report("proxy_get_current_time_nanoseconds", "bad_return_pointer", status, "-");
    }
}

impl Context for ProbeFilter {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, body: usize, trailers: usize) {
        get_pairs("http_call_response_headers", MAP_HTTP_CALL_RESPONSE_HEADERS);
        get_buffer("http_call_response_body", BUFFER_HTTP_CALL_RESPONSE_BODY, 0, usize::MAX);
        report(
            "on_http_call_response",
            "named_cluster",
            0,
            &format!("headers={} body={} trailers={}", headers, body, trailers),
        );
    }
}

impl HttpContext for ProbeFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.probe_logging_and_time();
        self.probe_buffers();
        self.probe_headers();
        self.probe_properties();
        self.probe_shared_data();
        self.probe_queues();
        self.probe_metrics();
        self.probe_callouts();
        self.probe_misc();
        if self.request_header("x-probe-bad-pointer").is_some() {
            self.probe_bad_pointers();
        }
        if self.request_header("x-probe-local-response").is_some() {
            let headers = serialize_pairs(&[("x-probe", b"local".as_slice())]);
            let body = b"probe local response";
            let details = "probe";
            let status = unsafe {
                raw::proxy_send_local_response(
                    200,
                    details.as_ptr(),
                    details.len(),
                    body.as_ptr(),
                    body.len(),
                    headers.as_ptr(),
                    headers.len(),
                    -1,
                )
            };
            report("proxy_send_local_response", "ordinary", status, "-");
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let case = if end_of_stream { "request_body_end" } else { "request_body_chunk" };
        get_buffer(case, BUFFER_HTTP_REQUEST_BODY, 0, body_size);
        get_buffer("request_body_start_past_end", BUFFER_HTTP_REQUEST_BODY, body_size + 1, 16);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        get_pairs("response_headers", MAP_RESPONSE_HEADERS);
        get_value("response_missing", MAP_RESPONSE_HEADERS, "x-probe-missing");
        add_value("response", MAP_RESPONSE_HEADERS, "x-probe-response", "1");
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let case = if end_of_stream { "response_body_end" } else { "response_body_chunk" };
        get_buffer(case, BUFFER_HTTP_RESPONSE_BODY, 0, body_size);
        Action::Continue
    }
}
