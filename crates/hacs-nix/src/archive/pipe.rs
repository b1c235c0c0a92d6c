//! Inflates on a second thread while the tar parser copies contents out on the first: on two
//! cores the copy and the page faults of the stored contents hide behind the inflate.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

const CHUNK: usize = 256 << 10;
/// Chunks in flight: bounds the memory the pipe can hold to a few MiB.
const DEPTH: usize = 8;

pub(super) struct Pipe {
    /// `Ok(None)` marks the end: a channel that closes without it means the worker died.
    chunks: Receiver<io::Result<Option<Vec<u8>>>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    worker: Option<JoinHandle<()>>,
}

impl Pipe {
    /// Reads `source` to its end on a new thread.
    pub(super) fn spawn<R: Read + Send + 'static>(source: R) -> io::Result<Self> {
        let (tx, rx) = sync_channel(DEPTH);
        let worker = thread::Builder::new()
            .name("inflate".to_owned())
            .spawn(move || pump(source, &tx))?;
        Ok(Self {
            chunks: rx,
            current: Vec::new(),
            pos: 0,
            done: false,
            worker: Some(worker),
        })
    }
}

fn pump<R: Read>(mut source: R, tx: &SyncSender<io::Result<Option<Vec<u8>>>>) {
    loop {
        let mut buf = vec![0; CHUNK];
        let mut filled = 0;
        // Fill whole chunks: fewer hand-overs than one per inflate call.
        while filled < CHUNK {
            match source.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Hand over what was inflated before the error, so the parser fails at
                    // the same entry it would without the thread.
                    buf.truncate(filled);
                    if filled > 0 && tx.send(Ok(Some(buf))).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            let _ = tx.send(Ok(None));
            return;
        }
        buf.truncate(filled);
        // The reader hung up (an error upstream): stop inflating.
        if tx.send(Ok(Some(buf))).is_err() {
            return;
        }
    }
}

impl Read for Pipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(Some(chunk))) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Ok(None)) => {
                    self.done = true;
                    return Ok(0);
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(
                        "the inflate thread stopped before the end of the archive",
                    ));
                }
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Unblock the worker (its next send fails), then wait so no thread outlives the read.
        let (_, rx) = sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, rx));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dies(usize);

    impl Read for Dies {
        #[allow(clippy::panic)]
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                panic!("inflate bug");
            }
            self.0 -= 1;
            out[0] = b'x';
            Ok(1)
        }
    }

    #[test]
    fn a_dying_worker_is_an_error_not_an_end() {
        let Ok(mut pipe) = Pipe::spawn(Dies(3)) else {
            return;
        };
        let mut all = Vec::new();
        let result = pipe.read_to_end(&mut all);
        assert!(
            result.is_err(),
            "read {} bytes and then a clean end",
            all.len()
        );
        let mut whole = Pipe::spawn(&b"abc"[..]).map(|mut p| {
            let mut v = Vec::new();
            p.read_to_end(&mut v).map(|_| v)
        });
        assert!(matches!(
            whole.as_mut().map(|r| r.as_deref().ok()),
            Ok(Some(b"abc"))
        ));
    }
}
