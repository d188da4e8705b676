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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line() {
        assert_eq!(get_request("/").unwrap(), "GET / HTTP/1.0\r\n\r\n");
        assert!(get_request("/a b").is_err());
        assert!(get_request("x").is_err());
        assert!(get_request("/a\r\nHost: x").is_err());
    }
}
