//! Mutated plans through decode, validation and execution: errors are fine, panics are not.
//!
//! A panic hook counts every panic, including ones Lode catches, since a caught panic still
//! means a check is missing. Mutations are deterministic (fixed seeds) so failures reproduce.

#[path = "engine/common.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use lode_plan::{PlanFormat, Severity};
use serde_json::Value;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for dir in ["plans/tpch", "plans/foreign"] {
        let mut paths: Vec<_> = std::fs::read_dir(repo_root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("@DATA@", tpch_dir().to_str().unwrap());
            seeds.push(text.into_bytes());
        }
    }
    seeds
}

fn mutate_bytes(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.next() as u8,
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Structure-aware: changes numbers (field indices, anchors, ordinals), drops keys, swaps
/// strings, so most mutants still decode and reach the validator and the consumer.
fn mutate_json(rng: &mut Rng, value: &mut Value, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            if !keys.is_empty() && rng.below(40) == 0 {
                map.remove(&keys[rng.below(keys.len())]);
                *budget -= 1;
                return;
            }
            for v in map.values_mut() {
                mutate_json(rng, v, budget);
            }
        }
        Value::Array(items) => {
            if !items.is_empty() && rng.below(40) == 0 {
                let i = rng.below(items.len());
                items.remove(i);
                *budget -= 1;
                return;
            }
            for v in items {
                mutate_json(rng, v, budget);
            }
        }
        Value::Number(_) if rng.below(8) == 0 => {
            const NUMBERS: [i64; 10] = [0, 1, 2, 3, 7, 16, 255, -1, 4_294_967_295, i64::MAX];
            *value = Value::from(NUMBERS[rng.below(NUMBERS.len())]);
            *budget -= 1;
        }
        Value::String(s) if rng.below(25) == 0 => {
            *s = [
                "",
                "x",
                "LINEITEM",
                "JOIN_TYPE_LEFT_ANTI",
                "SET_OP_UNION_ALL",
                "NULLABILITY_REQUIRED",
                "1e400",
            ][rng.below(7)]
            .into();
            *budget -= 1;
        }
        _ => {}
    }
}

async fn exercise(engine: &lode_exec::Engine, bytes: &[u8]) -> &'static str {
    let Ok(plan) = lode_plan::decode_plan(bytes) else {
        return "undecodable";
    };
    if engine
        .validate(&plan)
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return "invalid";
    }
    let run = async {
        match engine.execute(&plan).await {
            Err(_) => "rejected",
            Ok(mut stream) => {
                while let Some(batch) = stream.next().await {
                    if batch.is_err() {
                        return "failed";
                    }
                }
                "ran"
            }
        }
    };
    // A mutant may turn a join into a cross product; stopping it early is fine.
    tokio::time::timeout(Duration::from_secs(3), run)
        .await
        .unwrap_or("timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_plans_never_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let engine = tpch_engine().await;
    let seeds = seeds();
    // LODE_FUZZ_SEED / LODE_FUZZ_ROUNDS explore further; the defaults are what CI runs.
    let fuzz_seed = std::env::var("LODE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1DEA_u64);
    let rounds = std::env::var("LODE_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(70);
    eprintln!("fuzz seed {fuzz_seed}, {rounds} rounds");
    let mut rng = Rng(fuzz_seed.max(1));
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    let mut cases = 0;
    for round in 0..rounds {
        for seed in &seeds {
            let json: Value = serde_json::from_slice(seed).unwrap();
            let mutant = if round % 2 == 0 {
                let mut v = json;
                let mut budget = 1 + rng.below(3);
                mutate_json(&mut rng, &mut v, &mut budget);
                serde_json::to_vec(&v).unwrap()
            } else {
                let plan = lode_plan::decode_plan(seed).unwrap().plan;
                let format = if round % 4 == 1 {
                    PlanFormat::Binary
                } else {
                    PlanFormat::Json
                };
                mutate_bytes(&mut rng, lode_plan::encode_plan(&plan, format).unwrap())
            };
            let panics_before = PANICS.load(Ordering::SeqCst);
            *outcomes
                .entry(exercise(&engine, &mutant).await)
                .or_default() += 1;
            if PANICS.load(Ordering::SeqCst) > panics_before {
                let dir = std::env::temp_dir().join("lode-fuzz-failures");
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("seed{fuzz_seed}-case{cases}.plan"));
                std::fs::write(&file, &mutant).unwrap();
                eprintln!("panic on mutant saved to {}", file.display());
            }
            cases += 1;
        }
    }
    eprintln!("{cases} mutated plans: {outcomes:?}");
    assert!(cases >= 2000 || rounds < 70, "only {cases} cases");
    assert!(
        outcomes.get("ran").copied().unwrap_or(0) > 0,
        "no mutant ran; the fuzzer only exercised decoding"
    );
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "panics occurred (see stderr above)"
    );
}
