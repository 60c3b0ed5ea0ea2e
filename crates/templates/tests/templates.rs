#![allow(clippy::unwrap_used)]
use drx_layouts::Layout;
use drx_templates::{
    Bound, Change, ChangeOp, DefaultElement, Dialect, SqlTemplate, SqlTemplates, XmlRenderer,
    XmlTemplate, compile_sql_hbs,
};

const LAYOUT_200: &str = "key: err_number;
fields: err_number		fixed bin (15),
        err_name        	char (32),
        err_text           char (128) varying,
        err_category    	char(18),
        err_category2   	char(18);
end;";

const INSERT: &str = "insert into @drms_file@ values (@err_number@, '@err_name@', '@err_text@', '@err_category@', '@err_category2@')";
const UPDATE: &str = "update @drms_file@ set err_number=@err_number@, err_name='@err_name@', err_text='@err_text@', err_category='@err_category@', err_category2='@err_category2@' where @drms_index_info@";
const DELETE: &str = "delete from @drms_file@ where @drms_index_info@";

fn layout() -> Layout {
    Layout::parse("layouts/layout.200", LAYOUT_200).unwrap()
}

fn record(layout: &Layout, number: &str, name: &str, text: &str) -> Vec<u8> {
    layout
        .encode([
            ("err_number", number),
            ("err_name", name),
            ("err_text", text),
            ("err_category", "cat"),
            ("err_category2", ""),
        ])
        .unwrap()
}

fn change<'a>(
    op: ChangeOp,
    before: Option<drx_layouts::RecordView<'a>>,
    after: Option<drx_layouts::RecordView<'a>>,
) -> Change<'a> {
    Change {
        op,
        seq: 42,
        txn: 7,
        file_id: 200,
        file: "/data/error_codes.data",
        before,
        after,
    }
}

fn bound_text(text: &[u8], bound: &[Bound]) -> Vec<String> {
    bound
        .iter()
        .map(|b| match b {
            Bound::Null => "NULL".into(),
            Bound::Int(i) => format!("int {i}"),
            Bound::Float(f) => format!("float {f}"),
            Bound::Text(r) => format!("text {:?}", std::str::from_utf8(&text[r.clone()]).unwrap()),
        })
        .collect()
}

#[test]
fn seed_templates_compile_to_prepared_statements_in_every_dialect() {
    let layout = layout();
    let mut out = String::new();
    for (name, text) in [("i", INSERT), ("u", UPDATE), ("d", DELETE)] {
        let t = SqlTemplate::compile(&format!("template.200.{name}"), text, &layout).unwrap();
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            out.push_str(&format!(
                "{name} {dialect:?}: {}\n",
                t.sql(dialect, "error_codes")
            ));
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn values_are_bound_never_spliced() {
    let layout = layout();
    let evil = "'); DROP TABLE x; --";
    let rec = record(&layout, "-32768", evil, "it's <&> \"quoted\"");
    let view = layout.view(&rec).unwrap();
    let t = SqlTemplate::compile("template.200.i", INSERT, &layout).unwrap();
    let sql = t.sql(Dialect::Sqlite, "error_codes");
    assert!(!sql.contains("DROP"));
    let (mut text, mut bound) = (Vec::new(), Vec::new());
    t.bind(
        &change(ChangeOp::Insert, None, Some(view)),
        "error_codes",
        &mut text,
        &mut bound,
    )
    .unwrap();
    insta::assert_debug_snapshot!(bound_text(&text, &bound));
}

#[test]
fn update_binds_after_values_and_before_key() {
    let layout = layout();
    let before = record(&layout, "5", "old", "old text");
    let after = record(&layout, "5", "new", "");
    let c = change(
        ChangeOp::Update,
        Some(layout.view(&before).unwrap()),
        Some(layout.view(&after).unwrap()),
    );
    let t = SqlTemplate::compile("template.200.u", UPDATE, &layout).unwrap();
    let (mut text, mut bound) = (Vec::new(), Vec::new());
    t.bind(&c, "error_codes", &mut text, &mut bound).unwrap();
    let values = bound_text(&text, &bound);
    assert_eq!(values.len(), 6);
    assert_eq!(values[1], "text \"new\"");
    assert_eq!(values[2], "text \"\"");
    assert_eq!(values[5], "int 5");
}

#[test]
fn quoted_literal_mixing_text_and_placeholders_is_one_parameter() {
    let layout = layout();
    let t = SqlTemplate::compile(
        "t",
        "insert into log values ('code @err_number@: it''s @drms_op@ #@drms_seq@', 'user@example.com', \"@x\") -- @err_name@ stays",
        &layout,
    )
    .unwrap();
    assert_eq!(
        t.sql(Dialect::Sqlite, "x"),
        "insert into log values (?, 'user@example.com', \"@x\") -- @err_name@ stays"
    );
    let rec = record(&layout, "12", "n", "t");
    let view = layout.view(&rec).unwrap();
    let (mut text, mut bound) = (Vec::new(), Vec::new());
    t.bind(
        &change(ChangeOp::Insert, None, Some(view)),
        "x",
        &mut text,
        &mut bound,
    )
    .unwrap();
    assert_eq!(
        bound_text(&text, &bound),
        vec!["text \"code 12: it's insert #42\""]
    );
}

#[test]
fn unknown_placeholder_names_file_line_col() {
    let layout = layout();
    let err = SqlTemplate::compile(
        "templates/template.200.i",
        "insert into @drms_file@\nvalues (@err_number@, '@err_nmae@')",
        &layout,
    )
    .unwrap_err();
    assert_eq!(err.file, "templates/template.200.i");
    assert_eq!((err.line, err.col), (2, 24));
    assert!(
        err.message
            .starts_with("placeholder @err_nmae@ names no field of layout layouts/layout.200"),
        "{}",
        err.message
    );
}

#[test]
fn index_info_without_key_is_an_error() {
    let layout = Layout::parse("layout.300", "fields: a bin(15); end;").unwrap();
    let err = SqlTemplate::compile(
        "template.300.d",
        "delete from @drms_file@ where @drms_index_info@",
        &layout,
    )
    .unwrap_err();
    assert_eq!((err.line, err.col), (1, 31));
    assert!(err.message.contains("needs a key"), "{err}");
}

#[test]
fn unterminated_literal_is_an_error() {
    let err =
        SqlTemplate::compile("t", "insert into x values ('@err_name@)", &layout()).unwrap_err();
    assert_eq!(err.to_string(), "t:1:23: unterminated quoted literal");
}

#[test]
fn default_sql_templates_come_from_the_layout() {
    let layout = layout();
    let dir = tempfile::tempdir().unwrap();
    let set = SqlTemplates::load(dir.path(), 200, &layout).unwrap();
    assert_eq!(set.file_count(), 0);
    let mut out = String::new();
    for op in [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete] {
        out.push_str(&set.get(op).unwrap().sql(Dialect::MySql, "error_codes"));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

#[test]
fn handlebars_sql_still_binds_values() {
    let layout = layout();
    let t = compile_sql_hbs(
        "template.200.i.hbs",
        "insert into {{drms_file}} ({{#each fields}}{{#if @index}}, {{/if}}{{this}}{{/each}}) values ({{err_number}}, '{{err_name}}', '{{err_text}}', '{{err_category}}', '{{err_category2}}')",
        &layout,
    )
    .unwrap();
    assert_eq!(
        t.sql(Dialect::Postgres, "error_codes"),
        "insert into \"error_codes\" (err_number, err_name, err_text, err_category, err_category2) values ($1, $2, $3, $4, $5)"
    );
    let err = compile_sql_hbs("t.hbs", "insert {{#if}}", &layout).unwrap_err();
    assert_eq!(err.file, "t.hbs");
}

fn render(renderer: &XmlRenderer, c: &Change<'_>) -> String {
    let (mut out, mut scratch) = (Vec::new(), String::new());
    renderer.render(c, &mut out, &mut scratch).unwrap();
    String::from_utf8(out).unwrap()
}

/// Parses `xml` fully; panics if it is not well-formed.
fn assert_well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}\n{xml}"),
        }
    }
}

#[test]
fn default_xml_element_escapes_everything() {
    let layout = layout();
    let before = record(&layout, "1", "a<b", "x");
    let after = record(&layout, "1", "it's \"<&>\"", "caf\u{e9}");
    let c = change(
        ChangeOp::Update,
        Some(layout.view(&before).unwrap()),
        Some(layout.view(&after).unwrap()),
    );
    let xml = render(&XmlRenderer::Default(DefaultElement::new(&layout)), &c);
    assert_well_formed(&format!("<r>{xml}</r>"));
    insta::assert_snapshot!(xml);
}

#[test]
fn seed_xml_template_escapes_values() {
    let layout = layout();
    let t = XmlTemplate::compile(
        "template.20",
        "<error number=\"@err_number@\" op=\"@drms_op@\">@err_name@ / @err_text@ @@</error>\n",
        &layout,
    )
    .unwrap();
    let rec = record(&layout, "-7", "<script>&'\"", "");
    let c = change(ChangeOp::Insert, None, Some(layout.view(&rec).unwrap()));
    let xml = render(&XmlRenderer::Seed(t), &c);
    assert_eq!(
        xml,
        "<error number=\"-7\" op=\"insert\">&lt;script&gt;&amp;&apos;&quot; /  @</error>\n"
    );
    assert_well_formed(&xml);
}

#[test]
fn control_characters_are_an_error_not_broken_xml() {
    let layout = layout();
    let rec = record(&layout, "1", "bell\u{7}", "");
    let c = change(ChangeOp::Insert, None, Some(layout.view(&rec).unwrap()));
    let (mut out, mut scratch) = (Vec::new(), String::new());
    let err = XmlRenderer::Default(DefaultElement::new(&layout))
        .render(&c, &mut out, &mut scratch)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "err_name: character U+0007 cannot appear in XML 1.0"
    );
}

#[test]
fn handlebars_xml_renders_and_escapes() {
    let layout = layout();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("template.20.hbs"),
        "<e n=\"{{err_number}}\" op=\"{{drms_op}}\">{{err_name}}</e>\n",
    )
    .unwrap();
    let renderer = XmlRenderer::load(dir.path(), 20, &layout).unwrap();
    let rec = record(&layout, "3", "<&>", "");
    let c = change(ChangeOp::Insert, None, Some(layout.view(&rec).unwrap()));
    assert_eq!(
        render(&renderer, &c),
        "<e n=\"3\" op=\"insert\">&lt;&amp;&gt;</e>\n"
    );

    std::fs::write(
        dir.path().join("template.21.hbs"),
        "<e>{{no_such_field}}</e>",
    )
    .unwrap();
    let err = XmlRenderer::load(dir.path(), 21, &layout).unwrap_err();
    assert!(err.to_string().contains("template.21.hbs"), "{err}");
}

#[test]
fn both_plain_and_hbs_is_an_error() {
    let layout = layout();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("template.200.i"), INSERT).unwrap();
    std::fs::write(dir.path().join("template.200.i.hbs"), INSERT).unwrap();
    let err = SqlTemplates::load(dir.path(), 200, &layout).unwrap_err();
    assert!(err.to_string().contains("keep one"), "{err}");
}

#[test]
fn double_at_is_a_literal_at_in_sql_too() {
    let layout = layout();
    let t = SqlTemplate::compile(
        "t",
        "insert into x values ('@@err_name@', @err_number@) -- @@",
        &layout,
    )
    .unwrap();
    assert_eq!(
        t.sql(Dialect::Sqlite, "x"),
        "insert into x values ('@err_name@', ?) -- @@"
    );
    assert_eq!(t.params().len(), 1);
}

#[test]
fn backtick_identifiers_refuse_placeholders() {
    let err =
        SqlTemplate::compile("t", "insert into `@err_name@` values (1)", &layout()).unwrap_err();
    assert_eq!((err.line, err.col), (1, 14));
    let ok = SqlTemplate::compile(
        "t",
        "insert into `my table` values (@err_number@)",
        &layout(),
    )
    .unwrap();
    assert_eq!(
        ok.sql(Dialect::MySql, "x"),
        "insert into `my table` values (?)"
    );
}

#[test]
fn a_template_of_only_semicolons_is_empty() {
    let err = SqlTemplate::compile("t", " ;\n", &layout()).unwrap_err();
    assert_eq!(err.to_string(), "t:1:1: the template is empty");
}

#[test]
fn default_element_escapes_tab_and_newline_in_attributes() {
    let layout = layout();
    let rec = record(&layout, "1", "a", "b");
    let mut c = change(ChangeOp::Insert, None, Some(layout.view(&rec).unwrap()));
    c.file = "/data/a\tb\nc.dat";
    let xml = render(&XmlRenderer::Default(DefaultElement::new(&layout)), &c);
    assert!(xml.contains("file=\"/data/a&#9;b&#10;c.dat\""), "{xml}");
    assert_well_formed(&xml);
}

#[test]
fn handlebars_errors_point_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("template.21.hbs"),
        "<e>\n  {{err_name}}\n  {{no_such_field}}</e>",
    )
    .unwrap();
    let err = XmlRenderer::load(dir.path(), 21, &layout()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("template.21.hbs:3:"), "{msg}");
}

/// A copybook's OCCURS table as a JSON column: Handlebars walks it with
/// `{{#each}}`, its numbers keep their exact digits, nulls stay null.
#[test]
fn handlebars_walks_a_copybook_table_with_exact_numbers() {
    use drx_layouts::{CodePage, Copybook, CopybookLayoutOptions, OccursColumns};
    let copybook = Copybook::parse(
        "acct.cpy",
        "       01  ACCT.\n\
         \x20          05  ID      PIC 9(2).\n\
         \x20          05  N       PIC 9.\n\
         \x20          05  AMT     PIC S9(3)V99 OCCURS 0 TO 3 DEPENDING ON N.\n",
    )
    .unwrap();
    let options = CopybookLayoutOptions {
        code_page: CodePage::Ascii,
        occurs: OccursColumns::Json,
        ..CopybookLayoutOptions::default()
    };
    let layout = Layout::from_copybook("acct.cpy", &copybook, &options).unwrap();
    let t = drx_templates::HbsTemplate::compile(
        "template.9.xml.hbs",
        "<a id=\"{{id}}\">{{#each amt}}<amt>{{this}}</amt>{{/each}}</a>",
        &layout,
    )
    .unwrap();
    let record = b"0720012501230000000";
    let view = layout.view(record).unwrap();
    let mut out = Vec::new();
    t.render(&change(ChangeOp::Insert, None, Some(view)), &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "<a id=\"7\"><amt>1.25</amt><amt>12.30</amt></a>"
    );
}
