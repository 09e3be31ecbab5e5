//! shared-state sample plugin: two root contexts sharing data, a queue and metrics.
//! Contract: shared_state/README.md.

use log::{debug, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use std::rc::Rc;
use std::time::Duration;

const READER_ROOT_ID: &str = "reader";
const QUEUE_NAME: &str = "shared_state_ticks";
const REQUESTS_KEY: &str = "requests";
const TICKS_KEY: &str = "ticks";
const TICK_PERIOD: Duration = Duration::from_millis(1000);
const MAX_CAS_ATTEMPTS: u32 = 16;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(SharedRoot {
            context_id,
            role: Role::Unknown,
            queue_id: None,
            metrics: None,
        })
    });
}}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Unknown,
    Counter,
    Reader,
}

#[derive(Clone, Copy)]
struct Metrics {
    requests_total: u32,
    last_request_count: u32,
    request_headers: u32,
}

fn define_metrics() -> Option<Metrics> {
    let define = |kind, name: &str| match hostcalls::define_metric(kind, name) {
        Ok(id) => Some(id),
        Err(status) => {
            warn!("shared-state: define_metric {} failed: {:?}", name, status);
            None
        }
    };
    Some(Metrics {
        requests_total: define(MetricType::Counter, "shared_state_requests_total")?,
        last_request_count: define(MetricType::Gauge, "shared_state_last_request_count")?,
        request_headers: define(MetricType::Histogram, "shared_state_request_headers")?,
    })
}

/// Adds one to the decimal counter stored under `key`, retrying on CAS_MISMATCH.
/// Returns the new value, or None when every attempt lost the race.
fn increment_shared(key: &str) -> Option<u64> {
    for attempt in 1..=MAX_CAS_ATTEMPTS {
        let (value, cas) = match hostcalls::get_shared_data(key) {
            Ok(pair) => pair,
            Err(status) => {
                warn!("shared-state: get_shared_data {} failed: {:?}", key, status);
                return None;
            }
        };
        let current = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let next = current + 1;
        match hostcalls::set_shared_data(key, Some(next.to_string().as_bytes()), cas) {
            Ok(()) => return Some(next),
            Err(Status::CasMismatch) => {
                debug!("shared-state: cas mismatch on {} (attempt {}), retrying", key, attempt);
            }
            Err(status) => {
                warn!("shared-state: set_shared_data {} failed: {:?}", key, status);
                return None;
            }
        }
    }
    warn!("shared-state: gave up on {} after {} cas mismatches", key, MAX_CAS_ATTEMPTS);
    None
}

fn root_id() -> String {
    match hostcalls::get_property(vec!["plugin_root_id"]) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

fn vm_id() -> String {
    match hostcalls::get_property(vec!["plugin_vm_id"]) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

struct SharedRoot {
    context_id: u32,
    role: Role,
    queue_id: Option<u32>,
    metrics: Option<Metrics>,
}

impl SharedRoot {
    fn resolve_queue(&mut self) -> Option<u32> {
        if self.queue_id.is_none() {
            match hostcalls::resolve_shared_queue(&vm_id(), QUEUE_NAME) {
                Ok(Some(id)) => {
                    info!("shared-state: resolved queue {} id={}", QUEUE_NAME, id);
                    self.queue_id = Some(id);
                }
                Ok(None) => debug!("shared-state: queue {} not registered yet", QUEUE_NAME),
                Err(status) => warn!("shared-state: resolve_shared_queue failed: {:?}", status),
            }
        }
        self.queue_id
    }
}

impl Context for SharedRoot {}

impl RootContext for SharedRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let id = root_id();
        self.role = if id == READER_ROOT_ID {
            Role::Reader
        } else {
            Role::Counter
        };
        info!(
            "shared-state: root {} id=\"{}\" role={}",
            self.context_id,
            id,
            if self.role == Role::Reader { "reader" } else { "counter" }
        );
        self.metrics = define_metrics();
        match self.role {
            Role::Reader => {
                let queue_id = self.register_shared_queue(QUEUE_NAME);
                info!("shared-state: registered queue {} id={}", QUEUE_NAME, queue_id);
                self.queue_id = Some(queue_id);
            }
            _ => {
                self.set_tick_period(TICK_PERIOD);
                self.resolve_queue();
            }
        }
        true
    }

    fn on_tick(&mut self) {
        let ticks = match increment_shared(TICKS_KEY) {
            Some(n) => n,
            None => return,
        };
        info!("shared-state: tick {}", ticks);
        if let Some(queue_id) = self.resolve_queue() {
            let message = format!("tick {}", ticks);
            match self.enqueue_shared_queue(queue_id, Some(message.as_bytes())) {
                Ok(()) => debug!("shared-state: enqueued \"{}\" to queue {}", message, queue_id),
                Err(status) => warn!("shared-state: enqueue failed: {:?}", status),
            }
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        loop {
            match self.dequeue_shared_queue(queue_id) {
                Ok(Some(message)) => info!(
                    "shared-state: dequeued \"{}\" from queue {}",
                    String::from_utf8_lossy(&message),
                    queue_id
                ),
                Ok(None) => break,
                Err(status) => {
                    warn!("shared-state: dequeue failed: {:?}", status);
                    break;
                }
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CountingFilter {
            metrics: self.metrics.map(Rc::new),
            count: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct CountingFilter {
    metrics: Option<Rc<Metrics>>,
    count: Option<u64>,
}

impl Context for CountingFilter {}

impl HttpContext for CountingFilter {
    fn on_http_request_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        self.count = increment_shared(REQUESTS_KEY);
        if let Some(count) = self.count {
            info!("shared-state: request {}", count);
        }
        if let Some(metrics) = &self.metrics {
            let results = [
                hostcalls::increment_metric(metrics.requests_total, 1),
                hostcalls::record_metric(metrics.last_request_count, self.count.unwrap_or(0)),
                hostcalls::record_metric(metrics.request_headers, num_headers as u64),
            ];
            for result in results.iter() {
                if let Err(status) = result {
                    warn!("shared-state: metric update failed: {:?}", status);
                }
            }
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(count) = self.count {
            self.add_http_response_header("x-request-count", &count.to_string());
        }
        Action::Continue
    }
}
