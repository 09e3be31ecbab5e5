//! service sample plugin (contract: README.md in this folder).
//!
//! A root-only "service" plugin, the kind deployed as an `envoy.bootstrap.wasm` singleton: it
//! creates no HTTP or stream context. Every tick it counts in shared data (CAS), publishes an event
//! on its shared queue and reports to a stats cluster with an HTTP callout.
//! Configuration: `{"tick_ms": 1000, "cluster": "outbound|8080||stats.svc"}`.

use log::{debug, error, info, warn};
use proxy_wasm::traits::{Context, RootContext};
use proxy_wasm::types::{LogLevel, Status};
use serde_json::Value;
use std::time::Duration;

const TICKS_KEY: &str = "service.ticks";
const QUEUE_NAME: &str = "service.events";
const DEFAULT_TICK_MS: u64 = 1000;
const DEFAULT_CLUSTER: &str = "outbound|8080||stats.svc";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Service {
            tick_ms: DEFAULT_TICK_MS,
            cluster: DEFAULT_CLUSTER.to_string(),
            queue_id: None,
        })
    });
}}

struct Service {
    tick_ms: u64,
    cluster: String,
    queue_id: Option<u32>,
}

/// The host part of an Istio cluster name `direction|port|subset|host`, else the name itself.
fn cluster_host(cluster: &str) -> &str {
    match cluster.split('|').collect::<Vec<_>>().as_slice() {
        [_, _, _, host] if !host.is_empty() => host,
        _ => cluster,
    }
}

fn parse_config(raw: &[u8]) -> Result<(u64, String), &'static str> {
    if raw.is_empty() {
        return Ok((DEFAULT_TICK_MS, DEFAULT_CLUSTER.to_string()));
    }
    let value: Value = serde_json::from_slice(raw).map_err(|_| "not JSON")?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let tick_ms = match object.get("tick_ms") {
        None => DEFAULT_TICK_MS,
        Some(v) => v.as_u64().filter(|ms| *ms > 0).ok_or("tick_ms must be a positive integer")?,
    };
    let cluster = match object.get("cluster") {
        None => DEFAULT_CLUSTER.to_string(),
        Some(v) => v.as_str().filter(|c| !c.is_empty()).ok_or("cluster must be a non-empty string")?.to_string(),
    };
    Ok((tick_ms, cluster))
}

impl Service {
    /// Adds one to the shared tick counter, retrying when another VM wrote in between.
    fn count_tick(&self) -> Option<u64> {
        loop {
            let (value, cas) = self.get_shared_data(TICKS_KEY);
            let current = value
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let next = current + 1;
            match self.set_shared_data(TICKS_KEY, Some(next.to_string().as_bytes()), cas) {
                Ok(()) => return Some(next),
                Err(Status::CasMismatch) => continue,
                Err(status) => {
                    warn!("service: cannot store {}: {:?}", TICKS_KEY, status);
                    return None;
                }
            }
        }
    }
}

impl Context for Service {
    fn on_http_call_response(&mut self, token_id: u32, _num_headers: usize, body_size: usize, _num_trailers: usize) {
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_else(|| "none".to_string());
        info!("service: report answered {}", status);
        debug!("service: report {} body {} bytes", token_id, body_size);
    }
}

impl RootContext for Service {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        info!("service: vm started");
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        match parse_config(&raw) {
            Ok((tick_ms, cluster)) => {
                self.tick_ms = tick_ms;
                self.cluster = cluster;
            }
            Err(reason) => {
                error!("service: invalid configuration: {}", reason);
                return false;
            }
        }
        let queue_id = self.register_shared_queue(QUEUE_NAME);
        self.queue_id = Some(queue_id);
        self.set_tick_period(Duration::from_millis(self.tick_ms));
        info!(
            "service: tick every {} ms, reporting to {}, queue {} id={}",
            self.tick_ms, self.cluster, QUEUE_NAME, queue_id
        );
        true
    }

    fn on_tick(&mut self) {
        let Some(ticks) = self.count_tick() else { return };
        info!("service: tick {}", ticks);
        if let Some(queue_id) = self.queue_id {
            let event = format!("tick {}", ticks);
            if let Err(status) = self.enqueue_shared_queue(queue_id, Some(event.as_bytes())) {
                warn!("service: enqueue failed: {:?}", status);
            }
        }
        let dispatched = self.dispatch_http_call(
            &self.cluster,
            vec![
                (":method", "GET"),
                (":path", "/report"),
                (":authority", cluster_host(&self.cluster)),
            ],
            None,
            vec![],
            Duration::from_secs(5),
        );
        if let Err(status) = dispatched {
            warn!("service: report dispatch failed: {:?}", status);
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(event)) = self.dequeue_shared_queue(queue_id) {
            debug!("service: event {:?}", String::from_utf8_lossy(&event));
        }
    }
}
