//! Golden test of the ladder diagram layout (colour off): a fixed orderly
//! close, rendered and compared byte for byte with tests/golden/lab/.
//! Regenerate after an intended change with SOCKLAB_BLESS=1.

use socklab::lab::ladder::{render, Carries, End, Step, Titles};

fn call(us: i64, end: End, text: &str, consumes: Option<Carries>) -> Step {
    Step::Call {
        t_ns: us * 1000,
        end,
        text: text.into(),
        consumes,
    }
}

fn pkt(us: i64, from: End, label: &str, note: &str, carries: Carries) -> Step {
    Step::Packet {
        t_ns: us * 1000,
        from,
        label: label.into(),
        note: note.into(),
        carries,
    }
}

#[test]
fn ladder_of_an_orderly_close() {
    use Carries::*;
    use End::*;
    let steps = vec![
        call(0, Server, "socket(AF_INET, SOCK_STREAM)", None),
        call(20, Server, "bind(127.0.0.1:10009)", None),
        call(30, Server, "listen(8)", None),
        call(90, Client, "socket(AF_INET, SOCK_STREAM)", None),
        call(95, Client, "connect(127.0.0.1:10009)", None),
        pkt(140, Client, "[S] seq 0", "handshake 1/3", Nothing),
        pkt(160, Server, "[S.] seq 0 ack 1", "handshake 2/3", Nothing),
        pkt(
            170,
            Client,
            "[.] ack 1",
            "handshake 3/3 (30 µs)",
            Connection,
        ),
        call(200, Server, "accept() -> 127.0.0.1:40312", Some(Connection)),
        call(210, Client, "send(4 bytes)", None),
        pkt(220, Client, "[P.] seq 1:5 ack 1 len 4", "", Data),
        pkt(230, Server, "[.] ack 5", "", Nothing),
        call(300, Server, "recv() -> 4 bytes", Some(Data)),
        call(50_300, Client, "close()", None),
        pkt(
            50_310,
            Client,
            "[F.] seq 5 ack 1",
            "the client closes first",
            Fin,
        ),
        call(50_400, Server, "recv() -> 0 bytes", Some(Fin)),
        pkt(93_000, Server, "[.] ack 6", "", Nothing),
        call(250_000, Server, "close()", None),
        pkt(250_010, Server, "[F.] seq 1 ack 6", "second FIN", Fin),
        pkt(
            250_030,
            Client,
            "[.] ack 2",
            "the client is now in TIME_WAIT",
            Nothing,
        ),
    ];
    let titles = Titles {
        client: "client".into(),
        server: "server 127.0.0.1:10009".into(),
    };
    let got = render(&titles, &steps);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/lab/ladder_close.txt"
    );
    if std::env::var_os("SOCKLAB_BLESS").is_some() {
        std::fs::write(path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(path).expect("golden file (run with SOCKLAB_BLESS=1 once)");
    assert_eq!(got, want, "ladder layout changed:\n{got}");
    assert!(!got.contains('\x1b'), "no colour codes");
}
