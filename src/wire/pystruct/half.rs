//! IEEE 754 binary16 (`e`), rounded exactly as CPython's `PyFloat_Pack2`
//! and widened as `PyFloat_Unpack2`.

/// `x` as half-float bits, or `None` when it is too large for `e`.
pub fn pack(x: f64) -> Option<u16> {
    let sign = u16::from(x.is_sign_negative());
    let (e, bits): (i32, u32) = if x == 0.0 {
        (0, 0)
    } else if x.is_infinite() {
        (0x1f, 0)
    } else if x.is_nan() {
        (0x1f, 512)
    } else {
        let (mut f, mut e) = frexp(x.abs());
        // Normalize f to [1.0, 2.0).
        f *= 2.0;
        e -= 1;
        if e >= 16 {
            return None;
        } else if e < -25 {
            f = 0.0;
            e = 0;
        } else if e < -14 {
            f *= 2f64.powi(14 + e);
            e = 0;
        } else {
            e += 15;
            f -= 1.0;
        }
        f *= 1024.0;
        let mut bits = f as u32;
        if f - f64::from(bits) > 0.5 || (f - f64::from(bits) == 0.5 && bits % 2 == 1) {
            bits += 1;
            if bits == 1024 {
                bits = 0;
                e += 1;
                if e == 31 {
                    return None;
                }
            }
        }
        (e, bits)
    };
    Some((sign << 15) | ((e as u16) << 10) | bits as u16)
}

/// Half-float bits widened to a double.
pub fn unpack(h: u16) -> f64 {
    let negative = h & 0x8000 != 0;
    let e = i32::from((h >> 10) & 0x1f);
    let f = h & 0x3ff;
    let x = if e == 0x1f {
        if f == 0 {
            f64::INFINITY
        } else {
            // CPython returns its one quiet NaN, whatever the payload.
            f64::from_bits(0x7ff8_0000_0000_0000)
        }
    } else if e == 0 {
        f64::from(f) / 1024.0 * 2f64.powi(-14)
    } else {
        (f64::from(f) / 1024.0 + 1.0) * 2f64.powi(e - 15)
    };
    if negative {
        -x
    } else {
        x
    }
}

/// C's `frexp` for finite positive `x`: `x = f * 2^e` with `f` in [0.5, 1).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(x * 2f64.powi(64));
        return (f, e - 64);
    }
    let f = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (f, exp - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(pack(1.0), Some(0x3c00));
        assert_eq!(pack(-2.0), Some(0xc000));
        assert_eq!(pack(65504.0), Some(0x7bff));
        assert_eq!(pack(65519.99), Some(0x7bff));
        assert_eq!(pack(65520.0), None);
        assert_eq!(pack(2f64.powi(-24)), Some(0x0001));
        assert_eq!(pack(2f64.powi(-25)), Some(0x0000));
        assert_eq!(pack(6e-8), Some(0x0001));
        assert_eq!(pack(f64::NAN), Some(0x7e00));
        assert_eq!(pack(-f64::NAN), Some(0xfe00));
        assert_eq!(pack(f64::NEG_INFINITY), Some(0xfc00));
        assert_eq!(pack(-0.0), Some(0x8000));
        assert_eq!(pack(5e-324), Some(0));
    }

    #[test]
    fn widening() {
        assert_eq!(unpack(0x3c00), 1.0);
        assert_eq!(unpack(0x7bff), 65504.0);
        assert_eq!(unpack(0x0001), 2f64.powi(-24));
        assert_eq!(unpack(0xfe01).to_bits(), 0xfff8_0000_0000_0000);
        assert_eq!(unpack(0x7c00), f64::INFINITY);
        assert_eq!(unpack(0x8000).to_bits(), (-0.0f64).to_bits());
    }
}
