//! `lode-bench wasm`: Wasm functions against the same Rust compiled natively, in one process.
//!
//! - `gcd(a, b)` and `sentiment(text)` over in-memory tables, through DataFusion: the Wasm UDF
//!   (as `lode sql --module` registers it) vs a native `ScalarUDF` built from the guest's own
//!   source file (`guests/gcd/src/gcd.rs`, `guests/sentiment/src/score.rs`);
//! - the cost of one call into a guest (`noop` over a 1-row batch) and of one instance
//!   (instantiating a compiled module);
//! - compiling a module cold, loading it from the disk cache, and from memory.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Array, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use futures::TryStreamExt;
use lode_exec::{Engine, EngineConfig, TableBindings};
use lode_wasm::{HostPolicy, Origin, WasmRuntime};

use crate::Result;

#[path = "../../../guests/gcd/src/gcd.rs"]
mod native_gcd;
#[path = "../../../guests/sentiment/src/score.rs"]
#[allow(dead_code)]
mod native_sentiment;

pub(crate) const BATCH_ROWS: usize = 8192;

/// One measured comparison.
struct Comparison {
    name: &'static str,
    rows: usize,
    wasm: Duration,
    native: Duration,
    target: f64,
}

pub fn run(rows: usize, guests: &Path, report: &Path, iterations: usize) -> Result<()> {
    let runtime = crate::tokio_runtime()?;
    let read = |name: &str| crate::read_guest(guests, name);
    let gcd_wasm = read("gcd")?;
    let sentiment_wasm = read("sentiment")?;
    let comparisons = runtime.block_on(async {
        let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
        let config = EngineConfig {
            module_cache: None,
            ..EngineConfig::default()
        };
        let engine = Engine::new(&TableBindings::new(), config)
            .await
            .map_err(|e| e.to_string())?;
        engine
            .register_module(gcd_wasm.clone())
            .map_err(|e| e.to_string())?;
        engine
            .register_module(sentiment_wasm)
            .map_err(|e| e.to_string())?;
        let ctx = engine.session();
        eprintln!("generating {rows} rows of numbers and of comment text");
        ctx.register_table("numbers", numbers(rows, partitions)?)
            .map_err(|e| e.to_string())?;
        ctx.register_table("comments", comments(rows, partitions)?)
            .map_err(|e| e.to_string())?;
        ctx.register_udf(ScalarUDF::new_from_impl(NativeGcd::default()));
        ctx.register_udf(ScalarUDF::new_from_impl(NativeSentiment::default()));
        let mut out = Vec::new();
        for (name, wasm_sql, native_sql, target) in [
            (
                "gcd(i64, i64)",
                "SELECT sum(gcd(a, b)) FROM numbers",
                "SELECT sum(native_gcd(a, b)) FROM numbers",
                1.5,
            ),
            (
                "sentiment(text)",
                "SELECT sum(sentiment(text)['compound']) FROM comments",
                "SELECT sum(native_sentiment(text)['compound']) FROM comments",
                2.0,
            ),
        ] {
            let (wasm, wasm_result) = time_query(&engine, wasm_sql, iterations).await?;
            let (native, native_result) = time_query(&engine, native_sql, iterations).await?;
            if wasm_result != native_result {
                return Err(format!(
                    "{name}: Wasm and native results differ ({wasm_result} vs {native_result})"
                ));
            }
            eprintln!(
                "{name}: wasm {:.3} s, native {:.3} s, ratio {:.2}",
                wasm.as_secs_f64(),
                native.as_secs_f64(),
                wasm.as_secs_f64() / native.as_secs_f64()
            );
            out.push(Comparison {
                name,
                rows,
                wasm,
                native,
                target,
            });
        }
        Ok::<_, String>(out)
    })?;
    let costs = call_and_instance_costs(&gcd_wasm, 200_000, 2_000)?;
    let compile = compile_times(&gcd_wasm)?;
    let section = render(&comparisons, &costs, &compile, iterations);
    crate::update_report(report, "wasm", &section)?;
    eprintln!("report written to {}", report.display());
    Ok(())
}

/// The median wall time of `iterations` runs of `sql`, and its (single-value) result.
pub(crate) async fn time_query(
    engine: &Engine,
    sql: &str,
    iterations: usize,
) -> Result<(Duration, String)> {
    let mut times = Vec::new();
    let mut result = String::new();
    for _ in 0..iterations {
        let started = Instant::now();
        let frame = engine.session().sql(sql).await.map_err(|e| e.to_string())?;
        let batches: Vec<RecordBatch> = frame
            .execute_stream()
            .await
            .map_err(|e| e.to_string())?
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        let value = batches
            .first()
            .map(|b| datafusion::arrow::util::display::array_value_to_string(b.column(0), 0))
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        // Sums of floats in arrival order differ in the last digits; compare 6 significant.
        result = match value.parse::<f64>() {
            Ok(x) => format!("{x:.6e}"),
            Err(_) => value,
        };
    }
    times.sort();
    Ok((times[times.len() / 2], result))
}

pub(crate) fn numbers(rows: usize, partitions: usize) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
    ]));
    let mut parts = vec![Vec::new(); partitions];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000_000) as i64
    };
    for (i, start) in (0..rows).step_by(BATCH_ROWS).enumerate() {
        let n = BATCH_ROWS.min(rows - start);
        let a: Int64Array = (0..n).map(|_| next()).collect();
        let b: Int64Array = (0..n).map(|_| next()).collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(a), Arc::new(b)])
            .map_err(|e| e.to_string())?;
        parts[i % partitions].push(batch);
    }
    MemTable::try_new(schema, parts)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

pub(crate) fn comments(rows: usize, partitions: usize) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
    let mut parts = vec![Vec::new(); partitions];
    for (i, start) in (0..rows).step_by(BATCH_ROWS).enumerate() {
        let n = BATCH_ROWS.min(rows - start);
        let text: StringArray = (start..start + n)
            .map(|id| Some(lode_datagen::comments::comment(1, id as u64).1))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(text)])
            .map_err(|e| e.to_string())?;
        parts[i % partitions].push(batch);
    }
    MemTable::try_new(schema, parts)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NativeGcd {
    signature: Signature,
}

impl Default for NativeGcd {
    fn default() -> Self {
        NativeGcd {
            signature: Signature::exact(
                vec![DataType::Int64, DataType::Int64],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for NativeGcd {
    fn name(&self) -> &str {
        "native_gcd"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (a, b) = (
            arrays[0].as_primitive::<Int64Type>(),
            arrays[1].as_primitive::<Int64Type>(),
        );
        let out: Int64Array = a
            .iter()
            .zip(b.iter())
            .map(|(a, b)| Some(native_gcd::gcd(a?, b?)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NativeSentiment {
    signature: Signature,
}

impl Default for NativeSentiment {
    fn default() -> Self {
        NativeSentiment {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

fn scores_fields() -> Fields {
    ["positive", "negative", "neutral", "compound"]
        .into_iter()
        .map(|n| Field::new(n, DataType::Float64, true))
        .collect()
}

impl ScalarUDFImpl for NativeSentiment {
    fn name(&self) -> &str {
        "native_sentiment"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Struct(scores_fields()))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = arrays[0].as_string::<i32>();
        let mut parts: [Float64Builder; 4] =
            std::array::from_fn(|_| Float64Builder::with_capacity(text.len()));
        for value in text.iter() {
            let s = value.map(native_sentiment::score);
            parts[0].append_option(s.map(|s| s.positive));
            parts[1].append_option(s.map(|s| s.negative));
            parts[2].append_option(s.map(|s| s.neutral));
            parts[3].append_option(s.map(|s| s.compound));
        }
        let columns: Vec<ArrayRef> = parts
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let out = StructArray::try_new(scores_fields(), columns, text.nulls().cloned())?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

pub(crate) struct Costs {
    pub(crate) call: Duration,
    pub(crate) instance: Duration,
}

/// Per call: `noop` over a 1-row batch, `calls` times on one instance. Per instance:
/// instantiating the compiled module (warm), `instances` times.
pub(crate) fn call_and_instance_costs(
    gcd_wasm: &[u8],
    calls: u32,
    instances: u32,
) -> Result<Costs> {
    let runtime = WasmRuntime::new(HostPolicy::default(), None, None).map_err(|e| e.to_string())?;
    let module = runtime.load(gcd_wasm, None).map_err(|e| e.to_string())?;
    let grant = runtime
        .grant(module.name(), &[], None, None)
        .map_err(|e| e.to_string())?;
    let mut instance = module.instantiate(&grant).map_err(|e| e.to_string())?;
    let args = Fields::from(vec![Field::new("arg0", DataType::Int64, true)]);
    let result = instance
        .bind_scalar("noop", &args)
        .map_err(|e| e.to_string())?;
    let handle = instance
        .open_scalar("noop", &args)
        .map_err(|e| e.to_string())?;
    let one: ArrayRef = Arc::new(Int64Array::from(vec![7]));
    for _ in 0..1000 {
        instance
            .call_scalar(handle, "noop", std::slice::from_ref(&one), 1, &result)
            .map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..calls {
        instance
            .call_scalar(handle, "noop", std::slice::from_ref(&one), 1, &result)
            .map_err(|e| e.to_string())?;
    }
    let call = started.elapsed() / calls;
    let started = Instant::now();
    for _ in 0..instances {
        let fresh = module.instantiate(&grant).map_err(|e| e.to_string())?;
        drop(fresh);
    }
    let instance_cost = started.elapsed() / instances;
    eprintln!(
        "per call {:.2} µs, per instance {:.1} µs",
        call.as_secs_f64() * 1e6,
        instance_cost.as_secs_f64() * 1e6
    );
    Ok(Costs {
        call,
        instance: instance_cost,
    })
}

pub(crate) struct CompileTimes {
    pub(crate) cold: Duration,
    pub(crate) disk: Duration,
    pub(crate) memory: Duration,
}

pub(crate) fn compile_times(wasm: &[u8]) -> Result<CompileTimes> {
    let dir = std::env::temp_dir().join(format!("lode-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let timed = |runtime: &WasmRuntime, expected: Origin| -> Result<Duration> {
        let started = Instant::now();
        let (_, origin) = runtime.load_traced(wasm, None).map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if origin != expected {
            return Err(format!("expected a load from {expected:?}, got {origin:?}"));
        }
        Ok(elapsed)
    };
    let first = WasmRuntime::new(HostPolicy::default(), Some(dir.clone()), None)
        .map_err(|e| e.to_string())?;
    let cold = timed(&first, Origin::Compiled)?;
    let memory = timed(&first, Origin::Memory)?;
    let second = WasmRuntime::new(HostPolicy::default(), Some(dir.clone()), None)
        .map_err(|e| e.to_string())?;
    let disk = timed(&second, Origin::Disk)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(CompileTimes { cold, disk, memory })
}

fn render(
    comparisons: &[Comparison],
    costs: &Costs,
    compile: &CompileTimes,
    iterations: usize,
) -> String {
    let mut s = String::from("## Wasm functions vs the same Rust compiled natively\n\n");
    s.push_str(&crate::provenance());
    s.push_str(&format!(
        "- One process, in-memory tables in batches of {BATCH_ROWS} rows over every core; each query runs {iterations} times, medians shown. Native UDFs compile the guests' own source files (`guests/gcd/src/gcd.rs`, `guests/sentiment/src/score.rs`); both paths must give the same result.\n\n"
    ));
    s.push_str("| function | rows | Wasm s | native s | Wasm rows/s | native rows/s | ratio | target |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in comparisons {
        let (w, n) = (c.wasm.as_secs_f64(), c.native.as_secs_f64());
        s.push_str(&format!(
            "| `{}` | {} | {:.3} | {:.3} | {:.1} M | {:.1} M | {:.2} | ≤ {} |\n",
            c.name,
            c.rows,
            w,
            n,
            c.rows as f64 / w / 1e6,
            c.rows as f64 / n / 1e6,
            w / n,
            c.target
        ));
    }
    s.push_str(&format!(
        "\n| cost | measured | target |\n|---|---:|---:|\n| one call into a guest (`noop`, 1-row batch) | {:.2} µs | ≤ 5 µs |\n| one instance of a compiled module (warm) | {:.1} µs | ≤ 50 µs |\n| loading `gcd.wasm`: compile (cold) | {:.1} ms | |\n| loading `gcd.wasm`: from the disk cache | {:.2} ms | |\n| loading `gcd.wasm`: already in memory | {:.3} ms | |\n",
        costs.call.as_secs_f64() * 1e6,
        costs.instance.as_secs_f64() * 1e6,
        compile.cold.as_secs_f64() * 1e3,
        compile.disk.as_secs_f64() * 1e3,
        compile.memory.as_secs_f64() * 1e3,
    ));
    s
}
