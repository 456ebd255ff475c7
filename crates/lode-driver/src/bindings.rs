//! Host bindings of the `lode:guest/driver` world (`guests/wit/guest.wit`). Arrow types are
//! `lode-wasm`'s, so result batches are laid out by the same marshalling as every guest call.

wasmtime::component::bindgen!({
    path: "../../guests/wit",
    world: "driver",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "lode:guest/arrow": arrow,
        "lode:guest/planner.relation": crate::planner::Relation,
        "lode:guest/session.query": crate::query::Query,
    },
});

/// The `arrow` interface as `lode-wasm` mirrors it. It has types only: nothing to implement
/// or link, which the traits and function below say in the shape `bindgen!` expects.
pub mod arrow {
    pub use lode_wasm::wit::{Batch, Schema};
    use wasmtime::component::{HasData, Linker};

    pub trait Host {}
    impl<T: ?Sized> Host for T {}

    pub trait HostWithStore<T>: HasData {}
    impl<T, D: HasData> HostWithStore<T> for D {}

    pub fn add_to_linker<T, D>(
        _linker: &mut Linker<T>,
        _host_getter: fn(&mut T) -> D::Data<'_>,
    ) -> wasmtime::Result<()>
    where
        D: HostWithStore<T>,
    {
        Ok(())
    }
}

pub use lode::guest::planner::{Error as GuestError, JoinKind, SetOp, SortKey};
pub use lode::guest::session::Rows;
