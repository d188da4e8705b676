//! The interfaces a capture can open, for `socklab sniff -D` (as
//! `tcpdump -D`): number, name, state and the link type socklab decodes
//! their frames as.

use super::live::link_type_of;
use crate::wire::packet::LinkType;

/// One interface of this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// Kernel interface index.
    pub index: u32,
    /// Name, as `-i` takes it.
    pub name: String,
    /// Administratively up.
    pub up: bool,
    /// Running (carrier present).
    pub running: bool,
    /// The loopback interface.
    pub loopback: bool,
    /// What its frames start with.
    pub link: LinkType,
}

impl Iface {
    /// tcpdump's `-D` line, with the link type after it:
    /// `1.lo [Up, Running, Loopback] (link type ethernet)`.
    pub fn describe(&self, n: usize) -> String {
        let mut state = Vec::new();
        if self.up {
            state.push("Up");
        }
        if self.running {
            state.push("Running");
        }
        if self.loopback {
            state.push("Loopback");
        }
        let state = if state.is_empty() {
            String::new()
        } else {
            format!(" [{}]", state.join(", "))
        };
        format!("{n}.{}{state} (link type {})", self.name, self.link.name())
    }
}

/// Every interface of this host, by index.
pub fn list() -> Vec<Iface> {
    let mut all: Vec<Iface> = pnet::datalink::interfaces()
        .into_iter()
        .map(|i| Iface {
            index: i.index,
            up: i.is_up(),
            running: i.is_running(),
            loopback: i.is_loopback(),
            link: link_type_of(&i.name),
            name: i.name,
        })
        .collect();
    all.sort_by_key(|i| i.index);
    all
}
