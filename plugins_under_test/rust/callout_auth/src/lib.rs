//! callout-auth sample plugin (contract: plugins_under_test/CONTRACTS.md, "callout-auth").
//!
//! Every request is held while an HTTP callout to `cluster` (default
//! `outbound|5000||sealos.hub`) fetches `/bytes/1`; a non-empty answer whose first byte is even
//! lets the request through, anything else is answered with 403.

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;
use std::time::Duration;

const DEFAULT_CLUSTER: &str = "outbound|5000||sealos.hub";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(CalloutRoot { cluster: Rc::new(DEFAULT_CLUSTER.to_string()) })
    });
}}

struct CalloutRoot {
    cluster: Rc<String>,
}

impl Context for CalloutRoot {}

impl RootContext for CalloutRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        if raw.is_empty() {
            return true;
        }
        let cluster = serde_json::from_slice::<Value>(&raw)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.get("cluster").cloned()))
            .map(|c| match c {
                None | Some(Value::Null) => Some(DEFAULT_CLUSTER.to_string()),
                Some(Value::String(s)) => Some(s),
                Some(_) => None,
            });
        match cluster {
            Some(Some(cluster)) => {
                self.cluster = Rc::new(cluster);
                true
            }
            _ => {
                error!("callout-auth: invalid configuration");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CalloutFilter {
            cluster: self.cluster.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct CalloutFilter {
    cluster: Rc<String>,
}

impl HttpContext for CalloutFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let dispatched = self.dispatch_http_call(
            &self.cluster,
            vec![
                (":method", "GET"),
                (":path", "/bytes/1"),
                (":authority", "sealos.hub:5000"),
            ],
            None,
            vec![],
            Duration::from_millis(5000),
        );
        match dispatched {
            Ok(_token) => {
                info!("callout-auth: dispatched");
                Action::Pause
            }
            Err(status) => {
                info!("callout-auth: dispatch failed: {:?}", status);
                self.send_http_response(
                    503,
                    vec![("Powered-By", "proxy-wasm")],
                    Some(b"callout dispatch failed"),
                );
                Action::Pause
            }
        }
    }
}

impl Context for CalloutFilter {
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        let allowed = if num_headers > 0 && body_size > 0 {
            match self.get_http_call_response_body(0, body_size) {
                Some(body) => body.first().map_or(false, |b| b % 2 == 0),
                None => false,
            }
        } else {
            false
        };
        if allowed {
            info!("callout-auth: allowed");
            self.resume_http_request();
        } else {
            info!("callout-auth: forbidden");
            self.send_http_response(
                403,
                vec![("Powered-By", "proxy-wasm")],
                Some(b"Access forbidden."),
            );
        }
    }
}
