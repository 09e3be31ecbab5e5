//! body sample plugin: buffers and rewrites HTTP bodies. Contract: body/README.md.

use log::{debug, error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(BodyRoot { settings: Rc::new(Settings::default()) })
    });
}}

struct Settings {
    request_field: String,
    request_value: Value,
    response_body: Vec<u8>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request_field: "rewritten".into(),
            request_value: Value::Bool(true),
            response_body: b"replaced by wasm".to_vec(),
        }
    }
}

fn parse_settings(raw: &[u8]) -> Result<Settings, &'static str> {
    let mut settings = Settings::default();
    if raw.is_empty() {
        return Ok(settings);
    }
    let value: Value = serde_json::from_slice(raw).map_err(|_| "not JSON")?;
    let object = value.as_object().ok_or("not a JSON object")?;
    match object.get("request_field") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => settings.request_field = s.clone(),
        Some(_) => return Err("\"request_field\" is not a string"),
    }
    if let Some(v) = object.get("request_value") {
        settings.request_value = v.clone();
    }
    match object.get("response_body") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => settings.response_body = s.clone().into_bytes(),
        Some(_) => return Err("\"response_body\" is not a string"),
    }
    Ok(settings)
}

struct BodyRoot {
    settings: Rc<Settings>,
}

impl Context for BodyRoot {}

impl RootContext for BodyRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        match parse_settings(&raw) {
            Ok(settings) => {
                self.settings = Rc::new(settings);
                true
            }
            Err(reason) => {
                error!("body: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BodyFilter {
            settings: self.settings.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct BodyFilter {
    settings: Rc<Settings>,
}

impl Context for BodyFilter {}

impl BodyFilter {
    /// Returns the new body when `body` is a JSON object, `None` otherwise.
    fn rewrite(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut value: Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object_mut()?;
        object.insert(
            self.settings.request_field.clone(),
            self.settings.request_value.clone(),
        );
        serde_json::to_vec(&value).ok()
    }
}

impl HttpContext for BodyFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            // The body length changes; let the proxy recompute it.
            self.remove_http_request_header("content-length");
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        debug!(
            "body: request chunk size={} end_of_stream={}",
            body_size, end_of_stream
        );
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self
            .get_http_request_body(0, body_size)
            .unwrap_or_default();
        match self.rewrite(&body) {
            Some(new_body) => {
                self.set_http_request_body(0, body_size, &new_body);
                info!(
                    "body: request rewritten ({} -> {} bytes)",
                    body.len(),
                    new_body.len()
                );
            }
            None => info!("body: request left unchanged (not a JSON object)"),
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            self.remove_http_response_header("content-length");
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        debug!(
            "body: response chunk size={} end_of_stream={}",
            body_size, end_of_stream
        );
        if !end_of_stream {
            return Action::Pause;
        }
        self.set_http_response_body(0, body_size, &self.settings.response_body);
        info!(
            "body: response replaced ({} -> {} bytes)",
            body_size,
            self.settings.response_body.len()
        );
        Action::Continue
    }
}
