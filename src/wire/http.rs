//! The HTTP/1.0 GET request of the course's error-handling lesson, and
//! the head of an HTTP/1.x request or response seen on the wire.

/// Why a path cannot go in a request line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path {0:?} must start with '/' and contain no spaces or line breaks")]
pub struct PathError(pub String);

/// `GET <path> HTTP/1.0\r\n\r\n`.
pub fn get_request(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PathError(path.to_string()));
    }
    Ok(format!("GET {path} HTTP/1.0\r\n\r\n"))
}

/// Where a GET goes: host, port or service name, path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port number or service name.
    pub service: String,
    /// The path, starting with '/'.
    pub path: String,
}

/// Split `http://HOST[:PORT][/PATH]` into a [`Target`] (port 80 by
/// default); `None` when `s` is not a URL. Only plain `http` is spoken.
pub fn parse_url(s: &str) -> Option<Result<Target, String>> {
    let (scheme, rest) = s.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") {
        return Some(Err(format!(
            "'{s}': socklab get speaks plain HTTP/1.0 (http://), not {scheme}://{}",
            if scheme.eq_ignore_ascii_case("https") {
                "; https needs TLS, which the lesson does not cover"
            } else {
                ""
            }
        )));
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('/') => p.to_string(),
        p => format!("/{p}"),
    };
    let (host, service) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, tail) = v6.split_once(']')?;
        (h, tail.strip_prefix(':').unwrap_or("http"))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (authority, "http"),
        }
    };
    if host.is_empty() {
        return Some(Err(format!("'{s}': the URL names no host")));
    }
    Some(Ok(Target {
        host: host.to_string(),
        service: if service.is_empty() { "http" } else { service }.to_string(),
        path,
    }))
}

/// Longest header block looked at (bytes up to the blank line).
const MAX_HEAD: usize = 16 * 1024;

/// The start of an HTTP/1.x message at the start of a TCP payload: the
/// request or status line, the headers, and what the payload holds of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// `GET /README.md HTTP/1.0` or `HTTP/1.0 200 OK`.
    pub start: &'a str,
    /// True for a response (status line).
    pub response: bool,
    /// Header lines seen.
    pub headers: usize,
    /// The Content-Length header, if any.
    pub content_length: Option<u64>,
    /// True when the blank line ending the headers is in this payload.
    pub complete: bool,
    /// Body bytes after the headers in this payload.
    pub body: usize,
}

/// Parse the head of an HTTP/1.x request or response; `None` when the
/// payload does not start like one.
pub fn parse_head(b: &[u8]) -> Option<Head<'_>> {
    let window = &b[..b.len().min(MAX_HEAD)];
    let line_end = window.windows(2).position(|w| w == b"\r\n")?;
    let start = std::str::from_utf8(&window[..line_end]).ok()?;
    let response = start.starts_with("HTTP/1.") && start.len() >= 12;
    let request = !response
        && (start.ends_with(" HTTP/1.0") || start.ends_with(" HTTP/1.1"))
        && start.split(' ').count() == 3
        && start
            .split(' ')
            .next()
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|c| c.is_ascii_uppercase()));
    if !response && !request {
        return None;
    }
    if response && !start.as_bytes()[9..12].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut headers = 0;
    let mut content_length = None;
    let mut pos = line_end + 2;
    let mut complete = false;
    while let Some(n) = window[pos..].windows(2).position(|w| w == b"\r\n") {
        let line = &window[pos..pos + n];
        pos += n + 2;
        if line.is_empty() {
            complete = true;
            break;
        }
        headers += 1;
        if let Some((name, value)) = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_once(':'))
        {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().ok();
            }
        }
    }
    Some(Head {
        start,
        response,
        headers,
        content_length,
        complete,
        body: if complete { b.len() - pos } else { 0 },
    })
}

impl std::fmt::Display for Head<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "http {}: {} ({} header{}",
            if self.response { "response" } else { "request" },
            self.start,
            self.headers,
            if self.headers == 1 { "" } else { "s" }
        )?;
        if !self.complete {
            f.write_str(", the blank line ending them comes later")?;
        }
        f.write_str(")")?;
        match self.content_length {
            Some(n) => write!(f, "; Content-Length {n}, {} body bytes here", self.body)?,
            None if self.body > 0 => write!(
                f,
                "; no Content-Length: the body ends when the server closes; {} body bytes here",
                self.body
            )?,
            None => {}
        }
        Ok(())
    }
}

/// The body of one HTTP message as it came so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    /// Body bytes in this piece of the stream.
    pub here: u64,
    /// Body bytes so far, this piece included.
    pub seen: u64,
    /// What the Content-Length header announced, if there was one.
    pub content_length: Option<u64>,
}

/// What a piece of one direction of an HTTP/1.x conversation completed,
/// as [`HttpReader`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A head is complete: its summary (the [`Head`] line) and how many
    /// pieces it came in.
    Head {
        /// `http response: HTTP/1.0 200 OK (5 headers); Content-Length 237, ...`.
        text: String,
        /// Pieces (segments) the head came in.
        pieces: u32,
    },
    /// Body bytes in this piece.
    Body(Body),
    /// The sender closed (FIN) during or after a body.
    End(Body),
    /// The bytes do not start like HTTP (or the head is longer than
    /// [`MAX_HEAD`]): the reader stops looking.
    NotHttp,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Head { text, pieces: 1 } => f.write_str(text),
            Note::Head { text, pieces } => write!(
                f,
                "{text} [head complete, it came in {}]",
                crate::plural::count(u64::from(*pieces), "segment")
            ),
            Note::Body(b) => {
                write!(
                    f,
                    "http body: {} here, {} so far",
                    crate::plural::count(b.here, "byte"),
                    b.seen
                )?;
                match b.content_length {
                    Some(n) if b.seen == n => write!(f, " of {n} (Content-Length): complete"),
                    Some(n) if b.seen < n => write!(f, " of {n} (Content-Length)"),
                    Some(n) => write!(
                        f,
                        "; {} beyond Content-Length {n}",
                        crate::plural::count(b.seen - n, "byte")
                    ),
                    None => f.write_str(" (no Content-Length: the body ends when the sender closes)"),
                }
            }
            Note::End(b) => match b.content_length {
                Some(n) if b.seen < n => write!(
                    f,
                    "http body cut short: the sender closed (FIN) after {} of the {n} Content-Length announced",
                    b.seen
                ),
                Some(n) => write!(
                    f,
                    "end of stream (FIN): the body was complete ({}, as Content-Length said)",
                    crate::plural::count(n, "byte")
                ),
                None => write!(
                    f,
                    "end of stream (FIN): the body is the {} that came (no Content-Length: closing ends it)",
                    crate::plural::count(b.seen, "byte")
                ),
            },
            Note::NotHttp => f.write_str("not HTTP: no request or status line, or a head longer than 16 KiB"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a head (buffered until its blank line).
    Head { pieces: u32 },
    /// Reading a body.
    Body(Body),
    /// Not HTTP: nothing more is said.
    Off,
}

/// One direction of an HTTP/1.x conversation, fed its payload in stream
/// order: assembles a head that comes in pieces and counts the body
/// against Content-Length, across segments and after a half-close (a
/// response flowing after the client's FIN is read like any other).
/// Memory: at most [`MAX_HEAD`] bytes of head are buffered; bodies are
/// counted, not kept.
#[derive(Debug, Clone)]
pub struct HttpReader {
    head: Vec<u8>,
    state: State,
}

impl Default for HttpReader {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpReader {
    /// A reader expecting a head.
    pub fn new() -> Self {
        HttpReader {
            head: Vec::new(),
            state: State::Head { pieces: 0 },
        }
    }

    /// Feed the next piece; what it completed goes to `out`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Note>) {
        let mut body_here: Option<Body> = None;
        while !data.is_empty() {
            match self.state {
                State::Off => return,
                State::Head { pieces } => {
                    let pieces = pieces + 1;
                    let old = self.head.len();
                    // Look for the blank line from just before the new bytes.
                    let from = old.saturating_sub(3);
                    let room = MAX_HEAD.saturating_sub(old);
                    let take = data.len().min(room);
                    self.head.extend_from_slice(&data[..take]);
                    match self.head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(i) => {
                            let end = from + i + 4;
                            let Some(h) = parse_head(&self.head[..end]) else {
                                self.off(out);
                                return;
                            };
                            out.push(Note::Head {
                                text: Head { body: 0, ..h }.to_string(),
                                pieces,
                            });
                            // A request without Content-Length has no body.
                            let content_length = match h.content_length {
                                None if !h.response => Some(0),
                                n => n,
                            };
                            let used = end - old;
                            data = &data[used..];
                            self.head.clear();
                            self.state = if content_length == Some(0) {
                                State::Head { pieces: 0 }
                            } else {
                                State::Body(Body {
                                    here: 0,
                                    seen: 0,
                                    content_length,
                                })
                            };
                        }
                        None => {
                            let first_line_bad = self.head.windows(2).any(|w| w == b"\r\n")
                                && parse_head(&self.head).is_none();
                            if first_line_bad || take < data.len() {
                                self.off(out);
                                return;
                            }
                            self.state = State::Head { pieces };
                            data = &[];
                        }
                    }
                }
                State::Body(mut b) => {
                    // Never 0: a body complete by Content-Length left this state.
                    let want = b.content_length.map_or(u64::MAX, |n| n - b.seen);
                    let n = (data.len() as u64).min(want);
                    b.seen += n;
                    let here = body_here.map_or(0, |x| x.here) + n;
                    body_here = Some(Body { here, ..b });
                    data = &data[n as usize..];
                    if b.content_length.is_some_and(|len| b.seen >= len) {
                        if let Some(x) = body_here.take() {
                            out.push(Note::Body(x));
                        }
                        self.state = State::Head { pieces: 0 };
                    } else {
                        self.state = State::Body(b);
                    }
                }
            }
        }
        if let Some(x) = body_here {
            out.push(Note::Body(x));
        }
    }

    /// The sender closed (FIN): how the body it was sending ended.
    pub fn end(&mut self, out: &mut Vec<Note>) {
        if let State::Body(b) = self.state {
            out.push(Note::End(Body { here: 0, ..b }));
        }
        self.state = State::Off;
    }

    fn off(&mut self, out: &mut Vec<Note>) {
        self.state = State::Off;
        self.head = Vec::new();
        out.push(Note::NotHttp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let t = |s| parse_url(s).unwrap().unwrap();
        assert_eq!(
            t("http://127.0.0.1:21080/"),
            Target {
                host: "127.0.0.1".into(),
                service: "21080".into(),
                path: "/".into()
            }
        );
        assert_eq!(t("http://example.org").service, "http");
        assert_eq!(t("http://example.org").path, "/");
        assert_eq!(t("HTTP://[::1]:8080/a?b").host, "::1");
        assert_eq!(t("http://[::1]:8080/a?b").path, "/a?b");
        assert_eq!(t("http://[::1]/x").service, "http");
        assert!(parse_url("example.org").is_none());
        assert!(parse_url("https://example.org/")
            .unwrap()
            .unwrap_err()
            .contains("TLS"));
        assert!(parse_url("http:///x").unwrap().is_err());
    }

    #[test]
    fn request_line() {
        assert_eq!(get_request("/").unwrap(), "GET / HTTP/1.0\r\n\r\n");
        assert!(get_request("/a b").is_err());
        assert!(get_request("x").is_err());
        assert!(get_request("/a\r\nHost: x").is_err());
    }

    #[test]
    fn heads_of_requests_and_responses() {
        let h = parse_head(b"GET /README.md HTTP/1.0\r\n\r\n").expect("request");
        assert_eq!(
            (h.response, h.headers, h.complete, h.body),
            (false, 0, true, 0)
        );
        assert_eq!(
            h.to_string(),
            "http request: GET /README.md HTTP/1.0 (0 headers)"
        );
        let r = b"HTTP/1.0 200 OK\r\nServer: x\r\nContent-Length: 10\r\n\r\nhello";
        let h = parse_head(r).expect("response");
        assert_eq!(
            (h.response, h.headers, h.content_length, h.body),
            (true, 2, Some(10), 5)
        );
        assert_eq!(
            h.to_string(),
            "http response: HTTP/1.0 200 OK (2 headers); Content-Length 10, 5 body bytes here"
        );
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\nA: b\r\n").expect("cut");
        assert!(!h.complete);
        assert!(h
            .to_string()
            .contains("the blank line ending them comes later"));
        for not in [
            &b"hello\r\n"[..],
            b"GET /\r\n",
            b"get / HTTP/1.0\r\n",
            b"HTTP/1.0 abc\r\n",
            b"",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_head(not), None, "{not:?}");
        }
    }

    fn fed(pieces: &[&[u8]], fin: bool) -> Vec<String> {
        let mut r = HttpReader::new();
        let mut out = Vec::new();
        for p in pieces {
            r.feed(p, &mut out);
        }
        if fin {
            r.end(&mut out);
        }
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_body_is_counted_across_segments_against_content_length() {
        let notes = fed(
            &[
                b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhel",
                b"lo, ",
                b"you!",
            ],
            true,
        );
        assert_eq!(
            notes,
            [
                "http response: HTTP/1.0 200 OK (1 header); Content-Length 10, 0 body bytes here",
                "http body: 3 bytes here, 3 so far of 10 (Content-Length)",
                "http body: 4 bytes here, 7 so far of 10 (Content-Length)",
                "http body: 3 bytes here, 10 so far of 10 (Content-Length): complete",
            ]
        );
    }

    #[test]
    fn a_head_in_pieces_and_a_body_cut_short_by_fin() {
        let notes = fed(
            &[b"HTTP/1.0 200 OK\r\nContent-Le", b"ngth: 8\r\n", b"\r\nabc"],
            true,
        );
        assert_eq!(
            notes,
            [
                "http response: HTTP/1.0 200 OK (1 header); Content-Length 8, 0 body bytes here [head complete, it came in 3 segments]",
                "http body: 3 bytes here, 3 so far of 8 (Content-Length)",
                "http body cut short: the sender closed (FIN) after 3 of the 8 Content-Length announced",
            ]
        );
    }

    #[test]
    fn without_content_length_the_body_ends_at_fin() {
        let notes = fed(&[b"HTTP/1.0 200 OK\r\n\r\n", b"abcd", b"ef"], true);
        assert_eq!(
            notes.last().map(String::as_str),
            Some("end of stream (FIN): the body is the 6 bytes that came (no Content-Length: closing ends it)")
        );
        assert_eq!(
            notes[2],
            "http body: 2 bytes here, 6 so far (no Content-Length: the body ends when the sender closes)"
        );
    }

    #[test]
    fn a_request_has_no_body_and_the_next_message_follows() {
        assert_eq!(
            fed(&[b"GET / HTTP/1.0\r\n\r\n"], true),
            ["http request: GET / HTTP/1.0 (0 headers)"]
        );
        // Two responses back to back: the second head starts after the first body.
        let notes = fed(
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"],
            true,
        );
        assert_eq!(
            notes,
            [
                "http response: HTTP/1.1 200 OK (1 header); Content-Length 2, 0 body bytes here",
                "http body: 2 bytes here, 2 so far of 2 (Content-Length): complete",
                "http response: HTTP/1.1 204 No Content (1 header); Content-Length 0, 0 body bytes here",
            ]
        );
    }

    #[test]
    fn not_http_is_said_once_and_then_nothing() {
        assert_eq!(
            fed(&[b"hello\r\nworld\r\n\r\n", b"more"], true),
            ["not HTTP: no request or status line, or a head longer than 16 KiB"]
        );
        let big = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(fed(&[b"GET / HTTP/1.0\r\nX: ", &big], false).len(), 1);
    }
}
