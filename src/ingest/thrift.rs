//! A walk over a Parquet footer (a `FileMetaData` in Thrift's compact protocol) that reads
//! it the way polars-parquet 0.55 does and checks every size it declares against the bytes
//! that are left, without building anything.
//!
//! polars reserves room for a list as long as its header claims before it reads an
//! element, so a forged count asks for tens of gigabytes and the failed allocation aborts
//! the process (found by the `parquet` fuzz target). Its decoder (ported from arrow-rs)
//! reads a field it knows by the field's id, whatever type the field's header declares:
//! a `row_groups` field declared as an i32 is still read as a list. So this walk follows
//! the same table of ids polars reads (`polars-parquet/src/parquet/handwritten_thrift/
//! file_metadata_thrift.rs`) and skips any other field by its declared type, as polars
//! does; a footer that passes cannot claim more list elements than it has bytes.
//!
//! It also bounds how deeply the schema nests (its `num_children` counts): polars builds
//! the schema tree by recursion and gives every leaf the path from the root, so a schema
//! nested a hundred thousand deep overflows the stack, and a deep one with many leaves
//! asks for their product in memory.
//!
//! The encoding: <https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md>.
//! The structs: <https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift>.

/// How deep structs and lists may nest: a Parquet footer needs about six levels.
const MAX_DEPTH: u32 = 64;

/// How deep a schema's groups may nest. A list of structs takes three levels; candle and
/// trade files are flat.
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// How polars reads a field it knows by id.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// A varint, read as an integer or skipped as one.
    Int,
    /// One byte (`IntType.bit_width`).
    Byte,
    /// A varint length, then that many bytes.
    Binary,
    /// `Statistics.max_value` and `min_value`: polars keeps the length as a u32.
    Binary32,
    /// A boolean field: its value is the type in the field's header, and polars panics if
    /// the header declares anything else.
    Bool,
    /// polars reserves the count, then reads each element as the given value, whatever
    /// element type the list's header declares.
    List(&'static Value),
    /// `FileMetaData.schema`: a list of `SchemaElement`s whose `num_children` are kept.
    Schema,
    /// `SchemaElement.num_children`.
    Children,
    /// Fields read by id; any other field is skipped by the type its header declares.
    Struct(&'static [(i16, Value)]),
}

use Value::{Binary, Binary32, Bool, Byte, Children, Int, List, Schema, Struct};

/// A union's variant that holds nothing; polars skips whatever fields it has.
const EMPTY: Value = Struct(&[]);
const TIME_UNIT: Value = Struct(&[(1, EMPTY), (2, EMPTY), (3, EMPTY)]);
const TIME: Value = Struct(&[(1, Bool), (2, TIME_UNIT)]);
const LOGICAL_TYPE: Value = Struct(&[
    (1, EMPTY),
    (2, EMPTY),
    (3, EMPTY),
    (4, EMPTY),
    (5, Struct(&[(1, Int), (2, Int)])),
    (6, EMPTY),
    (7, TIME),
    (8, TIME),
    (10, Struct(&[(1, Byte), (2, Bool)])),
    (11, EMPTY),
    (12, EMPTY),
    (13, EMPTY),
    (14, EMPTY),
    (15, EMPTY),
]);
const SCHEMA_ELEMENT: Value = Struct(&[
    (1, Int),
    (2, Int),
    (3, Int),
    (4, Binary),
    (5, Children),
    (6, Int),
    (7, Int),
    (8, Int),
    (9, Int),
    (10, LOGICAL_TYPE),
]);
const STATISTICS: Value = Struct(&[
    (1, Binary),
    (2, Binary),
    (3, Int),
    (4, Int),
    (5, Binary32),
    (6, Binary32),
    (7, Bool),
    (8, Bool),
]);
const COLUMN_META_DATA: Value = Struct(&[
    (1, Int),
    (2, List(&Int)),
    (3, List(&Binary)),
    (4, Int),
    (5, Int),
    (6, Int),
    (7, Int),
    (9, Int),
    (10, Int),
    (11, Int),
    (12, STATISTICS),
    (14, Int),
    (15, Int),
]);
const COLUMN_CHUNK: Value =
    Struct(&[(1, Binary), (2, Int), (3, COLUMN_META_DATA), (4, Int), (5, Int), (6, Int), (7, Int)]);
const SORTING_COLUMN: Value = Struct(&[(1, Int), (2, Bool), (3, Bool)]);
const ROW_GROUP: Value = Struct(&[
    (1, List(&COLUMN_CHUNK)),
    (2, Int),
    (3, Int),
    (4, List(&SORTING_COLUMN)),
    (5, Int),
    (6, Int),
    (7, Int),
]);
const KEY_VALUE: Value = Struct(&[(1, Binary), (2, Binary)]);
const COLUMN_ORDER: Value = Struct(&[(1, EMPTY), (2, EMPTY)]);
const FILE_META_DATA: Value = Struct(&[
    (1, Int),
    (2, Schema),
    (3, Int),
    (4, List(&ROW_GROUP)),
    (5, List(&KEY_VALUE)),
    (6, Binary),
    (7, List(&COLUMN_ORDER)),
]);

/// Walk the Parquet footer at the start of `bytes` as polars reads it; returns the bytes
/// it takes, or what is wrong.
pub fn file_metadata_length(bytes: &[u8]) -> Result<usize, String> {
    let mut walk = Walk::new(bytes);
    walk.value(FILE_META_DATA, None, 0)?;
    let depth = schema_depth(&walk.children);
    if depth > MAX_SCHEMA_DEPTH {
        return Err(format!("its schema nests {depth} groups deep, more than {MAX_SCHEMA_DEPTH}"));
    }
    Ok(walk.at)
}

/// How deep the recursion of polars' schema builder (`from_thrift_helper`) goes over
/// elements with these `num_children`: an element with a positive count is a group whose
/// children are the elements that follow it.
fn schema_depth(children: &[Option<i32>]) -> usize {
    let mut deepest = 0;
    let mut open: Vec<i32> = Vec::new(); // children still to come, per open group
    for count in children {
        while open.last() == Some(&0) {
            open.pop();
        }
        if let Some(left) = open.last_mut() {
            *left -= 1;
        }
        deepest = deepest.max(open.len() + 1);
        if let Some(count @ 1..) = *count {
            open.push(count);
        }
    }
    deepest
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Each schema element's `num_children`, in order.
    children: Vec<Option<i32>>,
}

impl<'a> Walk<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Walk { bytes, at: 0, children: Vec::new() }
    }

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

    fn zigzag(&mut self) -> Result<i64, String> {
        let value = self.varint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    /// A varint length, then that many bytes.
    fn binary(&mut self) -> Result<(), String> {
        let length = self.varint()?;
        self.advance(length)
    }

    fn nest(depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested more than {MAX_DEPTH} deep"));
        }
        Ok(())
    }

    fn advance(&mut self, count: u64) -> Result<(), String> {
        if count > self.left() as u64 {
            return Err(format!("a value of {count} bytes where {} are left", self.left()));
        }
        self.at += count as usize;
        Ok(())
    }

    /// A list's header: its element type and count, as polars reads them (a long count is
    /// cut to an i32, and a negative one reads no elements). Each element takes at least a
    /// byte where polars reserves room for it, so a count past the bytes left is refused.
    fn list_header(&mut self) -> Result<(u8, u32), String> {
        let header = self.byte()?;
        let kind = match header & 0x0f {
            0 if header >> 4 == 0 => 3,
            kind @ 1..=12 => kind,
            other => return Err(format!("a list of an unknown element type {other}")),
        };
        let count = match header >> 4 {
            15 => self.varint()? as i32,
            short => i32::from(short),
        };
        let count = u32::try_from(count).unwrap_or(0);
        if count as usize > self.left() {
            return Err(format!("a list of {count} elements where {} bytes are left", self.left()));
        }
        Ok((kind, count))
    }

    /// Read `value`; `declared` is the type in its field's header (None inside a list).
    fn value(&mut self, value: Value, declared: Option<u8>, depth: u32) -> Result<(), String> {
        Self::nest(depth)?;
        match value {
            Int => self.varint().map(drop),
            Byte => self.advance(1),
            Binary => self.binary(),
            Binary32 => {
                let length = self.varint()? as u32;
                self.advance(u64::from(length))
            }
            Bool => match declared {
                Some(1 | 2) => Ok(()),
                Some(other) => Err(format!("a boolean field declared as type {other}")),
                None => Err("a boolean outside a field".into()),
            },
            List(element) => {
                let (_, count) = self.list_header()?;
                for _ in 0..count {
                    self.value(*element, None, depth + 1)?;
                }
                Ok(())
            }
            Schema => {
                let (_, count) = self.list_header()?;
                self.children.clear();
                for _ in 0..count {
                    self.children.push(None);
                    self.value(SCHEMA_ELEMENT, None, depth + 1)?;
                }
                Ok(())
            }
            Children => {
                let count = self.zigzag()? as i32;
                if let Some(slot) = self.children.last_mut() {
                    *slot = Some(count);
                }
                Ok(())
            }
            Struct(fields) => self.fields(fields, depth),
        }
    }

    fn fields(&mut self, known: &[(i16, Value)], depth: u32) -> Result<(), String> {
        let mut last_id = 0i16;
        loop {
            let header = self.byte()?;
            let kind = header & 0x0f;
            if kind == 0 {
                return Ok(());
            }
            let id = match header >> 4 {
                0 => self.zigzag()? as i16,
                delta => last_id
                    .checked_add(i16::from(delta))
                    .ok_or_else(|| format!("a field id past {} after {last_id}", i16::MAX))?,
            };
            match known.iter().find(|(known_id, _)| *known_id == id) {
                Some(&(_, value)) => self.value(value, Some(kind), depth + 1)?,
                None => self.skip(kind, true, depth + 1)?,
            }
            last_id = id;
        }
    }

    /// Skip a value by the type its header declares, as polars skips a field it does not
    /// read. A boolean takes no byte, in a field or in a list.
    fn skip(&mut self, kind: u8, in_field: bool, depth: u32) -> Result<(), String> {
        Self::nest(depth)?;
        match kind {
            1 | 2 => Ok(()),
            3 => self.advance(1),
            4..=6 => self.varint().map(drop),
            7 => self.advance(8),
            8 => self.binary(),
            9 => {
                let (element, count) = self.list_header()?;
                for _ in 0..count {
                    self.skip(element, false, depth + 1)?;
                }
                Ok(())
            }
            12 => self.fields(&[], depth),
            10 | 11 => Err(format!(
                "a {} {}, which Parquet does not use",
                if kind == 10 { "set" } else { "map" },
                if in_field { "field" } else { "element" }
            )),
            other => Err(format!("an unknown value type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8], value: Value) -> Result<usize, String> {
        let mut walk = Walk::new(bytes);
        walk.value(value, None, 0)?;
        Ok(walk.at)
    }

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
    fn fields_polars_does_not_read_are_skipped_by_their_declared_types() {
        let bytes = sample();
        assert_eq!(walk(&bytes, EMPTY), Ok(bytes.len()));
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"PAR1");
        assert_eq!(walk(&longer, EMPTY), Ok(bytes.len()), "trailing bytes are not the struct's");
        // A header whose type is STOP ends the struct, whatever its id nibble says.
        assert_eq!(walk(&[0x15, 0x2a, 0x10, 0xff], EMPTY), Ok(3));
        // Booleans in a skipped list take no byte, as polars skips them: two fields follow.
        assert_eq!(walk(&[0x19, 0x31, 0x15, 0x02, 0x00], EMPTY), Ok(5));
    }

    #[test]
    fn sizes_past_the_end_are_refused_before_anything_is_built() {
        // A list of i64 whose count is a varint of 2^35: polars keeps it as an i32, 0.
        let empty = [0x19, 0xf6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00];
        assert_eq!(walk(&empty, EMPTY), Ok(empty.len()), "2^35 is 0 as an i32");
        // 2^35 + 3 is three, and the one byte left cannot hold them.
        let three = [0x19, 0xf6, 0x83, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00];
        assert!(walk(&three, EMPTY).unwrap_err().contains("a list of 3 elements where 1 bytes are left"));
        let mut millions = sample();
        millions.splice(7..9, [0x19, 0xf6, 0x80, 0x80, 0x80, 0x04]);
        let error = walk(&millions, EMPTY).unwrap_err();
        assert!(error.contains("a list of 8388608 elements where"), "{error}");
        let mut long_binary = sample();
        long_binary[3] = 0x7f;
        assert!(walk(&long_binary, EMPTY).unwrap_err().contains("a value of 127 bytes"));
        assert!(
            walk(&sample()[..9], EMPTY).unwrap_err().contains("a list of 3 elements where 0 bytes are left")
        );
        assert!(walk(&sample()[..1], EMPTY).unwrap_err().contains("ends inside a value"));
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).collect();
        assert!(walk(&deep, EMPTY).unwrap_err().contains("nested more than 64 deep"));
    }

    #[test]
    fn a_known_field_is_read_by_its_id_whatever_type_it_declares() {
        // FileMetaData field 4 (row_groups) declared as an i32: skipped by its type, these
        // bytes are one varint; polars reads them as a list header claiming 2^30 row groups.
        let footer = [0x45, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
        assert_eq!(walk(&footer, EMPTY), Ok(footer.len()));
        let error = file_metadata_length(&footer).unwrap_err();
        assert!(error.contains("a list of 1073741824 elements where 1 bytes are left"), "{error}");
        // A boolean field polars reads (SortingColumn.descending) declared as an i32.
        let error = walk(&[0x15, 0x02, 0x15, 0x02, 0x00], SORTING_COLUMN).unwrap_err();
        assert!(error.contains("a boolean field declared as type 5"), "{error}");
    }

    #[test]
    fn a_schema_nested_past_the_limit_is_refused() {
        assert_eq!(schema_depth(&[Some(2), None, Some(1), None]), 3);
        assert_eq!(schema_depth(&[Some(2), None, None, None]), 2, "the last is a second root");
        assert_eq!(schema_depth(&[Some(-5), None]), 1, "a negative count has no children");
        assert_eq!(schema_depth(&[]), 0);
        // FileMetaData { schema: [ {name: "", num_children: 1} x 65, {name: ""} ] }.
        let element = |children: bool| {
            let mut bytes = vec![0x48, 0x00]; // field 4, binary ""
            if children {
                bytes.extend([0x15, 0x02]); // field 5, i32 1
            }
            bytes.push(0x00);
            bytes
        };
        let footer = |groups: usize| {
            let mut bytes = vec![0x29, 0xfc, groups as u8 + 1];
            for _ in 0..groups {
                bytes.extend(element(true));
            }
            bytes.extend(element(false));
            bytes.push(0x00);
            bytes
        };
        assert_eq!(file_metadata_length(&footer(63)), Ok(footer(63).len()));
        let error = file_metadata_length(&footer(64)).unwrap_err();
        assert!(error.contains("its schema nests 65 groups deep, more than 64"), "{error}");
    }

    #[test]
    fn real_parquet_footers_are_walked_whole() {
        let footer_of = |file: &[u8]| {
            let length =
                u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
            file[file.len() - 8 - length..file.len() - 8].to_vec()
        };
        // A footer that pyarrow wrote (fuzz/seed.py's seed of the XRP candles).
        let pyarrow =
            footer_of(include_bytes!("../../tests/fixtures/fuzz/parquet-page-claims-exabytes.parquet"));
        assert_eq!(file_metadata_length(&pyarrow), Ok(pyarrow.len()));
        // And one that polars wrote, with statistics, of candles from tests/data.
        use polars::prelude::{IpcReader, ParquetWriter, SerReader};
        let feather = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ETH_BTC-5m.feather");
        let mut frame = IpcReader::new(std::fs::File::open(feather).unwrap()).finish().unwrap();
        let mut file = Vec::new();
        ParquetWriter::new(&mut file).finish(&mut frame).unwrap();
        let polars = footer_of(&file);
        assert_eq!(file_metadata_length(&polars), Ok(polars.len()));
    }
}
