//! A synthetic discussion: `comments(id i64, score i64, text string)`, the flagship demo's table.
//!
//! Vote scores are log-uniform in 0..=4095. The higher a comment's score, the more of its
//! words carry sentiment, mostly of one sign per comment: popular comments are more
//! polarized, which the demo measures with the Wasm sentiment scorer. Every row depends only
//! on (seed, id), so the data is the same however it is split into files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::{GenError, Progress, write_split};

const POSITIVE: &[&str] = &[
    "amazing",
    "awesome",
    "beautiful",
    "brilliant",
    "excellent",
    "fantastic",
    "great",
    "helpful",
    "love",
    "nice",
    "perfect",
    "superb",
    "useful",
    "wonderful",
];
const NEGATIVE: &[&str] = &[
    "awful",
    "bad",
    "boring",
    "broken",
    "disappointing",
    "garbage",
    "hate",
    "horrible",
    "pointless",
    "stupid",
    "terrible",
    "useless",
    "worst",
    "wrong",
];
const NEUTRAL: &[&str] = &[
    "the", "this", "post", "thread", "comment", "article", "video", "point", "game", "team",
    "update", "it", "was", "is", "and", "about", "with", "for", "my", "take", "on", "that",
    "patch", "author", "idea", "version", "people", "here",
];

/// Rows per file: the table is split so scans run in parallel.
const ROWS_PER_FILE: u64 = 250_000;

/// The comments table: `id`, `score` and `text`.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("score", DataType::Int64, false),
        Field::new("text", DataType::Utf8, false),
    ]))
}

/// Writes `rows` comments to `out/comments/part-NNN.parquet`; returns the files.
pub fn generate(
    rows: u64,
    seed: u64,
    out: &Path,
    progress: impl FnMut(Progress),
) -> Result<Vec<PathBuf>, GenError> {
    if rows == 0 {
        return Err(GenError::BadArgument(
            "--rows must be at least 1".to_string(),
        ));
    }
    write_split(
        &out.join("comments"),
        "comments",
        schema(),
        rows,
        ROWS_PER_FILE,
        move |from, to| batch(seed, from, to),
        progress,
    )
}

/// SplitMix64 of (seed, id, lane): independent uniform 64-bit draws per row.
fn draw(seed: u64, id: u64, lane: u64) -> u64 {
    let mut z =
        seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ lane.wrapping_mul(0xd1b5_4a32_d192_ed03);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// One comment: its score and text.
pub fn comment(seed: u64, id: u64) -> (i64, String) {
    let score = (4096f64.powf(unit(draw(seed, id, 0))) - 1.0).floor() as i64;
    // Share of sentiment words: 8 % for unvoted comments up to 80 % at the top.
    let intensity = 0.08 + 0.06 * ((score + 1) as f64).log2();
    let positive_comment = draw(seed, id, 1) & 1 == 0;
    let words = 6 + draw(seed, id, 2) % 10;
    let mut text = String::new();
    for w in 0..words {
        let r = draw(seed, id, 3 + w);
        let word = if unit(r) < intensity {
            // Mostly the comment's own sign, sometimes the other.
            let agrees = (r >> 8) % 100 < 85;
            let list = if agrees == positive_comment {
                POSITIVE
            } else {
                NEGATIVE
            };
            list[((r >> 20) % list.len() as u64) as usize]
        } else {
            NEUTRAL[((r >> 20) % NEUTRAL.len() as u64) as usize]
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
    text.push(if draw(seed, id, 99).is_multiple_of(10) {
        '!'
    } else {
        '.'
    });
    (score, text)
}

fn batch(seed: u64, from: u64, to: u64) -> RecordBatch {
    let n = (to - from) as usize;
    let mut ids = Int64Builder::with_capacity(n);
    let mut scores = Int64Builder::with_capacity(n);
    let mut texts = StringBuilder::with_capacity(n, n * 64);
    for id in from..to {
        let (score, text) = comment(seed, id);
        ids.append_value(id as i64);
        scores.append_value(score);
        texts.append_value(text);
    }
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(ids.finish()),
            Arc::new(scores.finish()),
            Arc::new(texts.finish()),
        ],
    )
    .expect("the columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic_and_scores_in_range() {
        assert_eq!(comment(7, 123), comment(7, 123));
        assert_ne!(comment(7, 123), comment(8, 123));
        for id in 0..10_000 {
            let (score, text) = comment(1, id);
            assert!((0..4096).contains(&score), "{score}");
            assert!(text.split(' ').count() >= 6, "{text}");
        }
    }

    #[test]
    fn writes_every_row_once_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(300_001, 1, dir.path(), |_| {}).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.exists()));
        assert!(generate(0, 1, dir.path(), |_| {}).is_err());
    }
}
