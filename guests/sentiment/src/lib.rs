//! `sentiment(text) -> struct<positive, negative, neutral, compound>`: lexicon-based scoring in
//! the style of VADER. Words carry valences; "not"/"never" flip the next sentiment word,
//! "very"/"extremely" boost it, and `!` adds emphasis. `compound` is the normalized sum in
//! [-1, 1]; the other three are the shares of positive, negative and neutral words.

use lode_guest::prelude::*;

// Plain Rust with no guest dependency, so `lode-bench` compiles the same code natively.
mod score;
pub use score::{Scores, score};

fn score_field(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

fn scores_type() -> DataType {
    DataType::Struct(
        ["positive", "negative", "neutral", "compound"]
            .map(score_field)
            .to_vec(),
    )
}

fn sentiment(batch: &Batch) -> Result<Column, CallError> {
    let text = batch.column(0);
    let rows = batch.num_rows;
    let mut parts: [PrimitiveBuilder<f64>; 4] =
        std::array::from_fn(|_| PrimitiveBuilder::new(DataType::Float64, rows));
    let mut valid = lode_guest::BitmapBuilder::default();
    for row in 0..rows {
        let present = text.is_valid(row);
        valid.push(present);
        let s = present.then(|| score(text.str_value(row)));
        parts[0].push(s.map(|s| s.positive));
        parts[1].push(s.map(|s| s.negative));
        parts[2].push(s.map(|s| s.neutral));
        parts[3].push(s.map(|s| s.compound));
    }
    let DataType::Struct(fields) = scores_type() else {
        unreachable!()
    };
    let children = fields
        .into_iter()
        .zip(parts.map(PrimitiveBuilder::finish))
        .collect();
    Ok(Column::structure(children, Some(valid)))
}

fn module() -> Module {
    Module::new("sentiment").scalar(
        "sentiment",
        "lexicon-based sentiment of a text: shares of positive, negative and neutral words, and a compound score in [-1, 1]",
        vec![Signature::new(vec![DataType::Utf8], scores_type())],
        sentiment,
    )
}

lode_guest::export!(module);
