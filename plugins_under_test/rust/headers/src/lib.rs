//! headers sample plugin (contract: plugins_under_test/CONTRACTS.md, "headers").
//!
//! Logs every request/response header at info, adds one header in each direction and removes
//! one header by name. Configuration is optional JSON:
//! `{"request_header": [name, value], "response_header": [name, value], "remove": name}`.

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(HeadersRoot { settings: Rc::new(Settings::default()) })
    });
}}

struct Settings {
    request_header: (String, String),
    response_header: (String, String),
    remove: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request_header: ("x-wasm-request".into(), "hello".into()),
            response_header: ("x-wasm-response".into(), "world".into()),
            remove: "x-remove-me".into(),
        }
    }
}

fn pair(value: Option<&Value>, default: &(String, String)) -> Result<(String, String), &'static str> {
    match value {
        None | Some(Value::Null) => Ok(default.clone()),
        Some(Value::Array(items)) if items.len() == 2 => match (items[0].as_str(), items[1].as_str()) {
            (Some(name), Some(value)) => Ok((name.to_string(), value.to_string())),
            _ => Err("header pair must be two strings"),
        },
        Some(_) => Err("header pair must be [name, value]"),
    }
}

fn parse_settings(raw: &[u8]) -> Result<Settings, &'static str> {
    let defaults = Settings::default();
    if raw.is_empty() {
        return Ok(defaults);
    }
    let value: Value = serde_json::from_slice(raw).map_err(|_| "not JSON")?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let remove = match object.get("remove") {
        None | Some(Value::Null) => defaults.remove.clone(),
        Some(v) => v.as_str().ok_or("\"remove\" is not a string")?.to_string(),
    };
    Ok(Settings {
        request_header: pair(object.get("request_header"), &defaults.request_header)?,
        response_header: pair(object.get("response_header"), &defaults.response_header)?,
        remove,
    })
}

struct HeadersRoot {
    settings: Rc<Settings>,
}

impl Context for HeadersRoot {}

impl RootContext for HeadersRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        match parse_settings(&raw) {
            Ok(settings) => {
                self.settings = Rc::new(settings);
                true
            }
            Err(reason) => {
                error!("headers: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HeadersFilter {
            settings: self.settings.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct HeadersFilter {
    settings: Rc<Settings>,
}

impl Context for HeadersFilter {}

impl HttpContext for HeadersFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.get_http_request_headers_bytes() {
            info!("request header: {}: {}", name, String::from_utf8_lossy(&value));
        }
        let (name, value) = &self.settings.request_header;
        self.add_http_request_header(name, value);
        self.remove_http_request_header(&self.settings.remove);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.get_http_response_headers_bytes() {
            info!("response header: {}: {}", name, String::from_utf8_lossy(&value));
        }
        let (name, value) = &self.settings.response_header;
        self.add_http_response_header(name, value);
        self.remove_http_response_header(&self.settings.remove);
        Action::Continue
    }
}
