//! Rule bodies' markdown renderer on arbitrary text: no author's markup reaches the page,
//! and no link leads anywhere but http, https, mailto or a relative address.
#![no_main]

/// The scheme a browser reads from an `href` attribute's text, if it has one: entities
/// decoded, tabs and newlines dropped, leading controls and spaces trimmed, then an ASCII
/// letter and letters, digits, `+`, `-` or `.` up to a colon (the URL standard's rule).
/// Anything else before the first colon makes the address relative.
fn scheme(href: &str) -> Option<String> {
    let decoded = href
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let cleaned: String = decoded
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let candidate = &cleaned[..cleaned.find(':')?];
    let mut chars = candidate.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| candidate.to_ascii_lowercase())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = relabel_formats::markdown::render(text).to_ascii_lowercase();
    for tag in [
        "<script", "<img", "<iframe", "<svg", "<object", "<embed", "<style",
    ] {
        assert!(!html.contains(tag), "{tag} in {html}");
    }
    // Links pulldown-cmark writes; text never holds `<a` (its `<` is escaped), though it
    // may hold `href="` itself. The check is on the href as written, percent-encoding
    // and all, as the browser will read it.
    for (at, _) in html.match_indices("<a href=\"") {
        let url = &html[at + 9..];
        let url = &url[..url.find('"').unwrap_or(url.len())];
        if let Some(scheme) = scheme(url) {
            assert!(
                matches!(scheme.as_str(), "http" | "https" | "mailto"),
                "href {url} has scheme {scheme}"
            );
        }
    }
});
