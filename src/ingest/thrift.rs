//! A walk over a Thrift compact-protocol struct (a Parquet footer is one) that checks every
//! declared size against the bytes that are left, without building anything. polars-parquet
//! 0.55 reserves room for a list as long as its header claims before reading an element,
//! so a forged count asks for tens of gigabytes and the failed allocation aborts the
//! process (found by the `parquet` fuzz target); a footer that passes this walk cannot
//! claim more elements than it has bytes. The encoding is Thrift's compact protocol:
//! <https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md>.

/// How deep structs, lists and maps may nest: a Parquet footer needs about six levels.
const MAX_DEPTH: u32 = 64;

/// Walk the struct at the start of `bytes`; returns the bytes it takes, or what is wrong.
pub fn struct_length(bytes: &[u8]) -> Result<usize, String> {
    let mut walk = Walk { bytes, at: 0 };
    walk.skip_struct(0)?;
    Ok(walk.at)
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.at).ok_or("the footer ends inside a value")?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than ten bytes".into())
    }

    fn advance(&mut self, count: u64) -> Result<(), String> {
        if count > self.left() as u64 {
            return Err(format!("a value of {count} bytes where {} are left", self.left()));
        }
        self.at += count as usize;
        Ok(())
    }

    /// A count of elements, each of which takes at least one byte.
    fn count(&mut self, count: u64) -> Result<u64, String> {
        if count > self.left() as u64 {
            return Err(format!("a list of {count} elements where {} bytes are left", self.left()));
        }
        Ok(count)
    }

    fn skip_struct(&mut self, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested more than {MAX_DEPTH} deep"));
        }
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(());
            }
            if header >> 4 == 0 {
                self.varint()?; // the field id, in full
            }
            match header & 0x0f {
                // Booleans carry their value in the field's type.
                1 | 2 => {}
                kind => self.skip(kind, depth + 1)?,
            }
        }
    }

    fn skip(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        match kind {
            // A boolean inside a list or map takes a byte.
            1..=3 => self.advance(1),
            4..=6 => self.varint().map(drop),
            7 => self.advance(8),
            8 => {
                let length = self.varint()?;
                self.advance(length)
            }
            9 | 10 => {
                let header = self.byte()?;
                let size = match header >> 4 {
                    15 => self.varint()?,
                    short => u64::from(short),
                };
                for _ in 0..self.count(size)? {
                    self.skip(header & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..self.count(size)? {
                    self.skip(types >> 4, depth + 1)?;
                    self.skip(types & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => self.skip_struct(depth),
            other => Err(format!("an unknown value type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A struct with an i32 (field 1), a binary (2), a list of three i64 (3), a nested struct
    /// holding a boolean (4), then STOP.
    fn sample() -> Vec<u8> {
        vec![
            0x15, 0x2a, // field 1, i32, zigzag 21
            0x18, 0x03, b'a', b'b', b'c', // field 2, binary "abc"
            0x19, 0x36, 0x02, 0x04, 0x06, // field 3, list of 3 i64
            0x1c, 0x11, 0x00, // field 4, struct { field 1: true }
            0x00,
        ]
    }

    #[test]
    fn a_well_formed_struct_is_walked_to_its_end() {
        let bytes = sample();
        assert_eq!(struct_length(&bytes), Ok(bytes.len()));
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"PAR1");
        assert_eq!(struct_length(&longer), Ok(bytes.len()), "trailing bytes are not the struct's");
    }

    #[test]
    fn sizes_past_the_end_are_refused_before_anything_is_built() {
        let mut forged = sample();
        // The list's header now says 15 and a varint of 2^35 elements follows.
        forged.splice(7..9, [0x19, 0xf6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        let error = struct_length(&forged).unwrap_err();
        assert!(error.contains("a list of 34359738368 elements where"), "{error}");
        let mut long_binary = sample();
        long_binary[3] = 0x7f;
        assert!(struct_length(&long_binary).unwrap_err().contains("a value of 127 bytes"));
        assert!(
            struct_length(&sample()[..9])
                .unwrap_err()
                .contains("a list of 3 elements where 0 bytes are left")
        );
        assert!(struct_length(&sample()[..1]).unwrap_err().contains("ends inside a value"));
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).collect();
        assert!(struct_length(&deep).unwrap_err().contains("nested more than 64 deep"));
    }

    #[test]
    fn real_parquet_footers_are_walked_whole() {
        // tests/cli/collect/formats.rs writes Parquet with polars; here, a footer that
        // pyarrow wrote (fuzz/seed.py's seed of the XRP candles), committed as a fixture.
        let file = include_bytes!("../../tests/fixtures/fuzz/parquet-page-claims-exabytes.parquet");
        let length = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
        let footer = &file[file.len() - 8 - length..file.len() - 8];
        assert_eq!(struct_length(footer), Ok(length));
    }
}
