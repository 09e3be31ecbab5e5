//! auth_random: in the spirit of the Rust SDK's `http_auth_random` example. Every request is
//! held while an HTTP callout asks the `auth_cluster` for one random byte: an even byte lets the
//! request through, an odd one is a 403, a non-200 answer or a failed call is a 503. Responses
//! get the headers of the JSON config's `response_headers` (set) and lose `remove_headers`.

use log::{info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(AuthRoot { config: Rc::new(Config::default()) })
    });
}}

struct Config {
    cluster: String,
    authority: String,
    set_headers: Vec<(String, String)>,
    remove_headers: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster: "httpbin".to_string(),
            authority: "httpbin.org".to_string(),
            set_headers: vec![],
            remove_headers: vec![],
        }
    }
}

fn parse_config(raw: &[u8]) -> Result<Config, String> {
    let mut config = Config::default();
    if raw.is_empty() {
        return Ok(config);
    }
    let value: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let object = value.as_object().ok_or("not a JSON object")?;
    if let Some(v) = object.get("auth_cluster") {
        config.cluster = v.as_str().ok_or("auth_cluster: not a string")?.to_string();
    }
    if let Some(v) = object.get("auth_authority") {
        config.authority = v.as_str().ok_or("auth_authority: not a string")?.to_string();
    }
    if let Some(v) = object.get("response_headers") {
        for (name, value) in v.as_object().ok_or("response_headers: not an object")? {
            let value = value.as_str().ok_or("response_headers: values must be strings")?;
            config.set_headers.push((name.clone(), value.to_string()));
        }
    }
    if let Some(v) = object.get("remove_headers") {
        for name in v.as_array().ok_or("remove_headers: not a list")? {
            let name = name.as_str().ok_or("remove_headers: names must be strings")?;
            config.remove_headers.push(name.to_string());
        }
    }
    Ok(config)
}

struct AuthRoot {
    config: Rc<Config>,
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        match parse_config(&raw) {
            Ok(config) => {
                info!(
                    "auth-random: cluster={} set={} remove={}",
                    config.cluster,
                    config.set_headers.len(),
                    config.remove_headers.len()
                );
                self.config = Rc::new(config);
                true
            }
            Err(reason) => {
                warn!("auth-random: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthRandom { config: self.config.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AuthRandom {
    config: Rc<Config>,
}

impl AuthRandom {
    fn refuse(&self, status: u32, body: &str) {
        self.send_http_response(status, vec![("Powered-By", "proxy-wasm")], Some(body.as_bytes()));
    }
}

impl HttpContext for AuthRandom {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let dispatched = self.dispatch_http_call(
            &self.config.cluster,
            vec![
                (":method", "GET"),
                (":path", "/bytes/1"),
                (":authority", &self.config.authority),
                ("x-original-path", &path),
            ],
            None,
            vec![],
            Duration::from_secs(5),
        );
        match dispatched {
            Ok(_) => Action::Pause,
            Err(status) => {
                warn!("auth-random: dispatch failed: {:?}", status);
                self.refuse(503, "auth service unavailable\n");
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        for name in &self.config.remove_headers {
            self.set_http_response_header(name, None);
        }
        for (name, value) in &self.config.set_headers {
            self.set_http_response_header(name, Some(value));
        }
        Action::Continue
    }
}

impl Context for AuthRandom {
    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        if status != "200" {
            warn!("auth-random: auth service answered {:?}", status);
            self.refuse(503, "auth service unavailable\n");
            return;
        }
        let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
        match body.first() {
            Some(byte) if byte % 2 == 0 => {
                info!("auth-random: access granted (byte {})", byte);
                self.resume_http_request();
            }
            Some(byte) => {
                info!("auth-random: access forbidden (byte {})", byte);
                self.refuse(403, "Access forbidden.\n");
            }
            None => {
                warn!("auth-random: empty answer");
                self.refuse(503, "auth service unavailable\n");
            }
        }
    }
}
