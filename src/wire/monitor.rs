//! System monitor records: exactly 67 bytes of UTF-8 text,
//! `Hostname:pc-home Carga de CPU: 0.5% Memória Disponível: 50.4%` padded
//! with spaces. A hostname too long to fit is cut on a character boundary.

/// Record length in bytes.
pub const RECORD_LEN: usize = 67;

const HOST: &str = "Hostname:";
const CPU: &str = " Carga de CPU: ";
const MEM: &str = "% Memória Disponível: ";

/// A decoded record. Figures are kept as the text that was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Host name of the reporting machine.
    pub host: String,
    /// CPU load over the last interval, percent (text as sent, e.g. `0.5`).
    pub cpu: String,
    /// Memory available, percent (text as sent).
    pub mem: String,
}

/// Why 67 bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not 67 bytes.
    #[error("record is {0} bytes, expected exactly {RECORD_LEN}")]
    Length(usize),
    /// Not valid UTF-8 text.
    #[error("record is not valid UTF-8 text (byte {0} starts a bad sequence)")]
    Utf8(usize),
    /// Text that does not follow the record layout.
    #[error("record does not follow the layout 'Hostname:H Carga de CPU: C% Memória Disponível: M%': {0}")]
    Layout(&'static str),
}

/// Build a record from figures (percentages, shown with one decimal).
pub fn encode(host: &str, cpu: f64, mem: f64) -> [u8; RECORD_LEN] {
    let cpu = format!("{:.1}", cpu.clamp(0.0, 100.0));
    let mem = format!("{:.1}", mem.clamp(0.0, 100.0));
    let fixed = HOST.len() + CPU.len() + cpu.len() + MEM.len() + mem.len() + 1;
    let room = RECORD_LEN.saturating_sub(fixed);
    let mut cut = host.len().min(room);
    while !host.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = format!("{HOST}{}{CPU}{cpu}{MEM}{mem}%", &host[..cut]);
    let mut out = [b' '; RECORD_LEN];
    out[..text.len()].copy_from_slice(text.as_bytes());
    out
}

fn figure(s: &str) -> Result<String, RecordError> {
    let ok =
        !s.is_empty() && s.len() <= 8 && s.parse::<f64>().map(|v| v.is_finite()).unwrap_or(false);
    if ok {
        Ok(s.to_string())
    } else {
        Err(RecordError::Layout("a percentage is not a number"))
    }
}

/// Decode exactly 67 bytes.
pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
    if bytes.len() != RECORD_LEN {
        return Err(RecordError::Length(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| RecordError::Utf8(e.valid_up_to()))?;
    let text = text.trim_end_matches([' ', '\0']);
    let rest = text
        .strip_prefix(HOST)
        .ok_or(RecordError::Layout("it does not start with 'Hostname:'"))?;
    let (host, rest) = rest
        .split_once(CPU)
        .ok_or(RecordError::Layout("' Carga de CPU: ' is missing"))?;
    let (cpu, rest) = rest
        .split_once(MEM)
        .ok_or(RecordError::Layout("'% Memória Disponível: ' is missing"))?;
    let mem = rest
        .strip_suffix('%')
        .ok_or(RecordError::Layout("it does not end with '%'"))?;
    Ok(Record {
        host: host.to_string(),
        cpu: figure(cpu)?,
        mem: figure(mem)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COURSE: &str = "Hostname:pc-home Carga de CPU: 0.5% Memória Disponível: 50.4%";

    #[test]
    fn course_example_is_63_bytes_padded_to_67() {
        assert_eq!(COURSE.len(), 63);
        let r = encode("pc-home", 0.5, 50.4);
        assert_eq!(&r[..63], COURSE.as_bytes());
        assert_eq!(&r[63..], b"    ");
        let d = decode(&r).unwrap();
        assert_eq!(
            (d.host.as_str(), d.cpu.as_str(), d.mem.as_str()),
            ("pc-home", "0.5", "50.4")
        );
    }

    #[test]
    fn long_hostname_is_cut_on_a_char_boundary() {
        let r = encode("ééééééééééééééééééééééé", 100.0, 100.0);
        assert_eq!(r.len(), RECORD_LEN);
        let d = decode(&r).unwrap();
        assert!(d.host.starts_with('é'));
        assert_eq!(d.cpu, "100.0");
    }

    #[test]
    fn bad_records() {
        assert_eq!(decode(b"short").unwrap_err(), RecordError::Length(5));
        let mut r = encode("h", 1.0, 2.0);
        r[0] = 0xff;
        assert_eq!(decode(&r).unwrap_err(), RecordError::Utf8(0));
        let junk = [b'x'; RECORD_LEN];
        assert!(matches!(decode(&junk).unwrap_err(), RecordError::Layout(_)));
    }
}
