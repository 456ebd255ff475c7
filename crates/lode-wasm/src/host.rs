//! The store data of one guest instance: WASI with nothing granted by default, a memory
//! limiter that remembers refusing (and may account growth in the host's memory budget), and
//! captured guest output.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::policy::{Capability, Grant};

/// Guest stdout and stderr are kept (for error messages and logs) up to this many bytes.
const OUTPUT_CAPACITY: usize = 1 << 20;

/// The store data of one sandboxed guest. Hosts of other worlds (drivers) embed it in their
/// own store data and delegate WASI to it.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    output: MemoryOutputPipe,
}

/// The host's account of one instance's linear memory, besides the instance's own cap: a
/// query engine's memory pool, so that N instances cannot hold more than the process's bound.
/// What was granted is given back when the account is dropped, with its instance.
pub trait MemoryAccount: Send {
    /// Asked before linear memory grows by `bytes`; an error refuses the growth and says why
    /// (the guest then traps, and the call fails with [`WasmError::HostMemory`]).
    ///
    /// [`WasmError::HostMemory`]: crate::WasmError::HostMemory
    fn grow(&mut self, bytes: u64) -> Result<(), String>;
}

impl HostState {
    /// A sandbox under `grant`, its memory accounted nowhere but its own cap.
    pub fn new(grant: &Grant) -> Self {
        Self::accounted(grant, None)
    }

    /// A sandbox under `grant` whose memory growth is also asked of `account`.
    pub fn accounted(grant: &Grant, account: Option<Box<dyn MemoryAccount>>) -> Self {
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let mut builder = WasiCtxBuilder::new();
        builder.stdout(output.clone()).stderr(output.clone());
        if !grant.capabilities.contains(&Capability::Clocks) {
            builder
                .wall_clock(StoppedClock)
                .monotonic_clock(StoppedClock);
        }
        if !grant.capabilities.contains(&Capability::Random) {
            builder
                .secure_random(SmallRng::seed_from_u64(0))
                .insecure_random(SmallRng::seed_from_u64(1))
                .insecure_random_seed(2);
        }
        // No preopened directories, environment, arguments or sockets: WasiCtxBuilder grants
        // none of these unless asked, and Lode never asks.
        builder
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        HostState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit: grant.limits.memory_bytes,
                refused: false,
                account,
                host_refusal: None,
            },
            output,
        }
    }

    /// The memory limiter to install with `Store::limiter`.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    /// Whether the limiter refused to grow memory since the last call to
    /// [`HostState::clear_refusal`]: a trap that follows is the memory limit.
    pub fn memory_refused(&self) -> bool {
        self.limiter.refused
    }

    pub fn clear_refusal(&mut self) {
        self.limiter.refused = false;
        self.limiter.host_refusal = None;
    }

    /// The memory limit, in bytes.
    pub fn memory_limit(&self) -> u64 {
        self.limiter.limit
    }

    /// The last bytes the guest wrote to stdout or stderr (a panic message, typically).
    pub fn output_tail(&self) -> String {
        let bytes = self.output.contents();
        let tail = &bytes[bytes.len().saturating_sub(2000)..];
        String::from_utf8_lossy(tail).into_owned()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Clocks that read 0: what a guest without the `clocks` capability sees.
struct StoppedClock;

impl HostWallClock for StoppedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for StoppedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Caps linear memory and table growth, asks the host's account (if any) before memory grows,
/// and remembers refusing so a trap that follows can be reported as what it is.
pub(crate) struct MemoryLimiter {
    limit: u64,
    pub(crate) refused: bool,
    account: Option<Box<dyn MemoryAccount>>,
    /// Why the host's account refused the last growth.
    pub(crate) host_refusal: Option<String>,
}

impl MemoryLimiter {
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.refused = true;
            return Ok(false);
        }
        if let Some(account) = self.account.as_mut()
            && let Err(why) = account.grow(desired.saturating_sub(current) as u64)
        {
            self.host_refusal = Some(why);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= 1_000_000;
        self.refused |= !allowed;
        Ok(allowed)
    }
}
