//! The host against real guests built from `guests/` (`make guests`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, Fields};
use lode_wasm::{HostPolicy, WasmRuntime};

fn guest(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guests/out")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests first with `make guests`",
            path.display()
        )
    })
}

#[test]
fn gcd_over_a_batch() {
    let runtime = WasmRuntime::new(HostPolicy::default(), None, None).unwrap();
    let module = runtime.load(&guest("gcd"), None).unwrap();
    assert_eq!(module.name().name, "gcd");
    let names: Vec<&str> = module.functions().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["gcd", "noop"]);

    let grant = runtime.grant(module.name(), &[], None, None).unwrap();
    let mut instance = module.instantiate(&grant).unwrap();
    let args: Fields = vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Int64, true),
    ]
    .into();
    let result = instance.bind_scalar("gcd", &args).unwrap();
    assert_eq!(result.data_type(), &DataType::Int64);
    let handle = instance.open_scalar("gcd", &args).unwrap();
    let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(12), None, Some(-35), Some(7)]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(18), Some(3), Some(14), Some(0)]));
    let out = instance
        .call_scalar(handle, "gcd", &[a.slice(0, 4), b], 4, &result)
        .unwrap();
    let out = out.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(
        out.iter().collect::<Vec<_>>(),
        vec![Some(6), None, Some(7), Some(7)]
    );
}
