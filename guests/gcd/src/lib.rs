//! `gcd(i64, i64) -> i64`, and `noop(i64) -> i64` which returns its argument (to measure the
//! cost of a call).

use lode_guest::prelude::*;

// Plain Rust with no guest dependency, so `lode-bench` compiles the same code natively.
mod gcd;
use gcd::gcd;

fn module() -> Module {
    Module::new("gcd")
        .scalar2(
            "gcd",
            "greatest common divisor of two integers",
            ["a", "b"],
            gcd,
        )
        .scalar1("noop", "returns its argument", ["a"], |a: i64| a)
}

lode_guest::export!(module);
