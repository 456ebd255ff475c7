//! `lode-guest`: write Lode WebAssembly extensions in Rust.
//!
//! A guest crate builds a [`Module`] of scalar functions, aggregates, table functions and
//! operators, and exports it with [`export!`]:
//!
//! ```ignore
//! use lode_guest::prelude::*;
//!
//! fn module() -> Module {
//!     Module::new("gcd").scalar2("gcd", "greatest common divisor", ["a", "b"], |a: i64, b: i64| -> i64 {
//!         let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
//!         while b != 0 { (a, b) = (b, a % b); }
//!         a as i64
//!     })
//! }
//! lode_guest::export!(module);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`: the output is a component that
//! implements the `lode:guest/extension` world (`guests/wit/guest.wit`).

#![warn(missing_docs)]

pub mod column;
#[cfg(feature = "driver")]
pub mod driver;
#[cfg(feature = "extension")]
mod module;
#[cfg(feature = "extension")]
mod runtime;
pub mod types;
#[cfg(feature = "extension")]
mod values;

#[cfg(feature = "extension")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "extension",
        pub_export_macro: true,
        export_macro_name: "export_extension",
        default_bindings_module: "lode_guest::bindings",
    });
}

/// The WIT `arrow` types of the world this crate is built for (the extension world's when a
/// workspace build enables both features).
#[doc(hidden)]
pub mod wit {
    #[cfg(feature = "extension")]
    pub use crate::bindings::lode::guest::arrow::*;
    #[cfg(all(feature = "driver", not(feature = "extension")))]
    pub use crate::driver::bindings::lode::guest::arrow::*;
}

pub use column::{Batch, BitmapBuilder, BooleanBuilder, Column, PrimitiveBuilder, VariableBuilder};
#[cfg(feature = "extension")]
pub use module::{Aggregate, CallError, Generator, Module, Operator, Signature, Volatility};
pub use types::{DataType, Field};
#[cfg(feature = "extension")]
pub use values::{Arg, Output};
pub use wit::TimeUnit;

#[cfg(feature = "extension")]
#[doc(hidden)]
pub use runtime::Runtime;

/// What a module's source needs: `use lode_guest::prelude::*;`.
#[cfg(feature = "extension")]
pub mod prelude {
    pub use crate::{
        Aggregate, Arg, Batch, BooleanBuilder, CallError, Column, DataType, Field, Generator,
        Module, Operator, Output, PrimitiveBuilder, Signature, VariableBuilder, Volatility,
    };
}

/// Exports a module: `export!(f)` where `f: fn() -> Module` builds it (called once per
/// instance, on first use).
#[macro_export]
macro_rules! export {
    ($build:path) => {
        #[unsafe(no_mangle)]
        fn __lode_guest_module() -> $crate::Module {
            $build()
        }
        const _: () = {
            use $crate::Runtime as LodeRuntime;
    $crate::bindings::export_extension!(LodeRuntime with_types_in $crate::bindings);
        };
    };
}
