//! `gcd(i64, i64) -> i64`, and `noop(i64) -> i64` which returns its argument (to measure the
//! cost of a call).

use lode_guest::prelude::*;

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}

fn module() -> Module {
    Module::new("gcd")
        .scalar2("gcd", "greatest common divisor of two integers", gcd)
        .scalar1("noop", "returns its argument", |a: i64| a)
}

lode_guest::export!(module);
