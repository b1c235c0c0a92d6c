//! A tiny real HTTP/1.1 server on 127.0.0.1 for download tests (no internet).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

/// How the server answers a path.
#[derive(Clone, Debug)]
pub enum Reply {
    Ok(Vec<u8>),
    /// Declares the full length but sends only the first `sent` bytes, then closes.
    Truncated {
        body: Vec<u8>,
        sent: usize,
    },
    Status(u16),
}

pub struct Server {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

/// Serves `routes` (path → reply) until the test process ends.
pub fn serve(routes: Vec<(&str, Reply)>) -> Server {
    serve_with_latency(routes, std::time::Duration::ZERO)
}

/// The same, each answer held back by `latency` (a far index, for the benchmarks); each
/// connection is answered on a thread of its own, as a real server would.
pub fn serve_with_latency(routes: Vec<(&str, Reply)>, latency: std::time::Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes: Arc<Vec<(String, Reply)>> =
        Arc::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (routes, seen) = (Arc::clone(&routes), Arc::clone(&seen));
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                seen.lock().unwrap().push(path.clone());
                let reply = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, r)| r.clone())
                    .unwrap_or(Reply::Status(404));
                let (status, body, sent) = match reply {
                    Reply::Ok(body) => (200, body.clone(), body.len()),
                    Reply::Truncated { body, sent } => (200, body, sent),
                    Reply::Status(code) => (code, Vec::new(), 0),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                thread::sleep(latency);
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..sent]);
            });
        }
    });
    Server { base, requests }
}
