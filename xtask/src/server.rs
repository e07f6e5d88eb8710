//! A small static file server for www/: GET and HEAD only, one thread per connection, one
//! request per connection. It sends the same security headers a production host must send
//! (see README.md), so the browser tests run under the real CSP and cross-origin isolation.
//! It never serves anything outside its root: `..` segments are refused after percent-decoding
//! and the resolved path must stay under the canonical root (which also stops symlinks out).

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'self'";

const SECURITY_HEADERS: [(&str, &str); 8] = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    (
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("Cache-Control", "no-cache"),
];

/// Code a portal on another origin loads to embed `<lucent-viewer>` (ES modules, the wasm, the element's
/// stylesheet): readable cross-origin (CORS `*` and CORP cross-origin). They hold no data. Everything
/// else (pages, studies, share bundles) stays same-origin.
const EMBEDDABLE: [&str; 4] = ["js", "mjs", "wasm", "css"];

/// Request heads larger than this are refused (431): nothing we serve needs more.
const MAX_HEAD: usize = 16 * 1024;

pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("dcm") => "application/dicom",
        _ => "application/octet-stream",
    }
}

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://HOST:PORT/` (with 127.0.0.1 for a wildcard bind).
    pub fn url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            self.addr.ip().to_string()
        };
        format!("http://{host}:{}/", self.port())
    }

    /// Blocks for as long as the server runs (for `cargo xtask serve`).
    pub fn wait(mut self) {
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(thread) = self.accept_thread.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        // accept() has no timeout: a throwaway connection wakes it to see the flag.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip([127, 0, 0, 1].into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = thread.join();
    }
}

/// How the server runs beyond its root and address.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Print one line per request.
    pub log: bool,
    /// Origins (`https://portal.example`) allowed to frame `embed.html` and drive it by
    /// postMessage: they go into its `frame-ancestors` and replace `embed-config.json`'s
    /// allow-list. Empty: the files in `www/` as they are (same origin only).
    pub embed_origins: Vec<String>,
    /// Origins the pages may fetch from besides their own (a PACS's DICOMweb root, an object
    /// store with share bundles): added to every page's `connect-src`.
    pub connect_origins: Vec<String>,
}

/// Serves `root` on `addr` (`127.0.0.1:0` picks a free port: read it from `Server::port`).
pub fn serve(root: &Path, addr: &str, options: Options) -> io::Result<Server> {
    for origin in options.embed_origins.iter().chain(&options.connect_origins) {
        if !valid_origin(origin) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{origin:?} is not an origin (scheme://host[:port], nothing after)"),
            ));
        }
    }
    let options = Arc::new(options);
    let root = Arc::new(root.canonicalize()?);
    if !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a directory", root.display()),
        ));
    }
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let stop_flag = Arc::clone(&stopping);
    let accept_thread = std::thread::Builder::new()
        .name("xtask-serve".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = Arc::clone(&root);
                let options = Arc::clone(&options);
                let _ = std::thread::Builder::new()
                    .name("xtask-serve-conn".into())
                    .spawn(move || handle_connection(stream, &root, &options));
            }
        })?;
    Ok(Server {
        addr,
        stopping,
        accept_thread: Some(accept_thread),
    })
}

/// `scheme://host[:port]` with nothing after: what a browser sends as an Origin.
fn valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

fn handle_connection(mut stream: TcpStream, root: &Path, options: &Options) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(60)));
    let (method, target, response) = match read_head(&mut stream) {
        Ok((method, target)) => {
            let response = respond(&method, &target, root, options);
            (method, target, response)
        }
        Err(status) => (String::new(), String::new(), Response::error(status)),
    };
    if options.log {
        eprintln!("{method} {target} -> {}", response.status);
    }
    let _ = response.send(&mut stream, method == "HEAD");
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads the request line and headers; returns (method, request-target).
fn read_head(stream: &mut TcpStream) -> Result<(String, String), u16> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(431);
        }
        let n = stream.read(&mut chunk).map_err(|_| 408u16)?;
        if n == 0 {
            return Err(400);
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let request_line = std::str::from_utf8(request_line).map_err(|_| 400u16)?;
    let mut parts = request_line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None) if version.starts_with("HTTP/1.") => {
            Ok((method.to_string(), target.to_string()))
        }
        _ => Err(400),
    }
}

enum Body {
    Empty,
    Text(&'static str),
    Owned(String),
    File(std::fs::File, u64),
}

struct Response {
    status: u16,
    content_type: &'static str,
    location: Option<String>,
    /// Replace or add to `SECURITY_HEADERS` for this response.
    headers: Vec<(&'static str, String)>,
    body: Body,
}

impl Response {
    fn error(status: u16) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            location: None,
            headers: Vec::new(),
            body: Body::Text(reason(status)),
        }
    }

    fn send(self, stream: &mut TcpStream, head_only: bool) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(64 * 1024, stream);
        let length = match &self.body {
            Body::Empty => 0,
            Body::Text(text) => text.len() as u64,
            Body::Owned(text) => text.len() as u64,
            Body::File(_, len) => *len,
        };
        write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status))?;
        write!(out, "Content-Type: {}\r\n", self.content_type)?;
        write!(out, "Content-Length: {length}\r\n")?;
        for (name, value) in SECURITY_HEADERS {
            match self.headers.iter().find(|(n, _)| *n == name) {
                Some((_, own)) => write!(out, "{name}: {own}\r\n")?,
                None => write!(out, "{name}: {value}\r\n")?,
            }
        }
        for (name, value) in &self.headers {
            if !SECURITY_HEADERS.iter().any(|(n, _)| n == name) {
                write!(out, "{name}: {value}\r\n")?;
            }
        }
        if let Some(location) = &self.location {
            write!(out, "Location: {location}\r\n")?;
        }
        if self.status == 405 {
            write!(out, "Allow: GET, HEAD\r\n")?;
        }
        write!(out, "Connection: close\r\n\r\n")?;
        if !head_only {
            match self.body {
                Body::Empty => {}
                Body::Text(text) => out.write_all(text.as_bytes())?,
                Body::Owned(text) => out.write_all(text.as_bytes())?,
                Body::File(mut file, _) => {
                    io::copy(&mut file, &mut out)?;
                }
            }
        }
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// Headers that differ from `SECURITY_HEADERS` for the file at `relative` (a path under the root).
fn headers_for(relative: &Path, options: &Options) -> Vec<(&'static str, String)> {
    let ext = relative
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let mut headers = Vec::new();
    if ext.as_deref().is_some_and(|e| EMBEDDABLE.contains(&e)) {
        headers.push(("Cross-Origin-Resource-Policy", "cross-origin".into()));
        headers.push(("Access-Control-Allow-Origin", "*".into()));
    }
    // Share bundles: never stored by the browser (a patient's study, even encrypted, stays off the disk
    // cache), and Chromium then streams the body to the page without its ~50 MB read-ahead buffer
    // (measured by `cargo xtask bench share`: open peak plaintext + ~18 chunks instead of + ~90).
    if ext.as_deref() == Some("lucent") {
        headers.push(("Cache-Control", "no-store".into()));
    }
    // Every response carries it: a worker runs under its own script's CSP, not the page's.
    let mut csp = CONTENT_SECURITY_POLICY.to_string();
    if !options.connect_origins.is_empty() {
        let connect = format!("connect-src 'self' {}", options.connect_origins.join(" "));
        csp = csp.replace("connect-src 'self'", &connect);
    }
    if relative == Path::new("embed.html") {
        let mut ancestors = String::from("'self'");
        for origin in &options.embed_origins {
            ancestors.push(' ');
            ancestors.push_str(origin);
        }
        csp = csp.replace(
            "frame-ancestors 'self'",
            &format!("frame-ancestors {ancestors}"),
        );
    }
    if csp != CONTENT_SECURITY_POLICY {
        headers.push(("Content-Security-Policy", csp));
    }
    headers
}

fn respond(method: &str, target: &str, root: &Path, options: &Options) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::error(405);
    }
    let (path_part, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let path_part = path_part.split('#').next().unwrap_or_default();
    let relative = match decode_path(path_part) {
        Ok(relative) => relative,
        Err(status) => return Response::error(status),
    };
    let mut path = root.join(&relative);
    if path.is_dir() {
        // Directory URLs end in '/' so that relative links inside index.html resolve.
        if !path_part.ends_with('/') {
            let mut location = format!("{path_part}/");
            if let Some(query) = query {
                location.push('?');
                location.push_str(query);
            }
            return Response {
                status: 301,
                content_type: "text/plain; charset=utf-8",
                location: Some(location),
                headers: Vec::new(),
                body: Body::Empty,
            };
        }
        path.push("index.html");
    }
    if relative == Path::new("embed-config.json") && !options.embed_origins.is_empty() {
        let list: Vec<String> = options
            .embed_origins
            .iter()
            .map(|o| format!("\"{o}\""))
            .collect();
        return Response {
            status: 200,
            content_type: "application/json",
            location: None,
            headers: Vec::new(),
            body: Body::Owned(format!("{{ \"allowedOrigins\": [{}] }}\n", list.join(", "))),
        };
    }
    // Canonicalize last: symlinks may point anywhere, the answer must still be under root.
    let Ok(resolved) = path.canonicalize() else {
        return Response::error(404);
    };
    if !resolved.starts_with(root) || !resolved.is_file() {
        return Response::error(404);
    }
    match std::fs::File::open(&resolved).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    }) {
        Ok((file, len)) => Response {
            status: 200,
            content_type: content_type(&resolved),
            location: None,
            headers: headers_for(&relative, options),
            body: Body::File(file, len),
        },
        Err(_) => Response::error(404),
    }
}

/// `/a%20b/c.js` -> `a b/c.js`. Refuses (400/403) anything that could name a path outside
/// the root once decoded: `..` segments, backslashes, NUL, invalid escapes or UTF-8.
fn decode_path(path: &str) -> Result<PathBuf, u16> {
    let Some(path) = path.strip_prefix('/') else {
        return Err(400);
    };
    let bytes = percent_decode(path).ok_or(400u16)?;
    let text = String::from_utf8(bytes).map_err(|_| 400u16)?;
    if text.contains(['\0', '\\']) {
        return Err(400);
    }
    let mut relative = PathBuf::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(403),
            _ => relative.push(segment),
        }
    }
    Ok(relative)
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Reply {
        status: u16,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    fn request(port: u16, raw: &str) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_ascii_lowercase(), v.to_string())
            })
            .collect();
        Reply {
            status: status.parse().unwrap(),
            headers,
            body: bytes[split + 4..].to_vec(),
        }
    }

    fn get(port: u16, target: &str) -> Reply {
        request(port, &format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"))
    }

    /// tmp/www (served) beside tmp/secret.txt (must never be served).
    fn fixture(name: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("xtask-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let www = base.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::create_dir_all(www.join("empty")).unwrap();
        std::fs::write(base.join("secret.txt"), "secret").unwrap();
        std::fs::write(www.join("index.html"), "<!doctype html>root").unwrap();
        std::fs::write(www.join("app.js"), "export {}").unwrap();
        std::fs::write(www.join("m.wasm"), [0u8, 97, 115, 109]).unwrap();
        std::fs::write(www.join("a.dcm"), "DICM").unwrap();
        std::fs::write(www.join("blob.xyz"), "?").unwrap();
        std::fs::write(www.join("s.lucent"), "LUCENT").unwrap();
        std::fs::write(www.join("a b.json"), "{}").unwrap();
        std::fs::write(www.join("sub/index.html"), "sub").unwrap();
        www
    }

    #[test]
    fn serves_files_with_mime_types_and_security_headers() {
        let www = fixture("mime");
        let server = serve(&www, "127.0.0.1:0", Options::default()).unwrap();
        let port = server.port();
        for (target, mime, body) in [
            ("/", "text/html; charset=utf-8", &b"<!doctype html>root"[..]),
            (
                "/index.html?nodemo",
                "text/html; charset=utf-8",
                b"<!doctype html>root",
            ),
            ("/app.js", "text/javascript; charset=utf-8", b"export {}"),
            ("/m.wasm", "application/wasm", b"\0asm"),
            ("/a.dcm", "application/dicom", b"DICM"),
            ("/blob.xyz", "application/octet-stream", b"?"),
            ("/a%20b.json", "application/json", b"{}"),
            ("/sub/", "text/html; charset=utf-8", b"sub"),
        ] {
            let reply = get(port, target);
            assert_eq!(reply.status, 200, "{target}");
            assert_eq!(reply.headers["content-type"], mime, "{target}");
            assert_eq!(reply.body, body, "{target}");
            assert_eq!(reply.headers["content-length"], body.len().to_string());
        }
        assert_eq!(get(port, "/blob.xyz").headers["cache-control"], "no-cache");
        assert_eq!(get(port, "/s.lucent").headers["cache-control"], "no-store");
        let reply = get(port, "/index.html");
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(reply.headers[&name.to_ascii_lowercase()], value, "{name}");
        }
        assert!(reply.headers["content-security-policy"].contains("'wasm-unsafe-eval'"));
        assert!(!reply.headers.contains_key("access-control-allow-origin"));
        // Code a portal embeds is readable cross-origin; data and pages are not.
        for target in ["/app.js", "/m.wasm"] {
            let reply = get(port, target);
            assert_eq!(
                reply.headers["access-control-allow-origin"], "*",
                "{target}"
            );
            assert_eq!(
                reply.headers["cross-origin-resource-policy"], "cross-origin",
                "{target}"
            );
            assert_eq!(
                reply.headers["content-security-policy"],
                CONTENT_SECURITY_POLICY
            );
        }
        for target in ["/a.dcm", "/a%20b.json", "/"] {
            let reply = get(port, target);
            assert!(
                !reply.headers.contains_key("access-control-allow-origin"),
                "{target}"
            );
            assert_eq!(
                reply.headers["cross-origin-resource-policy"], "same-origin",
                "{target}"
            );
        }
    }

    #[test]
    fn embed_origins_may_frame_embed_html_and_replace_its_allow_list() {
        let www = fixture("embed");
        std::fs::write(www.join("embed.html"), "<!doctype html>embed").unwrap();
        std::fs::write(www.join("embed-config.json"), r#"{ "allowedOrigins": [] }"#).unwrap();
        let plain = serve(&www, "127.0.0.1:0", Options::default()).unwrap();
        let reply = get(plain.port(), "/embed.html");
        assert!(reply.headers["content-security-policy"].ends_with("frame-ancestors 'self'"));
        assert_eq!(
            get(plain.port(), "/embed-config.json").body,
            br#"{ "allowedOrigins": [] }"#
        );

        let options = Options {
            log: false,
            embed_origins: vec![
                "http://127.0.0.1:9999".into(),
                "https://portal.example".into(),
            ],
            connect_origins: vec!["https://pacs.example:8443".into()],
        };
        let server = serve(&www, "127.0.0.1:0", options).unwrap();
        let reply = get(server.port(), "/embed.html");
        let csp = &reply.headers["content-security-policy"];
        assert!(
            csp.ends_with("frame-ancestors 'self' http://127.0.0.1:9999 https://portal.example"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' https://pacs.example:8443;"),
            "{csp}"
        );
        // Other pages may not be framed by others, and may fetch from the same origins.
        let index = get(server.port(), "/index.html");
        let csp = &index.headers["content-security-policy"];
        assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' https://pacs.example:8443;"),
            "{csp}"
        );
        let worker = get(server.port(), "/app.js");
        let csp = &worker.headers["content-security-policy"];
        assert!(
            csp.contains("connect-src 'self' https://pacs.example:8443;"),
            "{csp}"
        );
        assert_eq!(worker.headers["access-control-allow-origin"], "*");
        let config = get(server.port(), "/embed-config.json");
        assert_eq!(config.headers["content-type"], "application/json");
        assert_eq!(
            String::from_utf8(config.body).unwrap().trim(),
            r#"{ "allowedOrigins": ["http://127.0.0.1:9999", "https://portal.example"] }"#
        );

        let bad = Options {
            log: false,
            embed_origins: vec!["https://portal.example/path".into()],
            connect_origins: Vec::new(),
        };
        assert!(serve(&www, "127.0.0.1:0", bad).is_err());
    }

    #[test]
    fn refuses_traversal_in_every_spelling() {
        let www = fixture("traversal");
        let server = serve(&www, "127.0.0.1:0", Options::default()).unwrap();
        for target in [
            "/../secret.txt",
            "/sub/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/sub/..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
            "/%00",
            "/%zz",
            "secret.txt",
        ] {
            let reply = get(server.port(), target);
            assert!(
                matches!(reply.status, 400 | 403 | 404),
                "{target} -> {}",
                reply.status
            );
            assert_ne!(reply.body, b"secret", "{target}");
            // Errors carry the security headers too.
            assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        }
    }

    #[test]
    fn methods_redirects_and_missing_files() {
        let www = fixture("methods");
        let server = serve(&www, "127.0.0.1:0", Options::default()).unwrap();
        let port = server.port();

        let head = request(port, "HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["content-length"], "9");
        assert!(head.body.is_empty());

        let post = request(port, "POST /app.js HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(post.status, 405);
        assert_eq!(post.headers["allow"], "GET, HEAD");

        let redirect = get(port, "/sub?x=1");
        assert_eq!(redirect.status, 301);
        assert_eq!(redirect.headers["location"], "/sub/?x=1");

        assert_eq!(get(port, "/missing.js").status, 404);
        assert_eq!(get(port, "/empty/").status, 404);
        assert_eq!(request(port, "garbage\r\n\r\n").status, 400);
    }

    #[test]
    fn stops_when_dropped() {
        let www = fixture("stop");
        let server = serve(&www, "127.0.0.1:0", Options::default()).unwrap();
        let port = server.port();
        assert_eq!(get(port, "/").status, 200);
        drop(server);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
