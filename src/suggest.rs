//! "Did you mean ...?": the known word closest to what the user typed, by
//! the same Jaro-Winkler similarity clap uses for subcommands.

/// The candidate most similar to `typed`, if it is close enough to be a
/// likely typo (similarity above 0.8).
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&typed, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// ` (did you mean 'WORD'?)` for the closest candidate, or nothing.
pub fn did_you_mean<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(typed, candidates)
        .map(|c| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        let lessons = ["handshake", "close", "refused", "half-close"];
        assert_eq!(closest("handshak", lessons), Some("handshake"));
        assert_eq!(closest("halfclose", lessons), Some("half-close"));
        assert_eq!(closest("REFUSED", lessons), Some("refused"));
        assert_eq!(closest("zebra", lessons), None);
        assert_eq!(
            did_you_mean("tcpp", ["tcp", "udp"]),
            " (did you mean 'tcp'?)"
        );
        assert_eq!(did_you_mean("xyz", ["tcp", "udp"]), "");
    }
}
