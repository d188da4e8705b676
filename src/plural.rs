//! Counts in words: `1 packet`, `2 packets`, `1 reply`, `3 replies`.

/// `noun` for `n` of them: the singular for exactly 1, else the plural
/// (`-s`, or `-ies` after a consonant + `y`).
pub fn noun<N: TryInto<u64>>(n: N, singular: &str) -> String {
    if n.try_into().ok() == Some(1) {
        return singular.to_string();
    }
    match singular.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{singular}s"),
    }
}

/// `1 packet`, `14 packets`.
pub fn count<N: TryInto<u64> + std::fmt::Display + Copy>(n: N, singular: &str) -> String {
    format!("{n} {}", noun(n, singular))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(count(1, "packet"), "1 packet");
        assert_eq!(count(0, "packet"), "0 packets");
        assert_eq!(count(14, "packet"), "14 packets");
        assert_eq!(count(1, "reply"), "1 reply");
        assert_eq!(count(2, "reply"), "2 replies");
        assert_eq!(count(2, "day"), "2 days");
        assert_eq!(noun(1, "byte"), "byte");
    }
}
