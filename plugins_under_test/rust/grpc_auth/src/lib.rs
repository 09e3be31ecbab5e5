//! grpc-auth sample plugin: a gRPC unary callout decides allow/deny; `/stream` requests drive
//! a gRPC stream instead. Contract: grpc_auth/README.md.

use log::{error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::Value;
use std::rc::Rc;
use std::time::Duration;

const DEFAULT_CLUSTER: &str = "grpc_auth";
const SERVICE: &str = "auth.Authorizer";
const UNARY_METHOD: &str = "Check";
const STREAM_METHOD: &str = "Watch";
const STREAM_PATH: &str = "/stream";
/// Protobuf encoding of a message whose field 1 (string) is "check".
const CHECK_MESSAGE: &[u8] = b"\x0a\x05check";
const TIMEOUT: Duration = Duration::from_millis(5000);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(GrpcRoot { cluster: Rc::new(DEFAULT_CLUSTER.to_string()) })
    });
}}

struct GrpcRoot {
    cluster: Rc<String>,
}

impl Context for GrpcRoot {}

impl RootContext for GrpcRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        if raw.is_empty() {
            return true;
        }
        let parsed: Option<Value> = serde_json::from_slice(&raw).ok();
        let cluster = match parsed.as_ref().and_then(|v| v.as_object()) {
            Some(object) => match object.get("cluster") {
                None | Some(Value::Null) => Some(DEFAULT_CLUSTER.to_string()),
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => None,
            },
            None => None,
        };
        match cluster {
            Some(cluster) => {
                self.cluster = Rc::new(cluster);
                true
            }
            None => {
                error!("grpc-auth: invalid configuration");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(GrpcFilter {
            cluster: self.cluster.clone(),
            paused: false,
            stream: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct GrpcFilter {
    cluster: Rc<String>,
    /// The request is held and waits for a gRPC answer.
    paused: bool,
    stream: Option<u32>,
}

impl GrpcFilter {
    fn deny(&mut self, status: u32, body: &[u8]) {
        self.paused = false;
        self.send_http_response(status, vec![("Powered-By", "proxy-wasm")], Some(body));
    }

    fn resume(&mut self) {
        if self.paused {
            self.paused = false;
            self.resume_http_request();
        }
    }

    fn start_stream(&mut self) -> Action {
        let opened = self.open_grpc_stream(
            &self.cluster,
            SERVICE,
            STREAM_METHOD,
            vec![("x-wasm-plugin", b"grpc-auth".as_slice())],
        );
        let token = match opened {
            Ok(token) => token,
            Err(status) => {
                info!("grpc-auth: stream open failed: {:?}", status);
                self.deny(503, b"grpc stream failed");
                return Action::Pause;
            }
        };
        info!("grpc-auth: stream opened token={}", token);
        self.stream = Some(token);
        if let Err(status) = hostcalls::send_grpc_stream_message(token, Some(b"ping"), false) {
            info!("grpc-auth: stream send failed: {:?}", status);
            let _ = hostcalls::cancel_grpc_stream(token);
            self.stream = None;
            self.deny(503, b"grpc stream failed");
            return Action::Pause;
        }
        self.paused = true;
        Action::Pause
    }
}

impl HttpContext for GrpcFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        if path == STREAM_PATH {
            return self.start_stream();
        }
        match self.dispatch_grpc_call(
            &self.cluster,
            SERVICE,
            UNARY_METHOD,
            vec![],
            Some(CHECK_MESSAGE),
            TIMEOUT,
        ) {
            Ok(token) => {
                info!("grpc-auth: dispatched token={}", token);
                self.paused = true;
                Action::Pause
            }
            Err(status) => {
                info!("grpc-auth: dispatch failed: {:?}", status);
                self.deny(503, b"grpc dispatch failed");
                Action::Pause
            }
        }
    }
}

impl Context for GrpcFilter {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        info!(
            "grpc-auth: response token={} status={} size={}",
            token_id, status_code, response_size
        );
        if status_code == 0 {
            info!("grpc-auth: allowed");
            self.resume();
        } else {
            info!("grpc-auth: denied");
            self.deny(403, b"grpc auth denied");
        }
    }

    fn on_grpc_stream_initial_metadata(&mut self, token_id: u32, num_elements: u32) {
        info!(
            "grpc-auth: stream initial metadata token={} count={}",
            token_id, num_elements
        );
    }

    fn on_grpc_stream_message(&mut self, token_id: u32, message_size: usize) {
        let message = self.get_grpc_stream_message(0, message_size).unwrap_or_default();
        info!(
            "grpc-auth: stream message token={} size={} data={}",
            token_id,
            message_size,
            String::from_utf8_lossy(&message)
        );
        if self.stream == Some(token_id) {
            if let Err(status) = hostcalls::send_grpc_stream_message(token_id, Some(b"bye"), true) {
                warn!("grpc-auth: stream send failed: {:?}", status);
            }
            match hostcalls::close_grpc_stream(token_id) {
                Ok(()) => info!("grpc-auth: stream closed by plugin token={}", token_id),
                Err(status) => warn!("grpc-auth: stream close failed: {:?}", status),
            }
            self.stream = None;
            self.resume();
        }
    }

    fn on_grpc_stream_trailing_metadata(&mut self, token_id: u32, num_elements: u32) {
        info!(
            "grpc-auth: stream trailing metadata token={} count={}",
            token_id, num_elements
        );
    }

    fn on_grpc_stream_close(&mut self, token_id: u32, status_code: u32) {
        info!(
            "grpc-auth: stream close token={} status={}",
            token_id, status_code
        );
        if self.stream == Some(token_id) {
            self.stream = None;
            if status_code == 0 {
                self.resume();
            } else if self.paused {
                self.deny(503, b"grpc stream failed");
            }
        }
    }
}
