//! The errors CPython's `struct` raises, with the exact message text and
//! where in the format (or which value) they come from.

/// What went wrong, one variant per CPython failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A character that is not a format code (or n/N/P without native `@`).
    BadChar,
    /// Digits at the end of the format with no code after them.
    RepeatWithoutCode,
    /// The repeat counts add up to more than a Py_ssize_t can hold.
    SizeTooLong,
    /// `pack` got more or fewer values than the format has fields.
    ArgCount,
    /// An integer outside the range of its code.
    OutOfRange,
    /// Not an integer where the code needs one.
    NotInteger,
    /// Not a number where a float code needs one.
    NotFloat,
    /// `c` needs a bytes object of length 1.
    NotChar,
    /// `s`/`p` need a bytes object.
    NotBytes,
    /// A float that does not fit `e` or `f` (CPython's `OverflowError`).
    FloatOverflow,
    /// An int that does not fit the code (CPython: "int too large to convert").
    IntTooLarge,
    /// `unpack` got a buffer whose length is not the struct size.
    BufferSize,
    /// `0p` has no room for its length byte (CPython: `SystemError`).
    ZeroPascal,
    /// CPython would try to allocate this many bytes; socklab refuses.
    TooBig,
}

impl ErrorKind {
    /// The Python exception class CPython raises for this error.
    pub fn python_exception(self) -> &'static str {
        match self {
            ErrorKind::FloatOverflow => "OverflowError",
            ErrorKind::ZeroPascal => "SystemError",
            ErrorKind::TooBig => "MemoryError",
            _ => "struct.error",
        }
    }
}

/// Where an error points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A byte index into the format string.
    Format(usize),
    /// The value with this index (0-based), packed by the code at this
    /// byte index of the format.
    Value {
        /// Index of the value among the values given.
        index: usize,
        /// Byte index of its code in the format.
        format_pos: usize,
    },
    /// The input buffer as a whole (its length is wrong).
    Buffer {
        /// How many bytes were given.
        got: usize,
    },
}

/// A `struct` failure: CPython's message, its kind, and where it points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StructError {
    /// The category.
    pub kind: ErrorKind,
    /// Exactly the text CPython 3.11 puts in the exception.
    pub message: String,
    /// The offending part, when there is one.
    pub at: Option<At>,
}

impl StructError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, at: Option<At>) -> Self {
        StructError {
            kind,
            message: message.into(),
            at,
        }
    }

    pub(crate) fn at_format(kind: ErrorKind, message: impl Into<String>, pos: usize) -> Self {
        Self::new(kind, message, Some(At::Format(pos)))
    }

    /// A sentence for a learner: why this happens and what to try.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self.kind {
            ErrorKind::BadChar => {
                "valid codes: x c b B ? h H i I l L q Q n N e f d s p P; n, N and P \
                 exist only in native mode (no prefix or '@'); a byte-order character \
                 (@ = < > !) may only come first; a count and its code must not be \
                 separated by spaces"
            }
            ErrorKind::RepeatWithoutCode => "a count must be followed by its code, as in 3I",
            ErrorKind::SizeTooLong => "the repeat counts are too large",
            ErrorKind::ArgCount => {
                "give one value per field: a count like 3I takes three values, \
                 10s and 5p take one bytes value, x takes none"
            }
            ErrorKind::OutOfRange | ErrorKind::IntTooLarge => {
                "pick a bigger code (q/Q hold 64 bits) or a value in range; \
                 unsigned codes (B H I L Q N) take no negatives"
            }
            ErrorKind::NotInteger => "integer codes take whole numbers: 10, -3, 0x1f",
            ErrorKind::NotFloat => "e, f and d take numbers: 1.5, -2, 1e-3, inf, nan",
            ErrorKind::NotChar => "c takes exactly one byte: a, \\x00, b'\\n'",
            ErrorKind::NotBytes => "s and p take bytes: hello, b'ab\\x00'",
            ErrorKind::FloatOverflow => {
                "e holds up to 65504 and f up to about 3.4e38; use d for bigger values"
            }
            ErrorKind::BufferSize => {
                "the format's size (struct.calcsize) must equal the number of bytes"
            }
            ErrorKind::ZeroPascal => "a p field needs a count of at least 1 for its length byte",
            ErrorKind::TooBig => return None,
        })
    }
}
