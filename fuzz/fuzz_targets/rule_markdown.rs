//! Rule bodies' markdown renderer on arbitrary text: no author's markup reaches the page.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = relabel_frontend::markdown::render(text).to_ascii_lowercase();
    for tag in [
        "<script", "<img", "<iframe", "<svg", "<object", "<embed", "<style",
    ] {
        assert!(!html.contains(tag), "{tag} in {html}");
    }
    // Links pulldown-cmark writes; text never holds `<a` (its `<` is escaped), though it
    // may hold `href="` itself.
    for (at, _) in html.match_indices("<a href=\"") {
        let url = &html[at + 9..];
        let url = &url[..url.find('"').unwrap_or(url.len())];
        assert!(relabel_frontend::markdown::safe_url(url), "href {url}");
    }
});
