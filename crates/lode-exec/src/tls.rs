//! The process's TLS crypto provider.
//!
//! rustls picks its provider from its crate features when exactly one is enabled. Lode's
//! build has two: `ring` (tonic, object_store's clients) and `aws-lc-rs` (delta-rs's kernel
//! enables it for its own HTTP client). With both, the first TLS connection or server would
//! panic, so every place that makes one calls [`install_provider`] first.

use std::sync::Once;

/// Installs rustls's `ring` provider as the process default, once; a provider installed
/// before (by an embedding program) is kept.
pub fn install_provider() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // An error means a default is already installed: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
