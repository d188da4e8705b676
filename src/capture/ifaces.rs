//! The interfaces a capture can open, for `socklab sniff -D` (as
//! `tcpdump -D`): number, name, description, state and the link type
//! socklab decodes their frames as.
//!
//! The list is libpcap's (1.10), so the numbers and the order are
//! tcpdump's: the host's interfaces by index, then the `any` pseudo-device,
//! sorted (stably) so that running, up, connected, non-loopback interfaces
//! come first and `any` comes after every such interface but before the
//! loopback ones. Devices libpcap adds that are not network interfaces
//! (`nflog`, `dbus-system`, `bluetooth-monitor`...) are left out: socklab
//! cannot capture on them. Nothing here panics.

use super::live::{link_type_of, ANY};
use crate::wire::packet::LinkType;

/// libpcap's description of the `any` pseudo-device.
const ANY_DESCRIPTION: &str = "Pseudo-device that captures on all interfaces";

/// Whether the interface has a link, as libpcap reports it
/// (`PCAP_IF_CONNECTION_STATUS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// The driver could not be asked.
    Unknown,
    /// A link (carrier) is detected; for wireless: associated.
    Connected,
    /// No link; for wireless: not associated.
    Disconnected,
    /// The question does not apply (loopback, `any`, drivers without the answer).
    NotApplicable,
}

/// One interface of this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// Kernel interface index (0 for `any`).
    pub index: u32,
    /// Name, as `-i` takes it.
    pub name: String,
    /// What tcpdump shows in parentheses after the name (only `any` has one).
    pub description: Option<&'static str>,
    /// Administratively up.
    pub up: bool,
    /// Running (carrier present).
    pub running: bool,
    /// The loopback interface.
    pub loopback: bool,
    /// A wireless interface.
    pub wireless: bool,
    /// Link detected or not.
    pub status: LinkStatus,
    /// What its frames start with.
    pub link: LinkType,
}

impl Iface {
    /// The `any` pseudo-device as libpcap lists it: up, running, the
    /// connection status not applicable, Linux cooked frames (SLL2).
    pub fn any() -> Iface {
        Iface {
            index: 0,
            name: ANY.to_string(),
            description: Some(ANY_DESCRIPTION),
            up: true,
            running: true,
            loopback: false,
            wireless: false,
            status: LinkStatus::NotApplicable,
            link: link_type_of(ANY),
        }
    }

    /// tcpdump's `-D` line, with the link type after it:
    /// `1.lo [Up, Running, Loopback] (link type ethernet)`.
    pub fn describe(&self, n: usize) -> String {
        let description = self
            .description
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        format!(
            "{n}.{}{description}{} (link type {})",
            self.name,
            self.state(),
            self.link.name()
        )
    }

    /// The bracketed state as tcpdump prints it: `[Up, Running, Connected]`,
    /// `[none]` when no flag is set but the status is known, nothing at all
    /// when libpcap knows nothing (its flags are 0).
    fn state(&self) -> String {
        let flags: Vec<&str> = [
            (self.up, "Up"),
            (self.running, "Running"),
            (self.loopback, "Loopback"),
            (self.wireless, "Wireless"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        if flags.is_empty() && self.status == LinkStatus::Unknown {
            return String::new();
        }
        let mut s = if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(", ")
        };
        let status = match (self.status, self.wireless) {
            (LinkStatus::NotApplicable, _) => None,
            (LinkStatus::Unknown, false) => Some("Connection status unknown"),
            (LinkStatus::Unknown, true) => Some("Association status unknown"),
            (LinkStatus::Connected, false) => Some("Connected"),
            (LinkStatus::Connected, true) => Some("Associated"),
            (LinkStatus::Disconnected, false) => Some("Disconnected"),
            (LinkStatus::Disconnected, true) => Some("Not associated"),
        };
        if let Some(status) = status {
            s.push_str(", ");
            s.push_str(status);
        }
        format!(" [{s}]")
    }

    /// libpcap's figure of merit (lower is listed first): not running, not
    /// up, disconnected (wired only), loopback, then `any`.
    fn merit(&self) -> u32 {
        let mut n = 0;
        if !self.running {
            n |= 0x8000_0000;
        }
        if !self.up {
            n |= 0x4000_0000;
        }
        if !self.wireless && self.status == LinkStatus::Disconnected {
            n |= 0x2000_0000;
        }
        if self.loopback {
            n |= 0x1000_0000;
        }
        if self.name == ANY {
            n |= 0x0800_0000;
        }
        n
    }
}

/// Put `all` (the interfaces by index, then `any`) in libpcap's order: a
/// stable sort by figure of merit.
pub fn ordered(mut all: Vec<Iface>) -> Vec<Iface> {
    all.sort_by_key(Iface::merit);
    all
}

/// Every interface of this host, then `any`, in `tcpdump -D`'s order.
pub fn list() -> Vec<Iface> {
    let mut all: Vec<Iface> = pnet::datalink::interfaces()
        .into_iter()
        .map(|i| {
            let (wireless, status) = link_state(&i.name, i.is_loopback());
            Iface {
                index: i.index,
                description: None,
                up: i.is_up(),
                running: i.is_running(),
                loopback: i.is_loopback(),
                wireless,
                status,
                link: link_type_of(&i.name),
                name: i.name,
            }
        })
        .collect();
    all.sort_by_key(|i| i.index);
    all.push(Iface::any());
    ordered(all)
}

/// Wireless or not, and the link status, found as libpcap finds them on
/// Linux: loopback has no status; `/sys/class/net/NAME/wireless` or a
/// wireless hardware type means wireless; then the driver is asked
/// (`ETHTOOL_GLINK`).
fn link_state(name: &str, loopback: bool) -> (bool, LinkStatus) {
    if loopback {
        return (false, LinkStatus::NotApplicable);
    }
    let sys = std::path::Path::new("/sys/class/net").join(name);
    let mut wireless = sys.join("wireless").exists();
    if !wireless {
        let hw: Option<u32> = std::fs::read_to_string(sys.join("type"))
            .ok()
            .and_then(|t| t.trim().parse().ok());
        match hw {
            // ARPHRD_LOOPBACK without IFF_LOOPBACK: libpcap does not ask.
            Some(772) => return (false, LinkStatus::Unknown),
            // IrDA, 802.11 (plain, Prism, radiotap), 802.15.4 (and
            // monitor), 6LoWPAN.
            Some(783 | 801 | 802 | 803 | 804 | 805 | 825) => wireless = true,
            _ => {}
        }
    }
    let status = match super::sys::link_detected(name) {
        Ok(true) => LinkStatus::Connected,
        Ok(false) => LinkStatus::Disconnected,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EINVAL)) => {
            LinkStatus::NotApplicable
        }
        Err(_) => LinkStatus::Unknown,
    };
    (wireless, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, up: bool, running: bool, status: LinkStatus) -> Iface {
        Iface {
            index: 1,
            name: name.into(),
            description: None,
            up,
            running,
            loopback: name == "lo",
            wireless: false,
            status,
            link: LinkType::Ethernet,
        }
    }

    #[test]
    fn lines_are_tcpdumps() {
        use LinkStatus::*;
        let cases = [
            (
                iface("eth0", true, true, Connected),
                "1.eth0 [Up, Running, Connected] (link type ethernet)",
            ),
            (
                iface("lo", true, true, NotApplicable),
                "1.lo [Up, Running, Loopback] (link type ethernet)",
            ),
            (
                iface("ifb0", false, false, NotApplicable),
                "1.ifb0 [none] (link type ethernet)",
            ),
            (
                iface("veth1", false, false, Disconnected),
                "1.veth1 [none, Disconnected] (link type ethernet)",
            ),
            (
                iface("eth1", true, false, Disconnected),
                "1.eth1 [Up, Disconnected] (link type ethernet)",
            ),
            (
                iface("eth2", true, true, Unknown),
                "1.eth2 [Up, Running, Connection status unknown] (link type ethernet)",
            ),
            (
                iface("odd0", false, false, Unknown),
                "1.odd0 (link type ethernet)",
            ),
        ];
        for (i, want) in cases {
            assert_eq!(i.describe(1), want);
        }
        let mut w = iface("wlan0", true, true, Disconnected);
        w.wireless = true;
        assert_eq!(
            w.describe(3),
            "3.wlan0 [Up, Running, Wireless, Not associated] (link type ethernet)"
        );
        assert_eq!(
            Iface::any().describe(2),
            "2.any (Pseudo-device that captures on all interfaces) [Up, Running] (link type linux-sll2)"
        );
    }

    /// libpcap's order: running up connected ones, then `any`, then
    /// loopback, then the disconnected, then the down ones; ties keep the
    /// index order.
    #[test]
    fn order_is_libpcaps() {
        use LinkStatus::*;
        let all = vec![
            iface("lo", true, true, NotApplicable),
            iface("ifb0", false, false, NotApplicable),
            iface("eth1", true, true, Disconnected),
            iface("ifb1", false, false, NotApplicable),
            iface("eth0", true, true, Connected),
            iface("veth9", false, false, Disconnected),
            iface("tun0", true, true, NotApplicable),
            Iface::any(),
        ];
        let names: Vec<String> = ordered(all).into_iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            ["eth0", "tun0", "any", "lo", "eth1", "ifb0", "ifb1", "veth9"]
        );
    }
}
