//! Arguments of the byte-order and hex workbench: pack, unpack, hexdump,
//! order, addr. Only what the user typed; reading it happens in
//! `crate::workbench`.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::values::ColorArg;

/// `socklab pack FORMAT VALUE...`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  socklab pack '!III' 10 500 0\n  socklab pack '<hd' -3 1.5 --orders"
)]
pub struct PackArgs {
    /// Python struct format: an optional byte order (@ = < > !) then codes, e.g. '!III', '@bI', '<h10s'.
    pub format: String,
    /// One value per field: 10, -3, 0x1f, 1.5, inf, true; for c/s/p text or b'a\x00'.
    #[arg(allow_negative_numbers = true, value_name = "VALUE")]
    pub values: Vec<String>,
    /// Also pack in native, little and big order, and show what a reader with the other order gets.
    #[arg(long)]
    pub orders: bool,
    /// Colour the hex dump by byte class.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

/// `socklab unpack FORMAT HEX...|-`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  socklab unpack '!III' 0000000a000001f400000000\n  printf 'ab' | socklab unpack 2s -"
)]
pub struct UnpackArgs {
    /// Python struct format, e.g. '!III'.
    pub format: String,
    /// The bytes: hex (0a000000, "0a 00 00 00", 0a:00), a Python literal b'\n\x00', or - for raw bytes on stdin.
    #[arg(required = true, value_name = "HEX")]
    pub bytes: Vec<String>,
    /// Also read the bytes in native, little and big order side by side.
    #[arg(long)]
    pub orders: bool,
    /// Colour the hex dump by byte class.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

/// `socklab hexdump [FILE|-]`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  socklab hexdump run.pcap -n 64\n  socklab hexdump -s -16 run.pcap     the last 16 bytes"
)]
pub struct HexdumpArgs {
    /// File to dump; - or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Start here; negative: from the end (-s -16).
    ///
    /// -s -16 dumps the last 16 bytes. Decimal or 0x hex, with k/M/G (1024s)
    /// or kB/MB/GB (1000s).
    #[arg(
        short = 's',
        long = "skip",
        value_name = "OFFSET",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub skip: String,
    /// Dump at most this many bytes (4k, 0x100, 1MB).
    ///
    /// Decimal or 0x hex, with k/M/G (1024s) or kB/MB/GB (1000s).
    #[arg(
        short = 'n',
        long = "length",
        value_name = "LENGTH",
        allow_hyphen_values = true
    )]
    pub length: Option<String>,
    /// Bytes per line (1 to 256).
    #[arg(short = 'c', long = "columns", value_name = "COLUMNS", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub columns: u16,
    /// Bytes per group (0: no groups).
    ///
    /// Groups are separated by an extra space.
    #[arg(short = 'g', long = "group", value_name = "GROUP", default_value_t = 8)]
    pub group: u16,
    /// Colour by byte class: auto (a terminal), always, never.
    ///
    /// Classes: NUL, printable ASCII, whitespace, other.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN",
          hide_possible_values = true, hide_default_value = true)]
    pub color: ColorArg,
}

/// `socklab order VALUE [--16|--32|--64]`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  socklab order 10009\n  socklab order 0x0a000001 --32")]
#[command(group(ArgGroup::new("width").args(["w16", "w32", "w64"])))]
pub struct OrderArgs {
    /// The integer: decimal, 0x hex, 0o octal or 0b binary; negatives as two's complement.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// 16 bits: htons/ntohs.
    #[arg(long = "16")]
    pub w16: bool,
    /// 32 bits: htonl/ntohl (the default when the value fits).
    #[arg(long = "32")]
    pub w32: bool,
    /// 64 bits: htobe64/be64toh.
    #[arg(long = "64")]
    pub w64: bool,
}

impl OrderArgs {
    /// The width asked for, in bits, if any.
    pub fn bits(&self) -> Option<u32> {
        [(self.w16, 16), (self.w32, 32), (self.w64, 64)]
            .into_iter()
            .find_map(|(on, bits)| on.then_some(bits))
    }
}

/// `socklab addr ADDRESS`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  socklab addr 127.1\n  socklab addr 2001:db8::1")]
pub struct AddrArgs {
    /// An IPv4 or IPv6 address: 176.58.10.138, 127.1, 0x7f.1, ::1, 2001:db8::1.
    pub address: String,
}

/// Colour on stdout for a `--color` choice.
fn stdout_color(c: ColorArg) -> bool {
    crate::render::color::stdout_enabled(c.into())
}

impl PackArgs {
    /// The validated configuration `workbench::pack` runs with.
    pub fn config(&self) -> crate::workbench::pack::Config {
        crate::workbench::pack::Config {
            format: self.format.clone(),
            values: self.values.clone(),
            orders: self.orders,
            color: stdout_color(self.color),
        }
    }
}

impl UnpackArgs {
    /// The validated configuration `workbench::unpack` runs with.
    pub fn config(&self) -> crate::workbench::unpack::Config {
        crate::workbench::unpack::Config {
            format: self.format.clone(),
            bytes: self.bytes.clone(),
            orders: self.orders,
            color: stdout_color(self.color),
        }
    }
}

impl HexdumpArgs {
    /// The validated configuration `workbench::hexdump` runs with: offsets
    /// and lengths read, colour decided.
    pub fn config(&self) -> anyhow::Result<crate::workbench::hexdump::Config> {
        let (start, length) =
            crate::workbench::hexdump::Config::offsets(&self.skip, self.length.as_deref())?;
        Ok(crate::workbench::hexdump::Config {
            file: self.file.clone(),
            start,
            skip_text: self.skip.clone(),
            length,
            columns: usize::from(self.columns),
            group: usize::from(self.group),
            color: stdout_color(self.color),
        })
    }
}

impl OrderArgs {
    /// The validated configuration `workbench::order` runs with.
    pub fn config(&self) -> anyhow::Result<crate::workbench::order::Config> {
        crate::workbench::order::Config::new(&self.value, self.bits())
    }
}

impl AddrArgs {
    /// The configuration `workbench::addr` runs with.
    pub fn config(&self) -> crate::workbench::addr::Config {
        crate::workbench::addr::Config {
            address: self.address.clone(),
        }
    }
}
