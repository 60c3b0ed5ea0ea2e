//! The XML sink: a well-formed document after finish, continued after a
//! reopen or a crash, through the default element, `template.NN` or
//! `template.NN.hbs`; values that XML cannot carry are refused.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use drx_layouts::Layout;
use drx_sinks::xml::{XmlConfig, XmlSink};
use drx_sinks::{Batch, Checkpoint, Sink, SinkError};
use drx_templates::ChangeOp;
use quick_xml::events::Event;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn config(commit_every: u64) -> XmlConfig {
    XmlConfig {
        name: Some("xml".into()),
        dir: "out".into(),
        file_ids: vec![],
        tables: BTreeMap::new(),
        commit_every,
        root: "drx".into(),
    }
}

/// File id 20 (an XML id of the guide) with the layout of error codes.
fn open(home: &Path, config: &XmlConfig) -> Result<XmlSink, SinkError> {
    XmlSink::open(
        "xml".into(),
        config,
        home,
        binding(20, &layout_200(), "error_codes", &home.join("templates")),
    )
}

fn data(home: &Path) -> PathBuf {
    home.join("out/error_codes.xml")
}

fn read(home: &Path) -> String {
    String::from_utf8(std::fs::read(data(home)).unwrap()).unwrap()
}

fn template(home: &Path, name: &str, text: &str) {
    let dir = home.join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// What a full parse of a document finds.
#[derive(Debug, PartialEq)]
struct Doc {
    /// Names of the root's children, in order.
    children: Vec<String>,
    /// All text, unescaped, in order.
    texts: Vec<String>,
}

/// Parses `xml` fully with quick-xml; panics unless it is one well-formed
/// document: a declaration, then exactly one root element.
fn parse(xml: &str) -> Doc {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut depth, mut roots, mut decls) = (0usize, 0usize, 0usize);
    let mut doc = Doc {
        children: vec![],
        texts: vec![],
    };
    // The text of the current element so far: text events and references.
    let mut text = String::new();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => panic!("not well-formed at {}: {e}\n{xml}", reader.error_position()),
        };
        if matches!(
            event,
            Event::Start(_) | Event::End(_) | Event::Empty(_) | Event::Eof
        ) {
            if !text.trim().is_empty() {
                assert!(depth > 0, "text outside the root: {text:?}\n{xml}");
                doc.texts.push(std::mem::take(&mut text));
            }
            text.clear();
        }
        match event {
            Event::Eof => break,
            Event::Decl(_) => {
                assert_eq!((roots, depth), (0, 0), "declaration not first:\n{xml}");
                decls += 1;
            }
            Event::Start(e) => {
                if depth == 0 {
                    roots += 1;
                } else if depth == 1 {
                    doc.children
                        .push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                }
                for a in e.attributes() {
                    a.unwrap().unescape_value().unwrap();
                }
                depth += 1;
            }
            Event::Empty(e) => {
                assert!(depth > 0, "element outside the root:\n{xml}");
                if depth == 1 {
                    doc.children
                        .push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                }
                for a in e.attributes() {
                    a.unwrap().unescape_value().unwrap();
                }
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push_str(
                    quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap()).unwrap(),
                ),
            },
            _ => {}
        }
    }
    assert_eq!((decls, roots, depth), (1, 1, 0), "not one document:\n{xml}");
    doc
}

fn batch(layout: &Arc<Layout>) -> Batch {
    let hard = hard_rows();
    Changes::new(20, layout)
        .insert(1, &hard[0])
        .txn(2, 5, ChangeOp::Update, Some(&hard[0]), Some(&hard[1]))
        .delete(3, &hard[2])
        .done(3)
}

#[test]
fn the_default_document_is_well_formed_after_finish() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&batch(&layout)).unwrap();
    sink.finish().unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 3,
            resume: 4
        })
    );
    let xml = read(home.path());
    let doc = parse(&xml);
    assert_eq!(doc.children, ["change", "change", "change"]);
    assert!(
        doc.texts
            .contains(&"'); DROP TABLE error_codes; --".to_owned())
    );
    assert!(doc.texts.contains(&"café".to_owned()));
    assert!(doc.texts.contains(&"<&>".to_owned()));
    insta::assert_snapshot!(xml);
    // A second finish adds nothing.
    sink.finish().unwrap();
    assert_eq!(read(home.path()), xml);
}

#[test]
fn a_reopened_document_continues_and_stays_well_formed() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&batch(&layout)).unwrap();
    sink.finish().unwrap();
    drop(sink);
    let first = read(home.path());

    for (round, seq) in [(1, 4u64), (2, 5)] {
        let mut sink = open(home.path(), &config(1_000)).unwrap();
        assert_eq!(
            sink.checkpoint().unwrap(),
            Some(Checkpoint {
                applied: seq - 1,
                resume: seq
            })
        );
        // The footer is cut on open and comes back at finish.
        assert!(!read(home.path()).contains("</drx>"), "round {round}");
        sink.apply(
            &Changes::new(20, &layout)
                .insert(seq, &row(seq as i64, "more", "", "", ""))
                .done(seq),
        )
        .unwrap();
        sink.finish().unwrap();
    }
    let xml = read(home.path());
    let doc = parse(&xml);
    assert_eq!(doc.children.len(), 5);
    assert_eq!(xml.matches("<?xml").count(), 1);
    assert_eq!(xml.matches("<drx ").count(), 1);
    assert_eq!(xml.matches("</drx>").count(), 1);
    assert!(xml.starts_with(first.trim_end_matches("</drx>\n")));
    assert!(xml.ends_with("<change op=\"insert\" seq=\"5\" txn=\"0\" file_id=\"20\" file=\"/data/error_codes.data\"><after><err_number>5</err_number><err_name>more</err_name><err_text></err_text><err_category></err_category><err_category2></err_category2></after></change>\n</drx>\n"));
}

#[test]
fn applying_after_finish_moves_the_footer() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(
        &Changes::new(20, &layout)
            .insert(1, &row(1, "a", "", "", ""))
            .done(1),
    )
    .unwrap();
    sink.finish().unwrap();
    sink.apply(
        &Changes::new(20, &layout)
            .insert(2, &row(2, "b", "", "", ""))
            .done(2),
    )
    .unwrap();
    sink.finish().unwrap();
    let doc = parse(&read(home.path()));
    assert_eq!(doc.children.len(), 2);
    drop(sink);
    let sink = open(home.path(), &config(1_000)).unwrap();
    drop(sink);
    // Opened and dropped without finish: the footer stays cut until the next finish.
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.finish().unwrap();
    assert_eq!(parse(&read(home.path())).children.len(), 2);
}

#[test]
fn a_crash_leaves_a_document_that_the_next_run_completes() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&batch(&layout)).unwrap();
    sink.commit().unwrap();
    sink.apply(
        &Changes::new(20, &layout)
            .insert(4, &row(4, "lost", "", "", ""))
            .done(4),
    )
    .unwrap();
    drop(sink);
    assert!(read(home.path()).contains("lost"));
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 3,
            resume: 4
        })
    );
    assert!(!read(home.path()).contains("lost"));
    sink.apply(
        &Changes::new(20, &layout)
            .insert(4, &row(4, "kept", "", "", ""))
            .done(4),
    )
    .unwrap();
    sink.finish().unwrap();
    let doc = parse(&read(home.path()));
    assert_eq!(doc.children.len(), 4);
    assert!(doc.texts.contains(&"kept".to_owned()) && !doc.texts.contains(&"lost".to_owned()));
}

#[test]
fn the_seed_template_renders_each_change() {
    let home = tempfile::tempdir().unwrap();
    template(
        home.path(),
        "template.20",
        "<error number=\"@err_number@\" op=\"@drms_op@\" seq=\"@drms_seq@\" txn=\"@drms_txn@\" id=\"@drms_file_id@\" \
         key=\"@drms_index_info@\" from=\"@drms_file@\">@err_name@|@err_text@|@err_category@|@err_category2@ \
         mail user@example.com @@</error>\n",
    );
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&batch(&layout)).unwrap();
    sink.finish().unwrap();
    let xml = read(home.path());
    let doc = parse(&xml);
    assert_eq!(doc.children, ["error", "error", "error"]);
    insta::assert_snapshot!(xml);
}

#[test]
fn a_handlebars_template_renders_each_change() {
    let home = tempfile::tempdir().unwrap();
    template(
        home.path(),
        "template.20.hbs",
        "<{{drms_op}} seq=\"{{drms_seq}}\" txn=\"{{drms_txn}}\" id=\"{{drms_file_id}}\" file=\"{{drms_file}}\">\
         <number>{{err_number}}</number><name>{{err_name}}</name>\
         {{#if before}}<was>{{before.err_name}}</was>{{/if}}\
         {{#if err_category2}}<c2>{{err_category2}}</c2>{{/if}}</{{drms_op}}>\n",
    );
    let layout = layout_200();
    let mut sink = open(home.path(), &config(1_000)).unwrap();
    sink.apply(&batch(&layout)).unwrap();
    sink.finish().unwrap();
    let xml = read(home.path());
    let doc = parse(&xml);
    assert_eq!(doc.children, ["insert", "update", "delete"]);
    insta::assert_snapshot!(xml);
}

#[test]
fn template_and_hbs_together_are_an_error() {
    let home = tempfile::tempdir().unwrap();
    template(home.path(), "template.20", "<e/>");
    template(home.path(), "template.20.hbs", "<e/>");
    let err = open(home.path(), &config(1)).unwrap_err();
    assert!(matches!(err, SinkError::Template(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("both template.20 and template.20.hbs exist; keep one"),
        "{err}"
    );
    // And nothing was created.
    assert!(!data(home.path()).exists());
}

#[test]
fn a_template_naming_no_field_fails_at_open_with_its_position() {
    let home = tempfile::tempdir().unwrap();
    template(home.path(), "template.20", "<e>\n  @err_nmae@</e>\n");
    let err = open(home.path(), &config(1)).unwrap_err();
    let expect = format!(
        "{}:2:3: placeholder @err_nmae@ names no field",
        home.path().join("templates/template.20").display()
    );
    assert!(err.to_string().starts_with(&expect), "{err}");
}

/// A control character in a value: the batch is refused with its seq and
/// field, and the document stays well-formed.
fn control_character_is_refused(home: &Path, expect: &str) {
    let layout = layout_200();
    let mut sink = open(home, &config(1)).unwrap();
    sink.apply(
        &Changes::new(20, &layout)
            .insert(1, &row(1, "fine", "", "", ""))
            .done(1),
    )
    .unwrap();
    let bad = Changes::new(20, &layout)
        .insert(2, &row(2, "also fine", "", "", ""))
        .insert(3, &row(3, "ok", "bell\u{7}", "", ""))
        .done(3);
    let err = sink.apply(&bad).unwrap_err();
    assert!(matches!(err, SinkError::Render { seq: 3, .. }), "{err:?}");
    assert_eq!(err.to_string(), expect);
    sink.finish().unwrap();
    assert_eq!(
        sink.checkpoint().unwrap(),
        Some(Checkpoint {
            applied: 1,
            resume: 2
        })
    );
    let xml = read(home);
    assert_eq!(parse(&xml).children.len(), 1, "{xml}");
    assert!(!xml.contains("also fine"));
}

#[test]
fn a_control_character_is_a_render_error_never_a_malformed_document() {
    let home = tempfile::tempdir().unwrap();
    control_character_is_refused(
        home.path(),
        "seq 3: err_text: character U+0007 cannot appear in XML 1.0",
    );
}

#[test]
fn a_control_character_is_refused_by_a_handlebars_template_too() {
    let home = tempfile::tempdir().unwrap();
    template(home.path(), "template.20.hbs", "<e>{{err_text}}</e>\n");
    control_character_is_refused(
        home.path(),
        "seq 3: err_text: character U+0007 cannot appear in XML 1.0",
    );
}

#[test]
fn a_control_character_is_refused_by_a_seed_template_too() {
    let home = tempfile::tempdir().unwrap();
    template(home.path(), "template.20", "<e>@err_text@</e>\n");
    // The seed template names the field, like the default element.
    control_character_is_refused(
        home.path(),
        "seq 3: err_text: character U+0007 cannot appear in XML 1.0",
    );
}

#[test]
fn a_template_rendering_broken_xml_is_refused() {
    let layout = layout_200();
    for (name, text, what) in [
        ("template.20", "<e>@err_name@\n", "1 element(s) left open"),
        ("template.20", "<e>a & b</e>\n", "reference not closed"),
        ("template.20.hbs", "<e>{{{err_name}}}</e>\n", "at byte"),
        (
            "template.20.hbs",
            "<e a=\"{{{err_category}}}\"/>\n",
            "attribute a holds a bare `<`",
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        template(home.path(), name, text);
        let mut sink = open(home.path(), &config(1)).unwrap();
        sink.apply(
            &Changes::new(20, &layout)
                .insert(1, &row(1, "plain", "", "plain", ""))
                .done(1),
        )
        .unwrap_or_else(|e| {
            // A template broken whatever the values fails at once.
            assert!(e.to_string().contains(what), "{name}: {e}");
        });
        let err = sink
            .apply(
                &Changes::new(20, &layout)
                    .insert(2, &row(2, "<b>", "", "<&>", ""))
                    .done(2),
            )
            .unwrap_err();
        assert!(matches!(err, SinkError::Config(_)), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "seq 2: {name} renders XML that is not well-formed ("
            )),
            "{message}"
        );
        assert!(message.contains(what), "{name}: {message}");
        sink.finish().unwrap();
        parse(&read(home.path()));
    }
}

#[test]
fn the_root_element_is_configurable_and_checked() {
    let home = tempfile::tempdir().unwrap();
    let layout = layout_200();
    let mut c = config(1);
    c.root = "error-codes".into();
    let mut sink = open(home.path(), &c).unwrap();
    sink.apply(
        &Changes::new(20, &layout)
            .insert(1, &row(1, "a", "", "", ""))
            .done(1),
    )
    .unwrap();
    sink.finish().unwrap();
    let xml = read(home.path());
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error-codes file_id=\"20\">\n"
        ),
        "{xml}"
    );
    assert!(xml.ends_with("</error-codes>\n"));
    parse(&xml);
    drop(sink);
    // The same file under another root is not continued.
    let err = open(home.path(), &config(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not start with the header this sink writes"),
        "{err}"
    );
    for bad in ["", "1x", "a b", "a<b"] {
        let mut c = config(1);
        c.root = bad.into();
        let err = open(home.path(), &c).unwrap_err();
        assert!(
            matches!(err, SinkError::Config(_)) && err.to_string().contains("is not an XML name"),
            "{err}"
        );
    }
}
