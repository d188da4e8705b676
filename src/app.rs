//! Dispatch: one command line to the code that runs it. Validation of
//! addresses happens here; the protocol modules get resolved values.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{
    Chat, Cli, Command, Echo, EchoStyle, Monitor, MonitorMode, ServeOpts, SniffOpt, TcpCalc,
    TcpMode, UdpCalc,
};
use crate::proto::accept::Style;
use crate::proto::log::Log;
use crate::proto::net::{self, Endpoint};
use crate::proto::{
    chat, echo_client, echo_server, get, monitor_client, monitor_server, resolve, stop,
    tcp_calc_client, tcp_calc_server, udp_calc_client, udp_calc_server,
};
use crate::sniff::attach::{self, Watch};
use crate::wire::udp_calc::Request;

fn local(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
    }
}

fn bind_addr(opts: &ServeOpts, default_port: u16) -> Result<std::net::SocketAddr> {
    net::resolve_one(
        opts.bind.as_deref().unwrap_or("127.0.0.1"),
        &local(default_port),
    )
}

/// Raise the soft open-files limit to the hard limit (servers and load
/// clients may hold thousands of sockets). Failure is harmless.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Run a parsed command; `Ok` carries the exit code to return.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // The lab may have to unshare(CLONE_NEWUSER), which needs a process with
    // one thread: it runs before anything starts a thread.
    if let Command::Lab(args) = &cli.command {
        return crate::lab::run(&args.config());
    }
    // trace too (it may enter a namespace), and it handles signals itself.
    if let Command::Trace(args) = &cli.command {
        let cfg = args.config().map_err(anyhow::Error::msg)?;
        return crate::trace::run(&cfg);
    }
    stop::install();
    raise_fd_limit();
    match cli.command {
        Command::UdpCalc(c) => udp_calc(c)?,
        Command::TcpCalc(c) => tcp_calc(c)?,
        Command::Echo(c) => echo(c)?,
        Command::Chat(c) => chat_cmd(c)?,
        Command::Monitor(c) => monitor(c)?,
        Command::Get(g) => {
            let t = get_target(&g)?;
            let port = get::port_of(&t.service)?;
            attach::run(watch(g.sniff, port, false, None), || {
                get::get(&t.host, &t.service, &t.path, g.timeout)
            })?;
        }
        Command::Demo => crate::demo::run()?,
        Command::Dissector(d) => {
            let mut table = crate::wire::decode_as::DecodeTable::new();
            for rule in d.decode {
                table.add(rule);
            }
            crate::render::out::raw(crate::dissector::script(&table).as_bytes());
        }
        Command::Resolve(r) => resolve::resolve(&r.name, r.service.as_deref())?,
        Command::Pack(a) => return crate::workbench::pack::run(&a.config()),
        Command::Unpack(a) => return crate::workbench::unpack::run(&a.config()),
        Command::Hexdump(a) => return crate::workbench::hexdump::run(&a.config()?),
        Command::Order(a) => return crate::workbench::order::run(&a.config()?),
        Command::Addr(a) => return crate::workbench::addr::run(&a.config()),
        Command::Sniff(args) => {
            use crate::cli::sniff::SniffConfig;
            return match args.config()? {
                SniffConfig::Live(c) => crate::sniff::run(&c),
                SniffConfig::Read(c) => crate::sniff::replay::run(&c),
                SniffConfig::List => crate::sniff::ifaces::run(),
            };
        }
        Command::Lab(args) => return crate::lab::run(&args.config()),
        Command::Replay(args) => return crate::sniff::replay::run(&args.config()?),
        Command::Trace(_) => unreachable!("handled above"),
        Command::Completions(a) => {
            let mut script = Vec::new();
            crate::cli::generate::completions(a.shell, &mut script);
            crate::render::out::raw(&script);
        }
        Command::Man(a) => man(a.dir.as_deref())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `get HOST PORT [PATH]` or `get URL`: where the request goes.
fn get_target(g: &crate::cli::GetArgs) -> Result<crate::wire::http::Target> {
    use crate::wire::http::{parse_url, Target};
    match (parse_url(&g.host), &g.port) {
        (Some(Err(e)), _) => anyhow::bail!("{e}"),
        (Some(Ok(t)), None) => Ok(t),
        (Some(Ok(_)), Some(extra)) => anyhow::bail!(
            "'{}' is a URL, which already says the port and path; drop '{extra}' \
             (or give HOST PORT PATH instead of the URL)",
            g.host
        ),
        (None, Some(port)) => Ok(Target {
            host: g.host.clone(),
            service: port.clone(),
            path: g.path.clone().unwrap_or_else(|| "/".into()),
        }),
        (None, None) => anyhow::bail!(
            "socklab get needs a port after the host: socklab get {} PORT [PATH] \
             (a number, or a service name such as http), or a URL: socklab get http://{}/",
            g.host,
            g.host
        ),
    }
}

/// `socklab man [DIR]`: the main page to stdout, or every page into DIR.
fn man(dir: Option<&std::path::Path>) -> Result<()> {
    use anyhow::Context;
    let Some(dir) = dir else {
        let mut page = Vec::new();
        crate::cli::generate::man_page(&mut page).context("rendering the man page")?;
        crate::render::out::raw(&page);
        return Ok(());
    };
    let written = crate::cli::generate::man_pages(dir).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot write man pages: {}",
            dir.display(),
            crate::error::describe_io(&e)
        )
    })?;
    for path in written {
        crate::render::out::line(&path.display().to_string());
    }
    Ok(())
}

/// A load run fails only when nothing was answered correctly (the report
/// already shows wrong and missing replies).
fn load_outcome(st: &crate::proto::stats::LoadStats, count: u64) -> Result<()> {
    if st.ok == 0 && count > 0 {
        anyhow::bail!("no request got a correct reply");
    }
    Ok(())
}

/// What `--sniff` watches: the server's port, speaking the course protocol
/// whose default port is `course_port`.
fn watch(s: SniffOpt, port: u16, binds: bool, course_port: Option<u16>) -> Option<Watch> {
    s.sniff.then_some(Watch {
        port,
        binds,
        hex: s.sniff_hex,
        course_port,
        write: s.write.map(|path| (path, s.nano)),
        decode: crate::cli::print::table_of(&s.decode),
        color: s.color.into(),
    })
}

fn udp_calc(c: UdpCalc) -> Result<()> {
    match c {
        UdpCalc::Serve { opts, sniff, order } => {
            let cfg = udp_calc_server::Config {
                bind: bind_addr(&opts, 10009)?,
                // UDP: SO_REUSEADDR only shares a port, never helps a restart.
                reuseaddr: opts.reuseaddr,
                order: order.into(),
                log: Log::new(opts.quiet),
            };
            attach::run(watch(sniff, cfg.bind.port(), true, Some(10009)), || {
                Ok(udp_calc_server::serve(&cfg)?)
            })?;
        }
        UdpCalc::Ask {
            a,
            b,
            op,
            to,
            order,
            timeout,
            load,
            sniff,
            window,
        } => {
            let addrs = net::ipv4_first(net::resolve_all(&to, &local(10009))?);
            attach::run(
                watch(sniff, addrs[0].port(), false, Some(10009)),
                || match load.count {
                    Some(count) => {
                        let cfg = udp_calc_client::Load {
                            count,
                            concurrency: load.concurrency,
                            window,
                            timeout,
                            order: order.into(),
                        };
                        load_outcome(&udp_calc_client::load(&addrs, &cfg)?, count)
                    }
                    None => {
                        udp_calc_client::ask(&addrs, Request { a, b, op }, order.into(), timeout)?;
                        Ok(())
                    }
                },
            )?;
        }
    }
    Ok(())
}

fn tcp_calc(c: TcpCalc) -> Result<()> {
    match c {
        TcpCalc::Serve {
            opts,
            sniff,
            mode,
            idle_timeout,
            max_clients,
        } => {
            let cfg = tcp_calc_server::Config {
                bind: bind_addr(&opts, 10009)?,
                reuseaddr: !opts.no_reuseaddr,
                style: match mode {
                    TcpMode::Iterative => Style::Iterative,
                    TcpMode::Threads => Style::Threads(max_clients.max(1)),
                },
                idle: idle_timeout,
                log: Log::new(opts.quiet),
            };
            attach::run(watch(sniff, cfg.bind.port(), true, Some(10009)), || {
                Ok(tcp_calc_server::serve(&cfg)?)
            })?;
        }
        TcpCalc::Ask {
            a,
            b,
            op,
            to,
            timeout,
            load,
            sniff,
        } => {
            let addrs = net::resolve_all(&to, &local(10009))?;
            attach::run(
                watch(sniff, addrs[0].port(), false, Some(10009)),
                || match load.count {
                    Some(count) => load_outcome(
                        &tcp_calc_client::load(&addrs, count, load.concurrency, timeout),
                        count,
                    ),
                    None => {
                        tcp_calc_client::ask(&addrs, a, b, op, timeout)?;
                        Ok(())
                    }
                },
            )?;
        }
    }
    Ok(())
}

fn echo(c: Echo) -> Result<()> {
    match c {
        Echo::Serve {
            opts,
            sniff,
            udp,
            style,
            idle_timeout,
            max_clients,
        } => {
            let cfg = echo_server::Config {
                bind: bind_addr(&opts, 10000)?,
                reuseaddr: if udp {
                    opts.reuseaddr
                } else {
                    !opts.no_reuseaddr
                },
                reply: match style {
                    EchoStyle::Plain => echo_server::Reply::Plain,
                    EchoStyle::Upper => echo_server::Reply::Upper,
                    EchoStyle::Ok => echo_server::Reply::Ok,
                },
                idle: idle_timeout,
                max_clients: max_clients.max(1),
                log: Log::new(opts.quiet),
            };
            attach::run(watch(sniff, cfg.bind.port(), true, Some(10000)), || {
                if udp {
                    echo_server::serve_udp(&cfg)?;
                } else {
                    echo_server::serve_tcp(&cfg)?;
                }
                Ok(())
            })?;
        }
        Echo::Send {
            message,
            to,
            udp,
            nul,
            timeout,
            sniff,
        } => {
            let mut addrs = net::resolve_all(&to, &local(10000))?;
            if udp {
                addrs = net::ipv4_first(addrs);
            }
            let cfg = echo_client::Config {
                message: message.into_bytes(),
                udp,
                nul,
                timeout,
            };
            attach::run(watch(sniff, addrs[0].port(), false, Some(10000)), || {
                echo_client::send(&addrs, &cfg)?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn chat_cmd(c: Chat) -> Result<()> {
    let Chat::Serve {
        opts,
        sniff,
        idle_timeout,
        max_clients,
    } = c;
    let cfg = chat::Config {
        bind: bind_addr(&opts, 8888)?,
        reuseaddr: !opts.no_reuseaddr,
        idle: idle_timeout,
        max_clients: max_clients.max(1),
        log: Log::new(opts.quiet),
    };
    attach::run(watch(sniff, cfg.bind.port(), true, None), || {
        Ok(chat::serve(&cfg)?)
    })
}

fn monitor(c: Monitor) -> Result<()> {
    match c {
        Monitor::Serve {
            opts,
            sniff,
            mode,
            idle_timeout,
            max_clients,
        } => {
            let cfg = monitor_server::Config {
                bind: bind_addr(&opts, 5000)?,
                reuseaddr: !opts.no_reuseaddr,
                threads: mode == MonitorMode::Threads,
                idle: idle_timeout,
                max_clients: max_clients.max(1),
                log: Log::new(opts.quiet),
            };
            attach::run(watch(sniff, cfg.bind.port(), true, Some(5000)), || {
                Ok(monitor_server::serve(&cfg)?)
            })?;
        }
        Monitor::Report {
            to,
            interval,
            count,
            clients,
            timeout,
            sniff,
        } => {
            let addrs = net::resolve_all(&to, &local(5000))?;
            let cfg = monitor_client::Config {
                interval,
                count,
                clients,
                timeout,
            };
            attach::run(watch(sniff, addrs[0].port(), false, Some(5000)), || {
                monitor_client::report(&addrs, &cfg)?;
                Ok(())
            })?;
        }
    }
    Ok(())
}
