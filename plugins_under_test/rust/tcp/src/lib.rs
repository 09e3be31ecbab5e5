//! tcp sample plugin: an L4 (network) filter counting bytes each way and closing the
//! connection when downstream data contains `CLOSE`. Contract: tcp/README.md.

use log::{info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, PeerType};

const MARKER: &[u8] = b"CLOSE";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(TcpRoot { metrics: None })
    });
}}

#[derive(Clone, Copy)]
struct Metrics {
    connections: u32,
    downstream_bytes: u32,
    upstream_bytes: u32,
    closed_by_marker: u32,
}

fn define(kind: MetricType, name: &str) -> Option<u32> {
    match hostcalls::define_metric(kind, name) {
        Ok(id) => Some(id),
        Err(status) => {
            warn!("tcp: define_metric {} failed: {:?}", name, status);
            None
        }
    }
}

fn bump(metric: Option<u32>, by: u64) {
    if let Some(id) = metric {
        if let Err(status) = hostcalls::increment_metric(id, by as i64) {
            warn!("tcp: increment_metric {} failed: {:?}", id, status);
        }
    }
}

struct TcpRoot {
    metrics: Option<Metrics>,
}

impl Context for TcpRoot {}

impl RootContext for TcpRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        self.metrics = Some(Metrics {
            connections: define(MetricType::Counter, "tcp_connections_total")
                .unwrap_or(u32::MAX),
            downstream_bytes: define(MetricType::Counter, "tcp_downstream_bytes_total")
                .unwrap_or(u32::MAX),
            upstream_bytes: define(MetricType::Counter, "tcp_upstream_bytes_total")
                .unwrap_or(u32::MAX),
            closed_by_marker: define(MetricType::Counter, "tcp_closed_by_marker_total")
                .unwrap_or(u32::MAX),
        });
        true
    }

    fn create_stream_context(&self, context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(ByteCounter {
            context_id,
            metrics: self.metrics,
            downstream: 0,
            upstream: 0,
            closed: false,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }
}

struct ByteCounter {
    context_id: u32,
    metrics: Option<Metrics>,
    downstream: u64,
    upstream: u64,
    closed: bool,
}

impl ByteCounter {
    fn metric(&self, pick: fn(&Metrics) -> u32) -> Option<u32> {
        self.metrics.as_ref().map(pick).filter(|id| *id != u32::MAX)
    }
}

impl Context for ByteCounter {}

impl StreamContext for ByteCounter {
    fn on_new_connection(&mut self) -> Action {
        info!("tcp: new connection {}", self.context_id);
        bump(self.metric(|m| m.connections), 1);
        Action::Continue
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Action {
        self.downstream += data_size as u64;
        info!(
            "tcp: downstream data size={} total={} end_of_stream={}",
            data_size, self.downstream, end_of_stream
        );
        bump(self.metric(|m| m.downstream_bytes), data_size as u64);
        if self.closed || data_size == 0 {
            return Action::Continue;
        }
        let data = self.get_downstream_data(0, data_size).unwrap_or_default();
        if data.windows(MARKER.len()).any(|w| w == MARKER) {
            info!("tcp: CLOSE marker seen, closing connection {}", self.context_id);
            self.closed = true;
            bump(self.metric(|m| m.closed_by_marker), 1);
            if let Err(status) = hostcalls::close_downstream() {
                warn!("tcp: close_downstream failed: {:?}", status);
            }
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_downstream_close(&mut self, peer_type: PeerType) {
        info!("tcp: downstream close peer={:?}", peer_type);
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Action {
        self.upstream += data_size as u64;
        info!(
            "tcp: upstream data size={} total={} end_of_stream={}",
            data_size, self.upstream, end_of_stream
        );
        bump(self.metric(|m| m.upstream_bytes), data_size as u64);
        Action::Continue
    }

    fn on_upstream_close(&mut self, peer_type: PeerType) {
        info!("tcp: upstream close peer={:?}", peer_type);
    }

    fn on_log(&mut self) {
        info!(
            "tcp: connection {} done downstream_bytes={} upstream_bytes={}",
            self.context_id, self.downstream, self.upstream
        );
    }
}
