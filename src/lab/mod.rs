//! One-command lessons: `socklab lab NAME` runs both ends of a socket
//! lesson on loopback, captures it, and prints a ladder diagram of the
//! packets with the socket calls that caused them, then what happened in
//! plain words. Without CAP_NET_RAW it runs in a private user + network
//! namespace, so no root is needed.

pub mod act;
pub mod ladder;
pub mod netns;
pub mod observe;
pub mod procnet;
pub mod scenario;
pub mod scenarios;
pub mod svg;

use crate::wire::decode_as::DecodeTable;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use crate::capture::background::BackgroundCapture;
use crate::capture::live::LiveConfig;
use crate::capture::privs;
use crate::capture::source::Memory;
use crate::filter::Filter;
use crate::proto::calls::{self, Recorder};
use crate::render::color;
use crate::render::out;
use crate::render::packet::PrintOptions;
use crate::sniff::driver::{Driver, Saved, Summary};
use crate::sniff::Pipeline;

use ladder::{End, Titles};
use observe::Observed;
use scenario::{Ctx, Scenario};

/// Where the lesson runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// This machine's lo (we have CAP_NET_RAW).
    Host,
    /// A private user + network namespace with its own lo.
    Namespace,
}

/// The list printed by `socklab lab`.
pub fn listing() -> String {
    let w = scenarios::ALL
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    let mut s = String::from(
        "socklab lab NAME: one-command socket lessons (both ends, captured and explained)\n",
    );
    for sc in scenarios::ALL {
        s.push_str(&format!("  {:<w$}  {}\n", sc.name, sc.title));
    }
    s.push_str("options: -v (every packet in detail), --json (events for tools), -w FILE (save the capture)\n");
    s
}

/// Get a place to capture: this machine if allowed, else a private namespace.
/// Must run while the process is single-threaded.
fn prepare() -> Result<Mode> {
    if netns::can_capture() {
        return Ok(Mode::Host);
    }
    match netns::enter_private_net() {
        Ok(()) => Ok(Mode::Namespace),
        Err(e) => {
            let hint = e.hint();
            Err(anyhow::Error::new(e).context(format!(
                "socklab lab needs to capture packets: without CAP_NET_RAW it uses a private network namespace, and that failed\n  hint: {hint}"
            )))
        }
    }
}

/// Word-wrap `text` at `width` columns with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `  - text` wrapped, continuation lines indented under the text.
fn bullet(text: &str, width: usize) -> String {
    let body = wrap(text, width, "    ");
    format!("  - {}", body.trim_start())
}

/// What one run produced.
pub struct Report {
    /// The scenario.
    pub scenario: &'static Scenario,
    /// Where it ran.
    pub mode: Mode,
    /// Packets and calls.
    pub observed: Observed,
    /// What the programs saw.
    pub facts: Vec<String>,
    /// The captured frames, for -v and -w.
    pub packets: Vec<crate::capture::OwnedPacket>,
    /// The lesson's ports.
    pub ports: Vec<u16>,
    /// The course protocols the lesson's ports speak (recorded in a `-w` pcapng).
    pub decode: DecodeTable,
    /// Packets the kernel dropped from the capture (a busy `lo`): the
    /// ladder may miss some, and the report says so.
    pub dropped: u64,
}

/// Run `scenario` with the capture attached.
pub fn run_scenario(scenario: &'static Scenario, mode: Mode) -> Result<Report> {
    let cap =
        BackgroundCapture::start(&LiveConfig::new("lo")).context("opening the capture on lo")?;
    if mode == Mode::Host {
        privs::drop_privileges()?;
    }
    let rec = Recorder::new();
    calls::install(rec.clone());
    let ctx = Ctx::default();
    let result = (scenario.run)(&ctx);
    calls::uninstall();
    std::thread::sleep(Duration::from_millis(150));
    let (packets, stats) = cap.stop()?;
    ctx.release();
    result.with_context(|| format!("the {} lesson failed", scenario.name))?;
    let ports = ctx.ports();
    let mut decode = DecodeTable::new();
    for (port, course_port) in ctx.course_ports() {
        decode.speaks(port, course_port);
    }
    let observed = observe::observe(&packets, &rec.take(), &ports, &decode);
    Ok(Report {
        scenario,
        mode,
        observed,
        facts: ctx.facts(),
        packets,
        ports,
        decode,
        dropped: stats.dropped,
    })
}

/// The line a report starts with when the capture lost packets.
fn dropped_warning(dropped: u64) -> String {
    format!(
        "(the kernel dropped {dropped} packet{} from the capture: lo was busy with other traffic, so the ladder below may miss some; run the lesson again)\n",
        if dropped == 1 { "" } else { "s" }
    )
}

/// Column titles: the client, and the server's address(es).
fn titles(r: &Report) -> Titles {
    let server = r
        .ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(", ");
    Titles {
        client: "client".into(),
        server: format!("server {server}"),
    }
}

/// The text report: ladder, `-v` detail (when given), explanation, facts,
/// connection summaries.
pub fn render_text(r: &Report, detail: Option<&str>) -> String {
    let mut s = format!("socklab lab {}: {}\n", r.scenario.name, r.scenario.title);
    if r.mode == Mode::Namespace {
        s.push_str("(no CAP_NET_RAW: running in a private network namespace with its own lo, as root there only)\n");
    }
    if r.dropped > 0 {
        s.push_str(&dropped_warning(r.dropped));
    }
    s.push('\n');
    s.push_str(&ladder::render(&titles(r), &r.observed.steps));
    s.push_str("\n(times in ms; arrows are packets as captured on lo, with the socket call that caused them beside them)\n");
    if let Some(d) = detail {
        s.push_str("\nEvery packet in detail:\n");
        s.push_str(d);
    }
    s.push_str("\nWhat happened:\n");
    s.push_str(&wrap(r.scenario.explain, 78, "  "));
    if !r.facts.is_empty() {
        s.push_str("\nWhat the programs saw:\n");
        for f in &r.facts {
            s.push_str(&bullet(f, 78));
        }
    }
    if !r.observed.summaries.is_empty() {
        s.push_str("\nConnections:\n");
        for c in &r.observed.summaries {
            s.push_str(&format!("  {c}\n"));
        }
    }
    s
}

/// The lesson's packets through the one packet [`Driver`]: every packet as
/// `socklab sniff -v` prints it (for `-v`), and the `-w` file, finished.
/// Only the lesson's ports are kept.
fn replay(
    r: &Report,
    write: Option<(&Path, bool)>,
    color: color::ColorWhen,
) -> Result<(String, Option<Saved>)> {
    let expr = r
        .ports
        .iter()
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let filter = Filter::parse(&expr)?;
    let opts = PrintOptions {
        color: color::stdout_enabled(color),
        verbose: true,
        ..PrintOptions::default()
    };
    let mut driver = Driver::new(
        Memory::new(&r.packets, crate::capture::LinkType::Ethernet),
        Pipeline::new(filter, opts).decode(&r.decode),
    )
    .summary(Summary::None);
    if let Some((path, nano)) = write {
        let comment = (!r.decode.is_empty()).then(|| r.decode.to_comment());
        driver = driver.save(path, nano).save_comment(comment);
    }
    let mut text = Vec::new();
    let end = driver.run(&mut text);
    let saved = end.saved.clone();
    end.result()?;
    Ok((String::from_utf8_lossy(&text).into_owned(), saved))
}

/// One JSON object per line: the lab, calls and packets in time order,
/// facts, connections, explanation (schema: `docs/json-schema.json`).
pub fn render_json(r: &Report) -> String {
    use crate::render::json::{connection_value, event_value, record};
    let mut lines = vec![record(
        "lab",
        None,
        json!({
            "name": r.scenario.name,
            "title": r.scenario.title,
            "mode": match r.mode { Mode::Host => "host", Mode::Namespace => "namespace" },
            "server_ports": r.ports,
            "dropped": r.dropped,
        }),
    )];
    let mut items: Vec<(i64, serde_json::Value)> = Vec::new();
    for (t, c) in &r.observed.calls {
        items.push((
            *t,
            record(
                "call",
                Some(c.at.into()),
                json!({"t_ns": t, "side": c.side.name(), "text": c.text}),
            ),
        ));
    }
    for p in &r.observed.packets {
        items.push((
            p.t_ns,
            record(
                "lab_packet",
                Some(p.ts),
                json!({
                    "t_ns": p.t_ns,
                    "from": match p.from { End::Client => "client", End::Server => "server" },
                    "proto": p.proto, "flags": p.flags, "seq": p.seq, "ack": p.ack, "len": p.len,
                    "label": p.label,
                    "events": p.events.iter().map(event_value).collect::<Vec<_>>(),
                    "narration": p.narration,
                }),
            ),
        ));
    }
    items.sort_by_key(|(t, _)| *t);
    lines.extend(items.into_iter().map(|(_, v)| v));
    lines.extend(
        r.facts
            .iter()
            .map(|f| record("fact", None, json!({"text": f}))),
    );
    lines.extend(
        r.observed
            .summaries
            .iter()
            .map(|c| record("connection", None, connection_value(c))),
    );
    lines.push(record(
        "explanation",
        None,
        json!({"text": r.scenario.explain}),
    ));
    let mut s = String::new();
    for l in lines {
        s.push_str(&l.to_string());
        s.push('\n');
    }
    s
}

/// What `socklab lab` runs with.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The lesson (none: list them).
    pub name: Option<String>,
    /// Every packet in detail.
    pub verbose: bool,
    /// Events as JSON lines.
    pub json: bool,
    /// Draw the ladder as SVG into this file.
    pub svg: Option<std::path::PathBuf>,
    /// Save the lesson's packets to this file.
    pub write: Option<std::path::PathBuf>,
    /// With `write`: nanosecond timestamps.
    pub nano: bool,
    /// When to colour the `-v` packets.
    pub color: color::ColorWhen,
}

/// `socklab lab [NAME] [-v] [--json] [--svg FILE] [-w FILE]`.
pub fn run(args: &Config) -> Result<ExitCode> {
    let Some(name) = args.name.as_deref() else {
        out::raw(listing().as_bytes());
        return Ok(ExitCode::SUCCESS);
    };
    let Some(scenario) = scenarios::find(name) else {
        let names: Vec<&str> = scenarios::ALL.iter().map(|s| s.name).collect();
        anyhow::bail!(
            "no lesson called '{name}'{}\n  the lessons are: {} (`socklab lab` describes them)",
            crate::suggest::did_you_mean(name, names.iter().copied()),
            names.join(", ")
        );
    };
    let mode = prepare()?;
    if mode == Mode::Namespace && !args.json {
        out::note("socklab lab: no CAP_NET_RAW here, so the lesson runs in a private network namespace (its own lo); nothing outside it is touched");
    }
    let report = run_scenario(scenario, mode)?;
    let (detail, saved) = replay(
        &report,
        args.write.as_deref().map(|p| (p, args.nano)),
        args.color,
    )?;
    if let Some(s) = saved {
        out::note(&format!(
            "socklab lab: {} saved in {}",
            crate::plural::count(s.packets, "packet"),
            s.path.display()
        ));
    }
    if let Some(path) = &args.svg {
        let svg = svg::render(&titles(&report), &report.observed.steps);
        std::fs::write(path, svg)
            .with_context(|| format!("writing the SVG picture to {}", path.display()))?;
        out::note(&format!("socklab lab: ladder drawn in {}", path.display()));
    }
    let text = if args.json {
        render_json(&report)
    } else {
        render_text(&report, args.verbose.then_some(detail.as_str()))
    };
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())
        .and_then(|_| o.flush())
        .map_err(out::WriteError::stdout)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::dropped_warning;

    #[test]
    fn a_lossy_capture_is_named_with_its_count() {
        assert!(dropped_warning(1).starts_with("(the kernel dropped 1 packet from"));
        let w = dropped_warning(12);
        assert!(w.contains("dropped 12 packets") && w.contains("run the lesson again"));
    }
}
