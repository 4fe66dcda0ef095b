//! The guideline file parser (`relabel guideline import`) on arbitrary text: it answers
//! rules or problems, and rules it accepts survive being written out and read back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let project = relabel_fuzz::project();
    if let Ok(rules) = relabel_formats::guideline::parse(&project, "fuzz.toml", text) {
        let written = relabel_formats::guideline::write(&rules, "fuzz");
        let again = relabel_formats::guideline::parse(&project, "written.toml", &written)
            .unwrap_or_else(|e| panic!("a written guideline does not read back: {e:?}\n{written}"));
        assert_eq!(rules, again, "the round trip changed the rules");
    }
});
