//! Lexicon-based sentiment scoring (VADER-style), independent of the guest SDK.

/// (word, valence) sorted by word, for binary search.
const LEXICON: &[(&str, f64)] = &[
    ("amazing", 2.8),
    ("angry", -2.3),
    ("annoying", -1.9),
    ("awesome", 3.1),
    ("awful", -2.9),
    ("bad", -2.5),
    ("beautiful", 2.9),
    ("best", 3.2),
    ("boring", -1.8),
    ("brilliant", 2.8),
    ("broken", -2.0),
    ("cool", 1.3),
    ("crap", -2.2),
    ("delightful", 2.9),
    ("disappointing", -2.2),
    ("dumb", -2.3),
    ("excellent", 3.2),
    ("fail", -2.5),
    ("fantastic", 2.9),
    ("fine", 0.8),
    ("fun", 2.3),
    ("garbage", -2.6),
    ("glad", 2.0),
    ("good", 1.9),
    ("great", 3.1),
    ("hate", -2.7),
    ("helpful", 1.8),
    ("horrible", -2.5),
    ("interesting", 1.7),
    ("lame", -1.8),
    ("love", 3.2),
    ("meh", -0.5),
    ("nice", 1.8),
    ("perfect", 2.7),
    ("pointless", -1.8),
    ("poor", -2.1),
    ("sad", -2.1),
    ("slow", -1.0),
    ("smart", 1.7),
    ("stupid", -2.4),
    ("superb", 3.1),
    ("terrible", -2.9),
    ("thanks", 1.9),
    ("ugly", -2.3),
    ("useful", 1.9),
    ("useless", -2.2),
    ("wonderful", 2.7),
    ("worst", -3.1),
    ("wow", 2.0),
    ("wrong", -2.1),
];

const NEGATIONS: &[&str] = &[
    "never", "no", "not", "nothing", "nobody", "isn't", "don't", "doesn't", "wasn't", "can't",
];
const BOOSTERS: &[&str] = &["extremely", "incredibly", "really", "so", "totally", "very"];

/// VADER's normalization constant: compound = s / sqrt(s^2 + ALPHA).
const ALPHA: f64 = 15.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
    pub compound: f64,
}

fn valence(word: &str) -> Option<f64> {
    LEXICON
        .binary_search_by(|(w, _)| (*w).cmp(word))
        .ok()
        .map(|i| LEXICON[i].1)
}

pub fn score(text: &str) -> Scores {
    let (mut sum, mut positive, mut negative, mut neutral) = (0.0, 0.0, 0.0, 0.0);
    let (mut negate, mut boost) = (false, 0.0);
    let mut word = String::new();
    for token in text.split_whitespace() {
        word.clear();
        word.extend(
            token
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase),
        );
        if NEGATIONS.contains(&word.as_str()) {
            negate = true;
            continue;
        }
        if BOOSTERS.contains(&word.as_str()) {
            boost += 0.3;
            continue;
        }
        match valence(&word) {
            Some(v) => {
                let mut v = v + boost * v.signum();
                if negate {
                    v *= -0.74;
                }
                sum += v;
                if v > 0.0 {
                    positive += v
                } else {
                    negative -= v
                }
                negate = false;
                boost = 0.0;
            }
            None if !word.is_empty() => neutral += 1.0,
            None => {}
        }
    }
    let exclamations = text.bytes().filter(|b| *b == b'!').count().min(4) as f64;
    if sum != 0.0 {
        sum += exclamations * 0.292 * sum.signum();
    }
    let total = positive + negative + neutral;
    let share = |x: f64| if total > 0.0 { x / total } else { 0.0 };
    Scores {
        positive: share(positive),
        negative: share(negative),
        neutral: share(neutral),
        compound: sum / (sum * sum + ALPHA).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_is_sorted() {
        assert!(LEXICON.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn polarity() {
        assert!(score("This is great, I love it!").compound > 0.5);
        assert!(score("terrible and useless").compound < -0.5);
        assert!(score("not good").compound < 0.0);
        assert_eq!(score("the cat sat").compound, 0.0);
    }
}
