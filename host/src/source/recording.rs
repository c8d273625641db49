//! The file format of `swim record` / `swim replay`: a header line, then
//! each snapshot as a frame `<length>\n<bytes>\n`, exactly as fetched.
//! Appending a frame never rewrites earlier ones, so a recording cut short
//! (Ctrl-C, a crash) keeps every complete frame.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// The first line of every recording.
pub const HEADER: &str = "vatswim-recording v1";

/// Appends snapshots to a recording.
pub struct RecordingWriter {
    out: BufWriter<File>,
}

impl RecordingWriter {
    /// Creates (or truncates) a recording.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "{HEADER}")?;
        out.flush()?;
        Ok(RecordingWriter { out })
    }

    /// Appends one snapshot and flushes it to the file.
    pub fn append(&mut self, snapshot: &[u8]) -> io::Result<()> {
        writeln!(self.out, "{}", snapshot.len())?;
        self.out.write_all(snapshot)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Reads the snapshots of a recording in order.
pub struct RecordingReader {
    input: BufReader<File>,
    frame: usize,
}

impl RecordingReader {
    /// Opens a recording and checks its header.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut input = BufReader::new(File::open(path)?);
        let mut header = String::new();
        input.read_line(&mut header)?;
        if header.trim_end() != HEADER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a swim recording (it does not start with {HEADER:?})",
                    path.display()
                ),
            ));
        }
        Ok(RecordingReader { input, frame: 0 })
    }
}

impl Iterator for RecordingReader {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        self.frame += 1;
        let frame = self.frame;
        let bad = |what: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("frame {frame}: {what}"))
        };
        let len: usize = match line.trim_end().parse() {
            Ok(n) => n,
            Err(_) => {
                return Some(Err(bad(format!(
                    "expected a length, found {:?}",
                    line.trim_end()
                ))));
            }
        };
        let mut bytes = vec![0; len + 1];
        if let Err(e) = self.input.read_exact(&mut bytes) {
            // A frame cut short by an interrupted recording ends it.
            tracing::warn!("recording ends with an incomplete frame {frame}: {e}");
            return None;
        }
        bytes.pop();
        Some(Ok(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_as_written_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.swimrec");
        let mut w = RecordingWriter::create(&path).unwrap();
        w.append(b"{\"a\":1}").unwrap();
        w.append(b"{\"b\":\n2}").unwrap();
        drop(w);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"100\n{\"torn").unwrap();
        let frames: Vec<Vec<u8>> = RecordingReader::open(&path)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(frames, vec![b"{\"a\":1}".to_vec(), b"{\"b\":\n2}".to_vec()]);
    }

    #[test]
    fn a_file_that_is_not_a_recording_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "{}\n").unwrap();
        let err = RecordingReader::open(&path).err().unwrap();
        assert!(err.to_string().contains("is not a swim recording"), "{err}");
    }
}
