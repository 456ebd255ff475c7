//! A plan from its author: any bytes, binary or JSON, through decoding and validation.
//! Errors and diagnostics are the expected answers; a panic is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = lode_plan::decode_plan(data) {
        let analysis = lode_plan::analyze_decoded(&plan, None);
        // Every diagnostic renders (paths, hints) without panicking.
        for diagnostic in &analysis.diagnostics {
            let _ = diagnostic.to_string();
        }
    }
});
