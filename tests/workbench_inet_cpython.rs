//! Property test: socklab's inet_aton / inet_pton / inet_ntop against the
//! C library as Python's `socket` module exposes it (glibc on Linux).
//! Random address-like texts and random IPv6 addresses go as JSON lines to
//! one python3 process. Skips (with a printed reason) only without python3.

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv6Addr;
use std::process::{Command, Stdio};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

use socklab::workbench::inet::{inet_aton, inet_ntop6, inet_pton4, inet_pton6};

const PYTHON: &str = r#"
import sys, json, socket
def attempt(f):
    try: return f().hex()
    except (OSError, ValueError): return None
for line in sys.stdin:
    c = json.loads(line)
    if 'text' in c:
        t = c['text']
        print(json.dumps({
            'aton': attempt(lambda: socket.inet_aton(t)),
            'pton4': attempt(lambda: socket.inet_pton(socket.AF_INET, t)),
            'pton6': attempt(lambda: socket.inet_pton(socket.AF_INET6, t)),
        }))
    else:
        print(json.dumps({'ntop6': socket.inet_ntop(socket.AF_INET6, bytes.fromhex(c['packed']))}))
"#;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_text(rng: &mut StdRng) -> String {
    const PIECES: &[&str] = &[
        "0",
        "1",
        "7",
        "8",
        "9",
        "10",
        "127",
        "255",
        "256",
        "0x",
        "0X1f",
        "0xff",
        "010",
        "077",
        "08",
        "4294967295",
        "4294967296",
        "16777215",
        "65535",
        "65536",
        ".",
        ".",
        ".",
        ".",
        " ",
        "\t",
        "x",
        "a",
        ":",
        "::",
        "ffff",
        "db8",
        "2001",
        "-",
        "+",
        "1.2.3.4",
    ];
    let n = rng.random_range(1..=8);
    (0..n)
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

fn random_v6(rng: &mut StdRng) -> [u8; 16] {
    let mut words = [0u16; 8];
    for w in words.iter_mut() {
        *w = match rng.random_range(0..4) {
            0 | 1 => 0,
            2 => rng.random(),
            _ => [1, 0xffff, 0xfe80, 0x2001, 0xdb8][rng.random_range(0..5)],
        };
    }
    Ipv6Addr::from(words).octets()
}

#[test]
fn inet_functions_agree_with_glibc_through_python() {
    let mut rng = StdRng::seed_from_u64(0x1e7_a70);
    let mut texts: Vec<String> = (0..3000).map(|_| random_text(&mut rng)).collect();
    texts.extend(
        [
            "176.58.10.138",
            "127.1",
            "0x7f.1",
            "1.2.3.4 junk",
            "1.2.3.4\tx",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1::",
            "::",
            "1:2:3:4:5:6:7:8:9",
        ]
        .map(String::from),
    );
    let v6: Vec<[u8; 16]> = (0..1000).map(|_| random_v6(&mut rng)).collect();

    let mut child = match Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            common::skip("python3 is not installed, cannot compare with the C library");
            return;
        }
        Err(e) => panic!("cannot start python3: {e}"),
    };
    let mut input = String::new();
    for t in &texts {
        input.push_str(&format!("{}\n", json!({ "text": t })));
    }
    for p in &v6 {
        input.push_str(&format!("{}\n", json!({ "packed": hex(p) })));
    }
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).expect("write"));
    let answers: Vec<Json> = BufReader::new(child.stdout.take().expect("piped stdout"))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read")).expect("json"))
        .collect();
    writer.join().expect("writer");
    assert!(child.wait().expect("python3").success());
    assert_eq!(answers.len(), texts.len() + v6.len());

    let mut failures = Vec::new();
    let mut accepted = 0;
    for (t, py) in texts.iter().zip(&answers) {
        let mine = json!({
            "aton": inet_aton(t).ok().map(|a| hex(&a.addr.octets())),
            "pton4": inet_pton4(t).ok().map(|a| hex(&a.octets())),
            "pton6": inet_pton6(t).ok().map(|a| hex(&a.octets())),
        });
        accepted += usize::from(!py["aton"].is_null());
        if &mine != py {
            failures.push(format!("{t:?}\n   glibc: {py}\n  socklab: {mine}"));
        }
    }
    for (p, py) in v6.iter().zip(&answers[texts.len()..]) {
        let mine = json!({ "ntop6": inet_ntop6(&Ipv6Addr::from(*p)) });
        if &mine != py {
            failures.push(format!("{}\n   glibc: {py}\n  socklab: {mine}", hex(p)));
        }
    }
    assert!(
        accepted > 200,
        "enough texts are valid addresses ({accepted})"
    );
    assert!(
        failures.is_empty(),
        "{} differences, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(15)].join("\n")
    );
}
