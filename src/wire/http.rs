//! The HTTP/1.0 GET request of the course's error-handling lesson.

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
}
