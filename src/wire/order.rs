//! Byte order of packed integers, as Python's `struct` prefixes name them.

/// A byte order for packed integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// This machine's order (`@`, the default of `"III"`).
    Native,
    /// Least significant byte first (`<`).
    Little,
    /// Most significant byte first, network order (`!`, `>`).
    Big,
}

impl Order {
    /// Native resolved to the machine's real order.
    pub fn concrete(self) -> Order {
        match self {
            Order::Native if cfg!(target_endian = "little") => Order::Little,
            Order::Native => Order::Big,
            o => o,
        }
    }

    /// The concrete order a reader with the *other* convention uses.
    pub fn opposite(self) -> Order {
        match self.concrete() {
            Order::Little => Order::Big,
            _ => Order::Little,
        }
    }

    /// `native (little-endian)`, `little-endian`, `big-endian (network order)`.
    pub fn describe(self) -> String {
        match self {
            Order::Native => format!("native ({})", self.concrete().describe()),
            Order::Little => "little-endian".into(),
            Order::Big => "big-endian (network order)".into(),
        }
    }

    /// The Python `struct` format for `n` unsigned ints in this order: `III`, `<III`, `!III`.
    pub fn struct_format(self, n: usize) -> String {
        let prefix = match self {
            Order::Native => "",
            Order::Little => "<",
            Order::Big => "!",
        };
        format!("{prefix}{}", "I".repeat(n))
    }

    /// `v` as 4 bytes in this order.
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        match self.concrete() {
            Order::Little => v.to_le_bytes(),
            _ => v.to_be_bytes(),
        }
    }

    /// 4 bytes read in this order.
    pub fn get_u32(self, b: [u8; 4]) -> u32 {
        match self.concrete() {
            Order::Little => u32::from_le_bytes(b),
            _ => u32::from_be_bytes(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_read_with_the_wrong_order_is_167772160() {
        let b = Order::Little.put_u32(10);
        assert_eq!(b, [10, 0, 0, 0]);
        assert_eq!(Order::Big.get_u32(b), 167_772_160);
        assert_eq!(Order::Big.put_u32(10), [0, 0, 0, 10]);
    }

    #[test]
    fn native_is_the_machine() {
        assert_eq!(
            Order::Native.put_u32(0x0102_0304),
            0x0102_0304u32.to_ne_bytes()
        );
        assert_ne!(Order::Native.opposite(), Order::Native.concrete());
    }
}
