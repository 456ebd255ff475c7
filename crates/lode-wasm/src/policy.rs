//! What the host grants guests: capabilities and limits.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Something a guest can ask the host for beyond pure computation. Denied unless the plan's
/// module entry requests it and the host policy allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The real wall and monotonic clocks. Without it, both read 0.
    Clocks,
    /// Entropy from the host. Without it, random numbers come from a fixed seed, so runs repeat.
    Random,
}

impl Capability {
    pub const ALL: [Capability; 2] = [Capability::Clocks, Capability::Random];

    pub fn name(self) -> &'static str {
        match self {
            Capability::Clocks => "clocks",
            Capability::Random => "random",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
                format!("unknown capability '{s}' (known: {})", names.join(", "))
            })
    }
}

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-instance limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory (and tables) an instance may grow to.
    pub memory_bytes: u64,
    /// Wall time one call may run before it is interrupted.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The tighter of these limits and a plan's request (a plan may lower limits, never raise).
    pub fn tightened(self, memory_bytes: Option<u64>, call_timeout: Option<Duration>) -> Limits {
        Limits {
            memory_bytes: memory_bytes.map_or(self.memory_bytes, |m| m.min(self.memory_bytes)),
            call_timeout: call_timeout.map_or(self.call_timeout, |t| t.min(self.call_timeout)),
        }
    }
}

/// The host's policy: the most any plan gets.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    pub allowed: BTreeSet<Capability>,
    pub limits: Limits,
}

/// What one module of one plan runs with: granted capabilities and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub capabilities: BTreeSet<Capability>,
    pub limits: Limits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_parse_by_name_and_unknown_ones_list_the_known() {
        for capability in Capability::ALL {
            assert_eq!(capability.name().parse::<Capability>(), Ok(capability));
        }
        assert_eq!(
            "network".parse::<Capability>(),
            Err("unknown capability 'network' (known: clocks, random)".to_string())
        );
    }

    #[test]
    fn a_plan_may_lower_limits_but_never_raise_them() {
        let host = Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(10),
        };
        assert_eq!(host.tightened(None, None), host);
        let lower = host.tightened(Some(16 << 20), Some(Duration::from_secs(1)));
        assert_eq!(lower.memory_bytes, 16 << 20);
        assert_eq!(lower.call_timeout, Duration::from_secs(1));
        let higher = host.tightened(Some(1 << 40), Some(Duration::from_secs(3600)));
        assert_eq!(higher, host);
    }
}
