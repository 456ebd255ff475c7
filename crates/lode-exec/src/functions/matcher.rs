//! One regular-expression matcher over two engines: Rust's `regex` (linear time) for every
//! pattern it accepts, `fancy-regex` (backtracking) for look-around and backreferences, which
//! the spec's dialect (ICU) has and `regex` refuses.

/// A match's groups as byte spans; group 0 is the whole match.
pub(crate) type Groups = Vec<Option<(usize, usize)>>;

/// The matching options of a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Flags {
    pub case_insensitive: bool,
    pub multiline: bool,
    pub dotall: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Linear(regex::Regex),
    Backtracking(fancy_regex::Regex),
}

impl Matcher {
    pub(crate) fn new(pattern: &str, flags: Flags) -> Result<Matcher, String> {
        let linear = regex::RegexBuilder::new(pattern)
            .case_insensitive(flags.case_insensitive)
            .multi_line(flags.multiline)
            .dot_matches_new_line(flags.dotall)
            .build();
        match linear {
            Ok(re) => Ok(Matcher::Linear(re)),
            Err(linear_error) => fancy_regex::RegexBuilder::new(pattern)
                .case_insensitive(flags.case_insensitive)
                .multi_line(flags.multiline)
                .dot_matches_new_line(flags.dotall)
                .build()
                .map(Matcher::Backtracking)
                .map_err(|e| format!("{e} ({linear_error})")),
        }
    }

    /// Groups in the pattern, counting group 0.
    pub(crate) fn group_count(&self) -> usize {
        match self {
            Matcher::Linear(re) => re.captures_len(),
            Matcher::Backtracking(re) => re.captures_len(),
        }
    }

    /// The first match starting at byte `at` or later (anchors still see the whole input).
    fn first_at(&self, input: &str, at: usize) -> Result<Option<Groups>, String> {
        Ok(match self {
            Matcher::Linear(re) => re
                .captures_at(input, at)
                .map(|c| c.iter().map(|g| g.map(|m| (m.start(), m.end()))).collect()),
            Matcher::Backtracking(re) => re
                .captures_from_pos(input, at)
                .map_err(|e| e.to_string())?
                .map(|c| c.iter().map(|g| g.map(|m| (m.start(), m.end()))).collect()),
        })
    }

    /// Every non-overlapping match from byte `from` on, found as ICU finds them: the search
    /// resumes where the previous match ended, so an empty match may follow a non-empty one
    /// (`(.*)c?` matches `abcdefc` twice; Rust's iterators report once).
    pub(crate) fn matches_from(&self, input: &str, from: usize) -> Result<Vec<Groups>, String> {
        let mut found = Vec::new();
        let mut at = from;
        while at <= input.len() {
            let Some(groups) = self.first_at(input, at)? else {
                break;
            };
            let Some((start, end)) = groups[0] else {
                break;
            };
            at = if end > start {
                end
            } else {
                // Past the empty match: to the next character.
                match input[end..].chars().next() {
                    Some(c) => end + c.len_utf8(),
                    None => input.len() + 1,
                }
            };
            found.push(groups);
        }
        Ok(found)
    }
}

/// `replacement` with ICU/POSIX group references (`\1`) replaced by the groups' text.
pub(crate) fn expand(replacement: &str, input: &str, groups: &Groups, out: &mut String) {
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut index = 0usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                index = index.saturating_mul(10).saturating_add(d as usize);
                chars.next();
            }
            if let Some(Some((start, end))) = groups.get(index) {
                out.push_str(&input[*start..*end]);
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_around_falls_back_to_backtracking() {
        let plain = Matcher::new(r"\d+", Flags::default()).unwrap();
        assert!(matches!(plain, Matcher::Linear(_)));
        let ahead = Matcher::new(r"\d+(?= dollars)", Flags::default()).unwrap();
        assert!(matches!(ahead, Matcher::Backtracking(_)));
        let found = ahead.matches_from("100 dollars 7 pesos", 0).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0][0], Some((0, 3)));
        assert!(Matcher::new("(", Flags::default()).is_err());
    }

    #[test]
    fn an_empty_match_at_the_end_counts_as_icu_does() {
        let re = Matcher::new("(.*)c?", Flags::default()).unwrap();
        assert_eq!(re.matches_from("abcdefc", 0).unwrap().len(), 2);
    }

    #[test]
    fn groups_expand_and_dollars_stay_literal() {
        let re = Matcher::new("(.*)c", Flags::default()).unwrap();
        let groups = &re.matches_from("abc", 0).unwrap()[0];
        let mut out = String::new();
        expand(r"\1e $1", "abc", groups, &mut out);
        assert_eq!(out, "abe $1");
    }
}
