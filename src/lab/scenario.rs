//! What a lab scenario is: a name, a one-line title, the choreography of
//! both ends (run in this process, on loopback), and the plain-words
//! explanation. [`Ctx`] collects what the scenario learns while it runs.

use std::any::Any;
use std::sync::Mutex;

use anyhow::Result;

/// One lesson.
pub struct Scenario {
    /// `handshake`.
    pub name: &'static str,
    /// One line for `socklab lab`.
    pub title: &'static str,
    /// Both ends, start to finish.
    pub run: fn(&Ctx) -> Result<()>,
    /// What happened and why, in plain words.
    pub explain: &'static str,
}

/// What a running scenario records for the report.
#[derive(Default)]
pub struct Ctx {
    ports: Mutex<Vec<u16>>,
    speaks: Mutex<Vec<(u16, u16)>>,
    facts: Mutex<Vec<String>>,
    keep: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl Ctx {
    /// Traffic to and from `port` belongs to the lesson (a server port).
    pub fn server_port(&self, port: u16) {
        if let Ok(mut p) = self.ports.lock() {
            if !p.contains(&port) {
                p.push(port);
            }
        }
    }

    /// Traffic on `port` speaks the course protocol whose default port is
    /// `course_port` (10009 calculators, 10000 echo, 5000 monitor).
    pub fn speaks(&self, port: u16, course_port: u16) {
        self.server_port(port);
        if let Ok(mut s) = self.speaks.lock() {
            s.push((port, course_port));
        }
    }

    /// The course-protocol ports registered.
    pub fn course_ports(&self) -> Vec<(u16, u16)> {
        self.speaks.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The server ports registered so far.
    pub fn ports(&self) -> Vec<u16> {
        self.ports.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Something the scenario observed (an error a call returned, a state).
    pub fn fact(&self, text: impl Into<String>) {
        if let Ok(mut f) = self.facts.lock() {
            f.push(text.into());
        }
    }

    /// The facts, in order.
    pub fn facts(&self) -> Vec<String> {
        self.facts.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Keep sockets open until the capture has stopped (so closing them is
    /// not part of the lesson).
    pub fn keep<T: Send + 'static>(&self, t: T) {
        if let Ok(mut k) = self.keep.lock() {
            k.push(Box::new(t));
        }
    }

    /// Close what was kept.
    pub fn release(&self) {
        if let Ok(mut k) = self.keep.lock() {
            k.clear();
        }
    }
}
