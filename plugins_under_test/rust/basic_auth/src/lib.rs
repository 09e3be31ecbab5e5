//! basic-auth sample plugin (contract: plugins_under_test/CONTRACTS.md, "basic-auth").
//!
//! The root context reads `{"username", "password", "realm"?}` from the plugin configuration;
//! every HTTP context compares the `authorization` request header with the expected
//! `Basic <base64(username:password)>` value and answers 401 itself on any mismatch.

use log::{debug, error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;

const DEFAULT_REALM: &str = "proxy-wasm";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(AuthRoot { settings: None })
    });
}}

struct Settings {
    expected: String,
    realm: String,
}

struct AuthRoot {
    settings: Option<Rc<Settings>>,
}

/// Standard base64 (RFC 4648, with `=` padding).
fn base64_encode(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity((input.len() + 2) / 3 * 4);
    for chunk in input.chunks(3) {
        let b0 = chunk[0] as u32;
        let b1 = chunk.get(1).copied().unwrap_or(0) as u32;
        let b2 = chunk.get(2).copied().unwrap_or(0) as u32;
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { TABLE[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { TABLE[n as usize & 63] as char } else { '=' });
    }
    out
}

fn parse_settings(raw: &[u8]) -> Result<Settings, &'static str> {
    if raw.is_empty() {
        return Err("empty configuration");
    }
    let value: serde_json::Value = serde_json::from_slice(raw).map_err(|_| "not JSON")?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let username = object
        .get("username")
        .and_then(|v| v.as_str())
        .ok_or("missing string \"username\"")?;
    let password = object
        .get("password")
        .and_then(|v| v.as_str())
        .ok_or("missing string \"password\"")?;
    let realm = match object.get("realm") {
        None | Some(serde_json::Value::Null) => DEFAULT_REALM,
        Some(v) => v.as_str().ok_or("\"realm\" is not a string")?,
    };
    let credentials = format!("{}:{}", username, password);
    Ok(Settings {
        expected: format!("Basic {}", base64_encode(credentials.as_bytes())),
        realm: realm.to_string(),
    })
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = match self.get_plugin_configuration() {
            Some(raw) => raw,
            None => {
                error!("basic-auth: invalid configuration: missing configuration");
                return false;
            }
        };
        match parse_settings(&raw) {
            Ok(settings) => {
                debug!("#on_configure -> {}", String::from_utf8_lossy(&raw));
                self.settings = Some(Rc::new(settings));
                true
            }
            Err(reason) => {
                error!("basic-auth: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthFilter {
            settings: self.settings.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AuthFilter {
    settings: Option<Rc<Settings>>,
}

impl Context for AuthFilter {}

impl HttpContext for AuthFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let realm = match &self.settings {
            Some(settings) => {
                let given = self.get_http_request_header_bytes("authorization");
                if given.as_deref() == Some(settings.expected.as_bytes()) {
                    return Action::Continue;
                }
                settings.realm.clone()
            }
            None => DEFAULT_REALM.to_string(),
        };
        info!("basic-auth: denied");
        let challenge = format!("Basic realm=\"{}\"", realm);
        self.send_http_response(
            401,
            vec![("WWW-Authenticate", challenge.as_str())],
            Some(b"Unauthorized"),
        );
        Action::Pause
    }
}
