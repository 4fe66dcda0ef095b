//! Rule bodies as HTML: CommonMark through pulldown-cmark, sanitized at the event level
//! so that no author can put markup of their own on a page. The same function runs on
//! the server and in the browser, so the hydrated page matches the rendered one.
//!
//! What the sanitizer guarantees: raw HTML (blocks and inline tags) is shown as text;
//! links keep only `http:`, `https:`, `mailto:` and relative targets (a `javascript:`
//! or `data:` link becomes its text); images are shown as their alt text, so a rule body
//! never makes a browser fetch anything. Everything else is markup pulldown-cmark itself
//! writes, with text and attributes escaped.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Whether a link target may be followed: no scheme (relative), or http, https, mailto.
/// No rule needs a control character in a link, and browsers treat them in ways that
/// differ (tabs and newlines inside a scheme are ignored, DEL is percent-encoded), so a
/// target holding one is not followed at all. Schemes are case-insensitive and browsers
/// ignore spaces around them, so the target is lowercased and its whitespace dropped
/// before looking.
pub fn safe_url(url: &str) -> bool {
    if url.chars().any(char::is_control) {
        return false;
    }
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match cleaned.find([':', '/', '?', '#']) {
        Some(at) if cleaned[at..].starts_with(':') => {
            matches!(&cleaned[..at], "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Renders a rule body's markdown to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TABLES);
    // A link whose start was dropped drops its end too (links do not nest).
    let mut dropping_link = false;
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            dropping_link = !safe_url(dest_url);
            (!dropping_link).then_some(event)
        }
        Event::End(TagEnd::Link) => {
            let dropped = dropping_link;
            dropping_link = false;
            (!dropped).then_some(event)
        }
        // An image is dropped; its alt text, the events in between, stays as text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        assert_eq!(
            render("A **bold** rule with `code`."),
            "<p>A <strong>bold</strong> rule with <code>code</code>.</p>\n"
        );
        assert!(render("- one\n- two").contains("<li>two</li>"));
        assert_eq!(
            render("[the spec](https://example.com/a?b=1&c=2)"),
            "<p><a href=\"https://example.com/a?b=1&amp;c=2\">the spec</a></p>\n"
        );
        assert!(render("[rel](../rules#brand)").contains("href=\"../rules#brand\""));
    }

    /// What a hostile author might write into a rule body.
    const HOSTILE: [&str; 14] = [
        "<script>alert(1)</script>",
        "before <script>alert(1)</script> after",
        "<img src=x onerror=alert(1)>",
        "![x](https://evil.example/track.png)",
        "![x\" onerror=\"alert(1)](x)",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java\tscript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        "<div onclick=\"alert(1)\">hi</div>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "[x](https://ok.example \"title\\\" onmouseover=\\\"alert(1)\")",
    ];

    #[test]
    fn no_markup_of_the_authors_own_reaches_the_html() {
        for body in HOSTILE {
            let html = render(body).to_ascii_lowercase();
            // Text may mention anything, escaped; what matters is inside the tags.
            for tag in html.split('<').skip(1) {
                let inside = tag.split('>').next().unwrap_or_default();
                // Attribute names: what is left outside quoted values.
                let names: String = inside.split('"').step_by(2).collect();
                for banned in [" on", "src=", "style="] {
                    assert!(
                        !names.contains(banned),
                        "{body:?} gave the tag <{inside}> in {html:?}"
                    );
                }
                if let Some(href) = inside.split("href=\"").nth(1) {
                    let target = href.split('"').next().unwrap_or_default();
                    assert!(safe_url(target), "{body:?} links to {target:?}");
                }
                // Every tag in the output is one the renderer writes.
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                assert!(
                    [
                        "p",
                        "a",
                        "strong",
                        "em",
                        "code",
                        "pre",
                        "ul",
                        "ol",
                        "li",
                        "del",
                        "h1",
                        "h2",
                        "h3",
                        "blockquote",
                        "table",
                        "thead",
                        "tbody",
                        "tr",
                        "th",
                        "td",
                        "br",
                        "hr"
                    ]
                    .contains(&name.as_str()),
                    "{body:?} gave tag {name:?} in {html:?}"
                );
            }
        }
        // The text survives as text.
        assert!(render("<script>alert(1)</script>").contains("&lt;script&gt;"));
        assert!(render("[click](javascript:alert(1))").contains("click"));
        assert!(render("![a cat](https://x.example/cat.png)").contains("a cat"));
    }

    #[test]
    fn link_schemes_are_checked_after_what_browsers_ignore() {
        assert!(safe_url("https://example.com"));
        assert!(safe_url("mailto:rules@example.com"));
        assert!(safe_url("/p/demo/guideline"));
        assert!(safe_url("#R-BRAND-01"));
        assert!(safe_url("page?x=a:b"));
        assert!(!safe_url("javascript:alert(1)"));
        assert!(!safe_url(" JAVASCRIPT:alert(1)"));
        assert!(!safe_url("java\nscript:alert(1)"));
        assert!(!safe_url("java\tscript:alert(1)"));
        // Found by fuzzing: DEL in a scheme. Harmless as rendered, but not a real link.
        assert!(!safe_url("http\u{7f}://example.com"));
        assert!(!safe_url("https://example.com/\u{0}"));
        assert!(!safe_url("\u{1}javascript:alert(1)"));
        assert!(!safe_url("vbscript:x"));
        assert!(!safe_url("data:text/html,x"));
    }
}
