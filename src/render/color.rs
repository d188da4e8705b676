//! When to use colour: `--color auto|always|never`, `NO_COLOR` honoured,
//! `auto` only on a terminal. Styles come from `anstyle`.

use std::io::IsTerminal;

/// The user's colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorWhen {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Decide for stdout.
pub fn stdout_enabled(when: ColorWhen) -> bool {
    enabled(when, std::io::stdout().is_terminal())
}

/// Decide for stderr.
pub fn stderr_enabled(when: ColorWhen) -> bool {
    enabled(when, std::io::stderr().is_terminal())
}

/// The rule itself, testable without a terminal.
pub fn enabled(when: ColorWhen, is_tty: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            is_tty && !no_color && !dumb
        }
    }
}

/// `text` wrapped in `style` when `on`, unchanged otherwise.
pub fn paint(text: &str, style: anstyle::Style, on: bool) -> String {
    if on {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices() {
        assert!(enabled(ColorWhen::Always, false));
        assert!(!enabled(ColorWhen::Never, true));
        assert!(!enabled(ColorWhen::Auto, false));
        let s = anstyle::Style::new().bold();
        assert_eq!(paint("x", s, false), "x");
        assert!(paint("x", s, true).contains("\x1b["));
    }
}
