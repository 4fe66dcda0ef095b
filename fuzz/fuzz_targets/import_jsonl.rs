//! The JSONL import reader on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    relabel_fuzz::read(relabel_formats::import::ImportFormat::Jsonl, data);
});
