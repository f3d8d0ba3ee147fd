//! Where a value is in the file: [`Checker`], which the sections' checks share to report a bad
//! value at its line and column, and the parse error with its snippet. A leaf: the top-level
//! table (`file`) and the sections it hands values to (`server`, `upstream`) both use it.

use super::ConfigError;

/// Reports a bad value of the file at its position, for the checks that need more than the one
/// value (a file to read, a name against the others); a value that is wrong on its own is
/// refused while it is read, where toml places it.
pub(super) struct Checker<'a> {
    text: &'a str,
    origin: &'a str,
}

impl<'a> Checker<'a> {
    /// Reports on `text`, the file named `origin` in messages.
    pub(super) fn new(text: &'a str, origin: &'a str) -> Self {
        Self { text, origin }
    }

    /// An error at byte `pos` of the file.
    pub(super) fn err(&self, pos: usize, message: impl AsRef<str>) -> ConfigError {
        parse_error(self.text, self.origin, pos, message.as_ref())
    }

    /// The file's name in messages.
    pub(super) fn origin(&self) -> &str {
        self.origin
    }

    /// The 1-based line of byte `pos`.
    pub(super) fn line_of(&self, pos: usize) -> usize {
        line_col(self.text, pos).0
    }
}

/// The 1-based line and column (in characters) of byte `pos`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The error at byte `pos` of `text`: line, column, and the line with a caret under the spot.
pub(super) fn parse_error(text: &str, origin: &str, pos: usize, message: &str) -> ConfigError {
    let (line, column) = line_col(text, pos);
    let src = text.lines().nth(line - 1).unwrap_or("");
    let gutter = format!("{line} | ");
    let snippet = format!(
        "{gutter}{src}\n{:width$}^",
        "",
        width = gutter.len() + column.saturating_sub(1)
    );
    ConfigError::Parse {
        origin: origin.to_string(),
        line,
        column,
        message: message.trim().to_string(),
        snippet,
    }
}
