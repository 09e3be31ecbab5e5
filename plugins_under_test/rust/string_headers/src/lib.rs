//! string_headers sample plugin (contract: README.md in this folder).
//!
//! An ordinary plugin written with the SDK's `String` header API: it logs the user-agent, tags the
//! request with `x-ua-class: bot|browser|other`, and logs and tags the response headers.
//! The SDK converts every header value with `String::from_utf8(..).unwrap()`, so a value that is not
//! UTF-8 (e.g. the Latin-1 `caf\xe9`) makes it panic; the plugin does not guard against that.

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(StringHeadersRoot) });
}}

struct StringHeadersRoot;

impl Context for StringHeadersRoot {}

impl RootContext for StringHeadersRoot {
    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(StringHeaders { context_id }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

fn classify(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if ["bot", "crawler", "spider", "curl", "wget"].iter().any(|word| ua.contains(word)) {
        "bot"
    } else if ua.starts_with("mozilla/") {
        "browser"
    } else {
        "other"
    }
}

struct StringHeaders {
    context_id: u32,
}

impl Context for StringHeaders {}

impl HttpContext for StringHeaders {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let class = match self.get_http_request_header("user-agent") {
            Some(user_agent) => {
                info!("string-headers: #{} user-agent: {}", self.context_id, user_agent);
                classify(&user_agent)
            }
            None => "other",
        };
        let count = self.get_http_request_headers().len();
        info!("string-headers: #{} {} request headers, class {}", self.context_id, count, class);
        self.add_http_request_header("x-ua-class", class);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.get_http_response_headers() {
            info!("string-headers: #{} <- {}: {}", self.context_id, name, value);
        }
        self.add_http_response_header("x-string-headers", "1");
        Action::Continue
    }
}
