//! The sentiment demo (`make demo`) as a driver, one plan per step:
//!
//! 1. **languages**: which languages the comments are written in, told apart by their most
//!    frequent function words. The `sentiment` lexicon is English, so comments recognised as
//!    another language are left out of the scores, and the driver says how many; comments with
//!    no recognised word are scored.
//! 2. **score**: every scored comment's vote-score bucket, `floor(log2(score + 1))`, and its
//!    sentiment by the Wasm `sentiment` function (a module the driver carries), stored as table
//!    `sentiment_scores` (it stays in the engine: the driver sees only its row count);
//! 3. **buckets**: per bucket the number of comments, the mean sentiment and the polarization
//!    (mean |compound|), stored as table `sentiment_buckets`;
//! 4. **trend**: the sums of a least-squares line of polarization over bucket, from which the
//!    driver fits `polarization = intercept + slope * bucket`.
//!
//! It returns the buckets with the trend line's value at each. Arguments: `table`
//! (comments), `text` (text), `score` (score), `min-scored` (0.5: the least share of comments
//! that must be scored, or the report is refused as unrepresentative).

use lode_guest::driver::{self, Args, Driver, Relation, asc, desc};

const SENTIMENT: &[u8] = include_bytes!("../../out/sentiment.wasm");

/// Languages told apart, each with function words that are frequent in it and rare in the
/// others (matched as whole words, case-insensitively). English must come first: it is the
/// language of the lexicon, and wins ties.
const LANGUAGES: &[(&str, &str)] = &[
    ("en", "the|and|is|it|this|that|with|for|was|of|to|my"),
    ("es", "el|los|las|que|es|y|por|muy|pero|del"),
    ("de", "der|die|das|und|ist|nicht|sehr|ein|eine|aber"),
    ("fr", "le|les|et|est|une|des|pas|très|mais|avec"),
];

struct SentimentReport;

/// The columns of `table` with each comment's language: the language with the most function
/// words in its text, `unknown` when none occurs.
fn with_language(table: &str, text: &str, score: &str) -> Result<Relation, String> {
    let counts: Vec<String> = LANGUAGES
        .iter()
        .map(|(code, words)| format!("regexp_count(lower({text}), '\\b({words})\\b') AS {code}"))
        .collect();
    let codes: Vec<&str> = LANGUAGES.iter().map(|(code, _)| *code).collect();
    let most = format!("greatest({})", codes.join(", "));
    let arms: String = codes
        .iter()
        .map(|code| format!(" WHEN {code} = {most} THEN '{code}'"))
        .collect();
    let query = format!(
        "SELECT {score} AS score, {text} AS text,
                CASE WHEN {most} = 0 THEN 'unknown'{arms} END AS language
         FROM (SELECT {score}, {text}, {counts} FROM {table})",
        counts = counts.join(", ")
    );
    Ok(Relation::sql(&query)?)
}

/// Step 1: comments per language; returns the number of comments scored and in total.
fn check_languages(comments: &Relation) -> Result<(i64, i64), String> {
    let languages = comments
        .aggregate(&["language"], &["count(*) AS comments"])?
        .sort(&[desc("comments"), asc("language")])?
        .execute()?;
    let names = languages.strings("language")?;
    let counts = languages.values::<i64>("comments")?;
    let (mut scored, mut total) = (0, 0);
    for (language, n) in names.iter().zip(&counts) {
        let scoring = matches!(language.as_str(), "en" | "unknown");
        driver::log(&format!(
            "languages: {n} comments in {language}{}",
            if scoring {
                ""
            } else {
                " (left out: the sentiment lexicon is English)"
            }
        ));
        total += n;
        if scoring {
            scored += n;
        }
    }
    Ok((scored, total))
}

/// A least-squares line through points given by their sums: (intercept, slope, r²).
fn fit(n: f64, sx: f64, sy: f64, sxx: f64, sxy: f64, syy: f64) -> Result<(f64, f64, f64), String> {
    let sxx_c = sxx - sx * sx / n;
    let syy_c = syy - sy * sy / n;
    let sxy_c = sxy - sx * sy / n;
    if n < 2.0 || sxx_c <= 0.0 {
        return Err(format!(
            "a trend needs at least two distinct buckets; the comments fall into {n} bucket(s)"
        ));
    }
    let slope = sxy_c / sxx_c;
    let intercept = (sy - slope * sx) / n;
    let r2 = if syy_c > 0.0 {
        sxy_c * sxy_c / (sxx_c * syy_c)
    } else {
        1.0
    };
    Ok((intercept, slope, r2))
}

impl Driver for SentimentReport {
    fn run(args: Args) -> Result<Option<Relation>, String> {
        args.only(&["table", "text", "score", "min-scored"])?;
        let table = args.get_or("table", "comments");
        let text = args.get_or("text", "text");
        let score = args.get_or("score", "score");
        let min_scored: f64 = args.parse("min-scored", 0.5)?;
        driver::register_module(SENTIMENT)?;

        let comments = with_language(table, text, score)?;
        let (scored, total) = check_languages(&comments)?;
        if total == 0 || (scored as f64) < min_scored * total as f64 {
            return Err(format!(
                "only {scored} of {total} comments are in English or unrecognised, fewer than \
                 min-scored = {min_scored} of them; the sentiment lexicon is English"
            ));
        }

        let stored = comments
            .filter("language IN ('en', 'unknown')")?
            .project(&[
                "CAST(floor(log2(score + 1)) AS BIGINT) AS bucket",
                "sentiment(text)['compound'] AS compound",
            ])?
            .store("sentiment_scores")?;
        driver::log(&format!(
            "score: {stored} comments scored into table sentiment_scores"
        ));

        let buckets = Relation::scan("sentiment_scores")?
            .aggregate(
                &["bucket"],
                &[
                    "count(*) AS comments",
                    "round(avg(compound), 6) AS mean_sentiment",
                    "round(avg(abs(compound)), 6) AS polarization",
                ],
            )?
            .store("sentiment_buckets")?;
        driver::log(&format!(
            "buckets: {buckets} vote-score buckets in table sentiment_buckets"
        ));

        let sums = Relation::scan("sentiment_buckets")?
            .project(&["CAST(bucket AS DOUBLE) AS x", "polarization AS y"])?
            .aggregate::<&str, _>(
                &[],
                &[
                    "CAST(count(*) AS DOUBLE) AS n",
                    "sum(x) AS sx",
                    "sum(y) AS sy",
                    "sum(x * x) AS sxx",
                    "sum(x * y) AS sxy",
                    "sum(y * y) AS syy",
                ],
            )?
            .execute()?;
        let sum = |column: &str| -> Result<f64, String> {
            sums.values::<f64>(column)?
                .first()
                .copied()
                .ok_or_else(|| format!("the trend sums have no `{column}`"))
        };
        let (intercept, slope, r2) = fit(
            sum("n")?,
            sum("sx")?,
            sum("sy")?,
            sum("sxx")?,
            sum("sxy")?,
            sum("syy")?,
        )?;
        driver::log(&format!(
            "trend: polarization = {intercept:.6} + {slope:.6} * bucket (r² = {r2:.4})"
        ));

        let trend = format!("round({intercept:?} + {slope:?} * bucket, 6) AS trend");
        let report = Relation::scan("sentiment_buckets")?
            .project(&[
                "bucket",
                "comments",
                "mean_sentiment",
                "polarization",
                trend.as_str(),
            ])?
            .sort(&[asc("bucket")])?;
        Ok(Some(report))
    }
}

lode_guest::export_driver!(SentimentReport);
