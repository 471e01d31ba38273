//! The value frame of engines that compress values themselves (sled): one tag byte, then the
//! value as it is (`RAW`) or LZ4-compressed with its length in front (`LZ4`).
//!
//! Design notes: a value is compressed only when that makes it smaller, so small values and
//! incompressible ones cost one byte. LZ4 rather than zstd: this runs on the engine writer's
//! thread for every row, beside the commit path, and LZ4 compresses JSON at a few gigabytes
//! a second with no per-call context to build.

use std::cell::RefCell;

use super::{BackendError, Table};
use crate::compress::Packer;

const RAW: u8 = 0;
const LZ4: u8 = 1;
/// Values shorter than this are stored as they are.
const COMPRESS_FROM: usize = 64;
thread_local! {
    /// This thread's compressor (see `crate::compress`).
    static PACKER: RefCell<Packer> = RefCell::new(Packer::default());
}

/// The stored frame of `value`.
pub(crate) fn encode(value: Vec<u8>) -> Vec<u8> {
    if value.len() >= COMPRESS_FROM {
        let framed = PACKER.with(|packer| {
            packer.borrow_mut().pack(&value).map(|packed| {
                let mut out = Vec::with_capacity(packed.len() + 1);
                out.push(LZ4);
                out.extend_from_slice(packed);
                out
            })
        });
        if let Some(framed) = framed {
            return framed;
        }
    }
    let mut out = Vec::with_capacity(value.len() + 1);
    out.push(RAW);
    out.extend_from_slice(&value);
    out
}

/// The value a stored frame holds.
///
/// # Errors
/// [`BackendError::Corrupt`] for an empty frame, an unknown tag or a damaged LZ4 block.
pub(crate) fn decode(table: Table, frame: &[u8]) -> Result<Vec<u8>, BackendError> {
    let corrupt = |detail: String| BackendError::Corrupt { table, detail };
    match frame.split_first() {
        Some((&RAW, value)) => Ok(value.to_vec()),
        Some((&LZ4, block)) => crate::compress::unpack(block, usize::MAX)
            .ok_or_else(|| corrupt(format!("damaged LZ4 value ({} bytes)", frame.len()))),
        Some((tag, _)) => Err(corrupt(format!("unknown value frame tag {tag}"))),
        None => Err(corrupt("empty value frame".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_kind_round_trip() {
        let json = br#"{"metadata":{"name":"a","namespace":"b"},"spec":{"tags":[{"name":"v1"},{"name":"v2"}]}}"#.repeat(8);
        let random: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for value in [Vec::new(), b"short".to_vec(), json.clone(), random] {
            let frame = encode(value.clone());
            assert_eq!(decode(Table::Revisions, &frame).expect("decode"), value);
        }
        assert!(
            encode(json.clone()).len() < json.len() / 2,
            "JSON is compressed"
        );
    }

    #[test]
    fn damaged_frames_are_typed_errors() {
        // The last is the fuzzer's: a 4 GiB length in front of a few bytes, refused without
        // allocating it.
        let huge = [
            LZ4, 0x0d, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, b'w', b'o', b'r',
            b'l', b'd', b'!', b'!',
        ];
        for frame in [
            &[][..],
            &[7, 1, 2][..],
            &[LZ4, 200, 0, 0, 0, 1][..],
            &huge[..],
        ] {
            assert!(matches!(
                decode(Table::Revisions, frame),
                Err(BackendError::Corrupt { .. })
            ));
        }
    }
}
