//! grpc_ratelimit: a rate-limit shim in front of an Envoy-style rate limit service. Each request
//! asks `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` (unary gRPC) on the
//! configured cluster about one descriptor `{<descriptor_key>: <value of descriptor_header>}`.
//! OVER_LIMIT: 429 with `x-ratelimit-limited: true`. OK: the request goes on with
//! `x-ratelimit-checked: ok`. A gRPC error: the request goes on (`x-ratelimit-checked:
//! fail-open`) when `fail_open` is true, else 503. Contract: README.md.

use log::{info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;
use std::time::Duration;

const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
const METHOD: &str = "ShouldRateLimit";
const CODE_OK: u64 = 1;
const CODE_OVER_LIMIT: u64 = 2;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(RateLimitRoot { config: Rc::new(Config::default()) })
    });
}}

struct Config {
    cluster: String,
    domain: String,
    descriptor_key: String,
    descriptor_header: String,
    fail_open: bool,
    timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster: "ratelimit".to_string(),
            domain: "edge".to_string(),
            descriptor_key: "user".to_string(),
            descriptor_header: "x-user-id".to_string(),
            fail_open: true,
            timeout_ms: 200,
        }
    }
}

fn string_field(object: &serde_json::Map<String, Value>, name: &str, into: &mut String) -> Result<(), String> {
    if let Some(v) = object.get(name) {
        *into = v.as_str().ok_or(format!("{}: not a string", name))?.to_string();
    }
    Ok(())
}

fn parse_config(raw: &[u8]) -> Result<Config, String> {
    let mut config = Config::default();
    if raw.is_empty() {
        return Ok(config);
    }
    let value: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let object = value.as_object().ok_or("not a JSON object")?;
    string_field(object, "cluster", &mut config.cluster)?;
    string_field(object, "domain", &mut config.domain)?;
    string_field(object, "descriptor_key", &mut config.descriptor_key)?;
    string_field(object, "descriptor_header", &mut config.descriptor_header)?;
    if let Some(v) = object.get("fail_open") {
        config.fail_open = v.as_bool().ok_or("fail_open: not a boolean")?;
    }
    if let Some(v) = object.get("timeout_ms") {
        config.timeout_ms = v.as_u64().ok_or("timeout_ms: not a number")?;
    }
    Ok(config)
}

// --- the few protobuf bits the shim needs -------------------------------------------------

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// RateLimitRequest{domain, descriptors: [{entries: [{key, value}]}], hits_addend: 1}.
fn encode_request(domain: &str, key: &str, value: &str) -> Vec<u8> {
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, key.as_bytes());
    put_bytes(&mut entry, 2, value.as_bytes());
    let mut descriptor = Vec::new();
    put_bytes(&mut descriptor, 1, &entry);
    let mut request = Vec::new();
    put_bytes(&mut request, 1, domain.as_bytes());
    put_bytes(&mut request, 2, &descriptor);
    put_varint(&mut request, 3 << 3);
    put_varint(&mut request, 1);
    request
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// RateLimitResponse.overall_code (field 1, varint); 0 (UNKNOWN) when absent.
fn decode_overall_code(data: &[u8]) -> Option<u64> {
    let mut at = 0;
    let mut code = 0;
    while at < data.len() {
        let tag = get_varint(data, &mut at)?;
        match tag & 7 {
            0 => {
                let value = get_varint(data, &mut at)?;
                if tag >> 3 == 1 {
                    code = value;
                }
            }
            2 => {
                let len = get_varint(data, &mut at)? as usize;
                at = at.checked_add(len).filter(|end| *end <= data.len())?;
            }
            5 => at += 4,
            1 => at += 8,
            _ => return None,
        }
    }
    Some(code)
}

// --- contexts ----------------------------------------------------------------------------

struct RateLimitRoot {
    config: Rc<Config>,
}

impl Context for RateLimitRoot {}

impl RootContext for RateLimitRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        match parse_config(&raw) {
            Ok(config) => {
                self.config = Rc::new(config);
                true
            }
            Err(reason) => {
                warn!("grpc-ratelimit: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RateLimitFilter { config: self.config.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct RateLimitFilter {
    config: Rc<Config>,
}

impl RateLimitFilter {
    fn fail(&self, why: &str) {
        if self.config.fail_open {
            warn!("grpc-ratelimit: {}; failing open", why);
            self.set_http_request_header("x-ratelimit-checked", Some("fail-open"));
            self.resume_http_request();
        } else {
            warn!("grpc-ratelimit: {}; denying", why);
            self.send_http_response(503, vec![], Some(b"rate limit service unavailable\n"));
        }
    }
}

impl HttpContext for RateLimitFilter {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let header = &self.config.descriptor_header;
        let value = self.get_http_request_header(header).unwrap_or_else(|| "anonymous".to_string());
        let message = encode_request(&self.config.domain, &self.config.descriptor_key, &value);
        let dispatched = self.dispatch_grpc_call(
            &self.config.cluster,
            SERVICE,
            METHOD,
            vec![("x-ratelimit-domain", self.config.domain.as_bytes())],
            Some(&message),
            Duration::from_millis(self.config.timeout_ms),
        );
        match dispatched {
            Ok(_) => {
                info!("grpc-ratelimit: asked about {}={}", self.config.descriptor_key, value);
                Action::Pause
            }
            Err(status) => {
                if self.config.fail_open {
                    warn!("grpc-ratelimit: dispatch failed: {:?}; failing open", status);
                    self.set_http_request_header("x-ratelimit-checked", Some("fail-open"));
                    Action::Continue
                } else {
                    warn!("grpc-ratelimit: dispatch failed: {:?}; denying", status);
                    self.send_http_response(503, vec![], Some(b"rate limit service unavailable\n"));
                    Action::Pause
                }
            }
        }
    }
}

impl Context for RateLimitFilter {
    fn on_grpc_call_response(&mut self, _token: u32, status_code: u32, response_size: usize) {
        if status_code != 0 {
            let (_, message) = self.get_grpc_status();
            self.fail(&format!("gRPC status {} {:?}", status_code, message.unwrap_or_default()));
            return;
        }
        let body = self.get_grpc_call_response_body(0, response_size).unwrap_or_default();
        match decode_overall_code(&body) {
            Some(CODE_OK) => {
                info!("grpc-ratelimit: under the limit");
                self.set_http_request_header("x-ratelimit-checked", Some("ok"));
                self.resume_http_request();
            }
            Some(CODE_OVER_LIMIT) => {
                info!("grpc-ratelimit: over the limit");
                self.send_http_response(
                    429,
                    vec![("x-ratelimit-limited", "true")],
                    Some(b"too many requests\n"),
                );
            }
            Some(code) => self.fail(&format!("unexpected overall_code {}", code)),
            None => self.fail("undecodable answer"),
        }
    }
}
