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
}
