//! LZ4 compression with a kept hash table and output buffer, shared by the engine's value
//! frames and the write-ahead log's large frames.
//!
//! Design notes: `lz4_flex::compress_prepend_size` makes a fresh hash table and a zeroed
//! output buffer per call, then shrinks the result (one more copy), a cost of the same order
//! as compressing a value of a few KB. A `Packer` keeps
//! both between calls and hands back its own buffer, so the caller copies the result once,
//! into the frame it builds. Both users store the same layout: `[decoded length: u32 LE]`
//! then the LZ4 block, which [`unpack`] reads. The length comes from storage, so it is
//! bounded by what the block could possibly expand to before anything is allocated (the
//! fuzzer found a four-byte length that asked for 4 GiB).

use lz4_flex::block::{compress_into_with_table, get_maximum_output_size, CompressTable};

/// The largest output buffer a packer keeps once inputs are modest again: one huge input
/// must not pin its buffer.
const KEPT_BUFFER: usize = 4 << 20;

/// A compressor that keeps its hash table and output buffer between calls.
#[derive(Default)]
pub(crate) struct Packer {
    table: CompressTable,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packer")
            .field("buffer", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl Packer {
    /// `input` as `[decoded length: u32 LE][LZ4 block]`, in the packer's buffer until the
    /// next call; `None` when that is no smaller than `input` or `input` is too long for the
    /// length word.
    pub(crate) fn pack(&mut self, input: &[u8]) -> Option<&[u8]> {
        let declared = u32::try_from(input.len()).ok()?;
        let bound = 4 + get_maximum_output_size(input.len());
        if self.buffer.len() > KEPT_BUFFER && bound <= KEPT_BUFFER {
            // A huge earlier input's buffer is given back once inputs are modest again.
            self.buffer = Vec::new();
        }
        if self.buffer.len() < bound {
            self.buffer.resize(bound, 0);
        }
        let written = compress_into_with_table(input, &mut self.buffer[4..], &mut self.table)
            .ok()
            .filter(|written| 4 + written < input.len())?;
        self.buffer[..4].copy_from_slice(&declared.to_le_bytes());
        Some(&self.buffer[..4 + written])
    }
}

/// LZ4 never expands a block more than about 255 times (a match length is extended 255 at a
/// time, one byte of input each): a declared length past this is damage.
const MAX_EXPANSION: usize = 256;

/// The input of a `[decoded length: u32 LE][LZ4 block]` made by [`Packer::pack`]: `None` for a
/// damaged block, a length the block cannot expand to (checked before allocating it), or a
/// block that decodes to another length. `limit` bounds the length too.
pub(crate) fn unpack(packed: &[u8], limit: usize) -> Option<Vec<u8>> {
    let (declared, block) = packed.split_first_chunk::<4>()?;
    let declared = u32::from_le_bytes(*declared) as usize;
    if declared > limit || declared > block.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    lz4_flex::block::decompress(block, declared)
        .ok()
        .filter(|bytes| bytes.len() == declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_length_the_block_cannot_expand_to_is_refused_before_allocating() {
        // The fuzzer's input: a 4 GiB length in front of eleven bytes.
        let packed = [
            0x0d, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, b'w',
        ];
        assert_eq!(unpack(&packed, usize::MAX), None);
        let mut packer = Packer::default();
        let input = vec![b'a'; 100_000];
        let packed = packer.pack(&input).expect("compressible").to_vec();
        assert_eq!(unpack(&packed, usize::MAX).as_deref(), Some(&input[..]));
        assert_eq!(unpack(&packed, 99_999), None, "over the caller's limit");
        assert_eq!(
            unpack(&packed[..packed.len() - 1], usize::MAX),
            None,
            "cut short"
        );
    }

    #[test]
    fn packed_input_decompresses_to_itself_and_incompressible_input_is_refused() {
        let mut packer = Packer::default();
        let json = br#"{"tag":"v1","image":"sha256:aaaa"},"#.repeat(100);
        let packed = packer.pack(&json).expect("JSON packs").to_vec();
        assert!(packed.len() < json.len() / 4);
        assert_eq!(
            lz4_flex::decompress_size_prepended(&packed).expect("decompresses"),
            json
        );
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(packer.pack(&noise), None);
        // The kept table is reset between calls: the next input packs on its own.
        let again = packer.pack(&json).expect("packs again");
        assert_eq!(again, &packed[..]);
    }
}
