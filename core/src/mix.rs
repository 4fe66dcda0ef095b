//! One 64-bit mixer (splitmix64's), for everything that must be random-looking yet the
//! same on every run and machine: the queue's seeded shuffle, the export's split draw
//! and the scorer's seeded generator.

/// splitmix64's finalizer: a bijection on 64-bit values whose every output bit depends
/// on every input bit.
pub fn splitmix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The golden-ratio increment splitmix64 steps its state by.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[cfg(test)]
mod tests {
    use super::{GOLDEN_GAMMA, splitmix64};

    #[test]
    fn matches_the_reference_sequence() {
        // The first outputs of splitmix64 seeded with 0 (Vigna's reference code).
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(
            splitmix64(GOLDEN_GAMMA.wrapping_mul(2)),
            0x6E78_9E6A_A1B9_65F4
        );
    }
}
