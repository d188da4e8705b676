//! Parsing a `struct` format string into a layout: which code sits at which
//! offset, with the padding native alignment inserts. Mirrors CPython's
//! `prepare_s`/`align` (Modules/_struct.c), including its error order.

use super::error::{ErrorKind, StructError};

/// Largest size CPython accepts (`PY_SSIZE_T_MAX` on 64-bit machines).
const SSIZE_MAX: u64 = i64::MAX as u64;

/// The byte-order character that starts a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// No prefix: native order, sizes and alignment.
    Default,
    /// `@`: native order, sizes and alignment.
    Native,
    /// `=`: native order, standard sizes, no alignment.
    NativeOrder,
    /// `<`: little-endian, standard sizes, no alignment.
    Little,
    /// `>`: big-endian, standard sizes, no alignment.
    Big,
    /// `!`: network order (big-endian), standard sizes, no alignment.
    Network,
}

/// A concrete byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first (network order).
    Big,
}

impl Endian {
    /// This machine's order.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };

    /// The other order.
    pub fn opposite(self) -> Endian {
        match self {
            Endian::Little => Endian::Big,
            Endian::Big => Endian::Little,
        }
    }

    /// `little-endian` or `big-endian`.
    pub fn name(self) -> &'static str {
        match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        }
    }
}

impl Prefix {
    /// The prefix a format starts with (`Default` when none).
    pub fn of(format: &str) -> Prefix {
        match format.as_bytes().first() {
            Some(b'@') => Prefix::Native,
            Some(b'=') => Prefix::NativeOrder,
            Some(b'<') => Prefix::Little,
            Some(b'>') => Prefix::Big,
            Some(b'!') => Prefix::Network,
            _ => Prefix::Default,
        }
    }

    /// The character, if the format spelled one.
    pub fn char(self) -> Option<char> {
        match self {
            Prefix::Default => None,
            Prefix::Native => Some('@'),
            Prefix::NativeOrder => Some('='),
            Prefix::Little => Some('<'),
            Prefix::Big => Some('>'),
            Prefix::Network => Some('!'),
        }
    }

    /// Native sizes and alignment (`@` or no prefix)?
    pub fn is_native(self) -> bool {
        matches!(self, Prefix::Default | Prefix::Native)
    }

    /// The byte order it packs in.
    pub fn endian(self) -> Endian {
        match self {
            Prefix::Default | Prefix::Native | Prefix::NativeOrder => Endian::NATIVE,
            Prefix::Little => Endian::Little,
            Prefix::Big | Prefix::Network => Endian::Big,
        }
    }

    /// One line for people: order, sizes, alignment.
    pub fn describe(self) -> String {
        let order = match self {
            Prefix::Default | Prefix::Native | Prefix::NativeOrder => {
                format!("native order = {}", Endian::NATIVE.name())
            }
            Prefix::Little => "little-endian".into(),
            Prefix::Big | Prefix::Network => "big-endian = network order".into(),
        };
        if self.is_native() {
            format!("{order}, native sizes and alignment")
        } else {
            format!("{order}, standard sizes, no alignment")
        }
    }
}

/// A format code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `x`: pad byte, no value.
    Pad,
    /// `c`: bytes of length 1.
    Char,
    /// `b`: signed char.
    SChar,
    /// `B`: unsigned char.
    UChar,
    /// `?`: _Bool.
    Bool,
    /// `h`: short.
    Short,
    /// `H`: unsigned short.
    UShort,
    /// `i`: int.
    Int,
    /// `I`: unsigned int.
    UInt,
    /// `l`: long.
    Long,
    /// `L`: unsigned long.
    ULong,
    /// `q`: long long.
    LongLong,
    /// `Q`: unsigned long long.
    ULongLong,
    /// `n`: ssize_t (native only).
    SSize,
    /// `N`: size_t (native only).
    Size,
    /// `e`: IEEE 754 binary16.
    Half,
    /// `f`: IEEE 754 binary32.
    Float,
    /// `d`: IEEE 754 binary64.
    Double,
    /// `s`: bytes, the count is the length.
    Str,
    /// `p`: Pascal string, length byte then bytes.
    Pascal,
    /// `P`: void * (native only).
    Pointer,
}

impl Code {
    /// The code for a format character.
    pub fn from_char(c: char) -> Option<Code> {
        Some(match c {
            'x' => Code::Pad,
            'c' => Code::Char,
            'b' => Code::SChar,
            'B' => Code::UChar,
            '?' => Code::Bool,
            'h' => Code::Short,
            'H' => Code::UShort,
            'i' => Code::Int,
            'I' => Code::UInt,
            'l' => Code::Long,
            'L' => Code::ULong,
            'q' => Code::LongLong,
            'Q' => Code::ULongLong,
            'n' => Code::SSize,
            'N' => Code::Size,
            'e' => Code::Half,
            'f' => Code::Float,
            'd' => Code::Double,
            's' => Code::Str,
            'p' => Code::Pascal,
            'P' => Code::Pointer,
            _ => return None,
        })
    }

    /// The format character.
    pub fn char(self) -> char {
        match self {
            Code::Pad => 'x',
            Code::Char => 'c',
            Code::SChar => 'b',
            Code::UChar => 'B',
            Code::Bool => '?',
            Code::Short => 'h',
            Code::UShort => 'H',
            Code::Int => 'i',
            Code::UInt => 'I',
            Code::Long => 'l',
            Code::ULong => 'L',
            Code::LongLong => 'q',
            Code::ULongLong => 'Q',
            Code::SSize => 'n',
            Code::Size => 'N',
            Code::Half => 'e',
            Code::Float => 'f',
            Code::Double => 'd',
            Code::Str => 's',
            Code::Pascal => 'p',
            Code::Pointer => 'P',
        }
    }

    /// n, N and P exist only in native mode.
    pub fn native_only(self) -> bool {
        matches!(self, Code::SSize | Code::Size | Code::Pointer)
    }

    /// For integer codes: whether they are signed.
    pub fn int_signed(self) -> Option<bool> {
        match self {
            Code::SChar | Code::Short | Code::Int | Code::Long | Code::LongLong | Code::SSize => {
                Some(true)
            }
            Code::UChar
            | Code::UShort
            | Code::UInt
            | Code::ULong
            | Code::ULongLong
            | Code::Size
            | Code::Pointer => Some(false),
            _ => None,
        }
    }

    /// A float code (e, f, d)?
    pub fn is_float(self) -> bool {
        matches!(self, Code::Half | Code::Float | Code::Double)
    }

    /// The C type, for people.
    pub fn c_type(self) -> &'static str {
        match self {
            Code::Pad => "pad byte",
            Code::Char => "char",
            Code::SChar => "signed char",
            Code::UChar => "unsigned char",
            Code::Bool => "_Bool",
            Code::Short => "short",
            Code::UShort => "unsigned short",
            Code::Int => "int",
            Code::UInt => "unsigned int",
            Code::Long => "long",
            Code::ULong => "unsigned long",
            Code::LongLong => "long long",
            Code::ULongLong => "unsigned long long",
            Code::SSize => "ssize_t",
            Code::Size => "size_t",
            Code::Half => "half float",
            Code::Float => "float",
            Code::Double => "double",
            Code::Str => "char[]",
            Code::Pascal => "Pascal string",
            Code::Pointer => "void *",
        }
    }

    /// (size, alignment) in native mode, from this machine's C types.
    fn native_size_align(self) -> (u64, u64) {
        use std::mem::{align_of, size_of};
        fn sa<T>() -> (u64, u64) {
            (size_of::<T>() as u64, align_of::<T>() as u64)
        }
        match self {
            Code::Pad | Code::Char | Code::SChar | Code::UChar | Code::Str | Code::Pascal => (1, 0),
            Code::Bool => sa::<bool>(),
            Code::Short | Code::UShort | Code::Half => sa::<libc::c_short>(),
            Code::Int | Code::UInt => sa::<libc::c_int>(),
            Code::Long | Code::ULong => sa::<libc::c_long>(),
            Code::LongLong | Code::ULongLong => sa::<libc::c_longlong>(),
            Code::SSize | Code::Size => sa::<libc::size_t>(),
            Code::Float => sa::<f32>(),
            Code::Double => sa::<f64>(),
            Code::Pointer => sa::<*const u8>(),
        }
    }

    /// Size in standard mode (`= < > !`).
    fn standard_size(self) -> u64 {
        match self {
            Code::Short | Code::UShort | Code::Half => 2,
            Code::Int | Code::UInt | Code::Long | Code::ULong | Code::Float => 4,
            Code::LongLong | Code::ULongLong | Code::Double => 8,
            // n N P never reach here in standard mode.
            _ => 1,
        }
    }

    /// (size, alignment) for a prefix; alignment 0 means none.
    pub fn size_align(self, prefix: Prefix) -> (u64, u64) {
        if prefix.is_native() {
            self.native_size_align()
        } else {
            (self.standard_size(), 0)
        }
    }
}

/// One code of the format with its repeat count and where it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The code.
    pub code: Code,
    /// Byte index of the code character in the format string.
    pub pos: usize,
    /// Byte index where this item's text (count digits) starts.
    pub start: usize,
    /// Repeat count (`3` in `3I`; the length for `s`/`p`).
    pub count: u64,
    /// Alignment padding inserted before this item.
    pub pad: u64,
    /// Offset of the item's first byte (after the padding).
    pub offset: u64,
    /// Size of one element (1 for `s`, `p`, `x`).
    pub elem_size: u64,
    /// Index of the first value this item takes.
    pub first_value: usize,
}

impl Item {
    /// How many values this item takes.
    pub fn values(&self) -> u64 {
        match self.code {
            Code::Pad => 0,
            Code::Str | Code::Pascal => 1,
            _ => self.count,
        }
    }

    /// Bytes the item occupies, padding excluded.
    pub fn len(&self) -> u64 {
        self.count * self.elem_size
    }

    /// Whether the item occupies no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed format: what `struct.Struct(fmt)` knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The format text.
    pub format: String,
    /// Its byte-order character.
    pub prefix: Prefix,
    /// The byte order values are written in (may be swapped by `with_endian`).
    pub endian: Endian,
    /// The items in order.
    pub items: Vec<Item>,
    /// `struct.calcsize(format)`.
    pub size: u64,
    /// How many values `pack` takes and `unpack` returns.
    pub nvalues: usize,
}

fn is_py_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn too_long(pos: usize) -> StructError {
    StructError::at_format(ErrorKind::SizeTooLong, "total struct size too long", pos)
}

impl Layout {
    /// Parse `format` as CPython does, with the same errors in the same order.
    pub fn parse(format: &str) -> Result<Layout, StructError> {
        let bytes = format.as_bytes();
        let prefix = Prefix::of(format);
        let mut i = usize::from(prefix.char().is_some());
        let mut size: u64 = 0;
        let mut nvalues: u64 = 0;
        let mut items = Vec::new();
        while i < bytes.len() {
            let start = i;
            let mut c = bytes[i];
            i += 1;
            if is_py_space(c) {
                continue;
            }
            let mut num: u64 = 1;
            if c.is_ascii_digit() {
                num = u64::from(c - b'0');
                loop {
                    match bytes.get(i) {
                        Some(&d) if d.is_ascii_digit() => {
                            let d = u64::from(d - b'0');
                            if num >= SSIZE_MAX / 10 && (num > SSIZE_MAX / 10 || d > SSIZE_MAX % 10)
                            {
                                return Err(too_long(start));
                            }
                            num = num * 10 + d;
                            i += 1;
                        }
                        Some(&other) => {
                            c = other;
                            i += 1;
                            break;
                        }
                        None => {
                            return Err(StructError::at_format(
                                ErrorKind::RepeatWithoutCode,
                                "repeat count given without format specifier",
                                start,
                            ))
                        }
                    }
                }
            }
            let pos = i - 1;
            // A non-ASCII character: point at its first byte, skip the rest.
            let code = match Code::from_char(char::from(c)) {
                Some(code) if prefix.is_native() || !code.native_only() => code,
                _ => {
                    return Err(StructError::at_format(
                        ErrorKind::BadChar,
                        "bad char in struct format",
                        pos,
                    ))
                }
            };
            let (elem_size, align) = code.size_align(prefix);
            let mut pad = 0;
            if align > 0 && size > 0 {
                pad = (align - 1) - (size - 1) % align;
                if pad > SSIZE_MAX - size {
                    return Err(too_long(pos));
                }
            }
            size += pad;
            if num > (SSIZE_MAX - size) / elem_size {
                return Err(too_long(pos));
            }
            let item = Item {
                code,
                pos,
                start,
                count: num,
                pad,
                offset: size,
                elem_size,
                first_value: nvalues as usize,
            };
            nvalues += item.values();
            size += num * elem_size;
            items.push(item);
        }
        Ok(Layout {
            format: format.to_string(),
            prefix,
            endian: prefix.endian(),
            items,
            size,
            nvalues: nvalues as usize,
        })
    }

    /// The same offsets read or written in another byte order: what a
    /// program with the other convention makes of these bytes.
    pub fn with_endian(mut self, endian: Endian) -> Layout {
        self.endian = endian;
        self
    }

    /// The format without its byte-order character.
    pub fn body(&self) -> &str {
        match self.prefix.char() {
            Some(_) => &self.format[1..],
            None => &self.format,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(f: &str) -> u64 {
        Layout::parse(f).map(|l| l.size).unwrap_or(u64::MAX)
    }

    #[test]
    fn native_alignment_like_x86_64_linux() {
        assert_eq!(size("@bI"), 8);
        assert_eq!(size("@hq"), 16);
        assert_eq!(size("@cd"), 16);
        assert_eq!(size("@b0I"), 4);
        assert_eq!(size("bI"), 8);
        assert_eq!(size("Ib"), 5);
        assert_eq!(size("@lLnNP"), 40);
        assert_eq!(size("<bI"), 5);
        assert_eq!(size("=hq"), 10);
        assert_eq!(size("!lL"), 8);
    }

    #[test]
    fn padding_is_recorded() {
        let l = Layout::parse("@bI").unwrap();
        assert_eq!(l.items[1].pad, 3);
        assert_eq!(l.items[1].offset, 4);
        assert_eq!(l.nvalues, 2);
    }

    #[test]
    fn counts_and_values() {
        let l = Layout::parse("3I 10s 2x 0p").unwrap();
        assert_eq!(l.size, 12 + 10 + 2);
        assert_eq!(l.nvalues, 3 + 1 + 1);
        assert_eq!(l.items[1].first_value, 3);
        assert_eq!(l.items[1].pos, 5);
        assert_eq!(l.items[1].start, 3);
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = Layout::parse("<In").unwrap_err();
        assert_eq!(e.message, "bad char in struct format");
        assert_eq!(e.at, Some(super::super::At::Format(2)));
        let e = Layout::parse("3 I").unwrap_err();
        assert_eq!(e.at, Some(super::super::At::Format(1)));
        let e = Layout::parse("II12").unwrap_err();
        assert_eq!(e.kind, ErrorKind::RepeatWithoutCode);
        assert_eq!(e.at, Some(super::super::At::Format(2)));
        assert_eq!(
            Layout::parse(" <I").unwrap_err().at,
            Some(super::super::At::Format(1))
        );
        assert_eq!(
            Layout::parse("99999999999999999999I").unwrap_err().kind,
            ErrorKind::SizeTooLong
        );
        assert_eq!(
            Layout::parse("Ié").unwrap_err().at,
            Some(super::super::At::Format(1))
        );
    }

    #[test]
    fn huge_but_valid_sizes_do_not_allocate() {
        let l = Layout::parse("9223372036854775807x").unwrap();
        assert_eq!(l.size, i64::MAX as u64);
        assert_eq!(
            Layout::parse("9223372036854775807xb").unwrap_err().kind,
            ErrorKind::SizeTooLong
        );
    }
}
