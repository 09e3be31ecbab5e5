//! guide_callout sample plugin (contract: README.md in this folder).
//!
//! The `dispatch_http_call` snippet of the Istio wasm guide (seed guide, "Rust SDK 说明" item 6) as
//! written there, in a minimal plugin: every request waits for `GET /bytes/1` on
//! `outbound|5000||sealos.hub`; an even first byte lets it through, anything else gets 403.
//! The guide `unwrap()`s the dispatch result, so a failed dispatch panics.

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(GuideCalloutRoot) });
}}

struct GuideCalloutRoot;

impl Context for GuideCalloutRoot {}

impl RootContext for GuideCalloutRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(GuideCallout))
    }
}

struct GuideCallout;

impl HttpContext for GuideCallout {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let upstream = format!("outbound|{}||{}", 5000, "sealos.hub");
        self.dispatch_http_call(
            &upstream,
            vec![
                (":method", "GET"),
                (":path", "/bytes/1"),
                (":authority", "sealos.hub:5000"),
                (":scheme", "http"),
            ],
            None,
            vec![],
            Duration::from_secs(5),
        )
        .unwrap();
        Action::Pause
    }
}

impl Context for GuideCallout {
    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
        if let Some(body) = self.get_http_call_response_body(0, body_size) {
            if !body.is_empty() && body[0] % 2 == 0 {
                info!("Access granted.");
                self.resume_http_request();
                return;
            }
        }
        info!("Access forbidden.");
        self.send_http_response(
            403,
            vec![("Powered-By", "proxy-wasm")],
            Some(b"Access forbidden.\n"),
        );
    }
}
