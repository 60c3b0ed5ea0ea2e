//! `[[sinks]]` sections: each type parses, mistakes name the section's
//! place and the key.

#![allow(clippy::unwrap_used)] // tests may unwrap

use drx_config::{Config, ConfigError, SinkSection};
use drx_sinks::SinkConfig;
use drx_sinks::csv::CsvConfig;
use drx_sinks::sqlite::{SqliteConfig, Synchronous};
use drx_sinks::stdout::{StdoutConfig, StdoutFormat};
use drx_sinks::xml::XmlConfig;
use std::collections::BTreeMap;
use std::path::Path;

/// The sections of a drx.toml as the config crate hands them over.
fn sections(text: &str) -> Vec<SinkSection> {
    Config::parse("drx.toml", text, Path::new("/home/drx"))
        .unwrap()
        .sinks
}

fn one(text: &str) -> Result<SinkConfig, ConfigError> {
    let sections = sections(text);
    assert_eq!(sections.len(), 1);
    SinkConfig::from_section(&sections[0])
}

fn error(text: &str) -> String {
    one(text).unwrap_err().to_string()
}

#[test]
fn every_type_parses_with_its_defaults() {
    let text = r#"
[[sinks]]
type = "sqlite"
path = "drx.db"

[[sinks]]
type = "csv"

[[sinks]]
type = "xml"

[[sinks]]
type = "stdout"
"#;
    let parsed: Vec<SinkConfig> = sections(text)
        .iter()
        .map(|s| SinkConfig::from_section(s).unwrap())
        .collect();
    assert_eq!(
        parsed,
        [
            SinkConfig::Sqlite(SqliteConfig {
                name: None,
                path: "drx.db".into(),
                file_ids: vec![],
                tables: BTreeMap::new(),
                create_tables: true,
                synchronous: Synchronous::Normal,
            }),
            SinkConfig::Csv(CsvConfig {
                name: None,
                dir: ".".into(),
                file_ids: vec![],
                tables: BTreeMap::new(),
                commit_every: 100_000,
                delimiter: ',',
            }),
            SinkConfig::Xml(XmlConfig {
                name: None,
                dir: ".".into(),
                file_ids: vec![],
                tables: BTreeMap::new(),
                commit_every: 100_000,
                root: "drx".into(),
            }),
            SinkConfig::Stdout(StdoutConfig {
                name: None,
                file_ids: vec![],
                tables: BTreeMap::new(),
                format: StdoutFormat::Csv,
            }),
        ]
    );
    let names: Vec<&str> = parsed.iter().map(SinkConfig::name).collect();
    assert_eq!(names, ["sqlite", "csv", "xml", "stdout"]);
    assert!(parsed.iter().all(|s| s.serves(200) && s.serves(1)));
}

#[test]
fn every_key_of_every_type_parses() {
    let text = r#"
[[sinks]]
type = "sqlite"
name = "mirror"
path = "db/drx.db"
file_ids = [200, 201]
tables = { 200 = "error_codes" }
create_tables = false
synchronous = "full"

[[sinks]]
type = "csv"
name = "feed"
dir = "csv"
file_ids = [200]
tables = { 200 = "errors" }
commit_every = 10
delimiter = ";"

[[sinks]]
type = "xml"
name = "xml"
dir = "xml"
file_ids = [20]
tables = { 20 = "codes" }
commit_every = 5
root = "codes"

[[sinks]]
type = "stdout"
name = "look"
file_ids = [20]
tables = {}
format = "xml"
"#;
    let parsed: Vec<SinkConfig> = sections(text)
        .iter()
        .map(|s| SinkConfig::from_section(s).unwrap())
        .collect();
    let SinkConfig::Sqlite(sqlite) = &parsed[0] else {
        panic!("{:?}", parsed[0])
    };
    assert_eq!(
        (sqlite.create_tables, sqlite.synchronous),
        (false, Synchronous::Full)
    );
    assert_eq!(sqlite.path, Path::new("db/drx.db"));
    assert_eq!(parsed[0].name(), "mirror");
    assert!(parsed[0].serves(201) && !parsed[0].serves(202));
    assert_eq!(parsed[0].target_of(200), Some("error_codes"));
    assert_eq!(parsed[0].target_of(201), None);
    let SinkConfig::Csv(csv) = &parsed[1] else {
        panic!("{:?}", parsed[1])
    };
    assert_eq!((csv.commit_every, csv.delimiter), (10, ';'));
    assert_eq!(parsed[1].target_of(200), Some("errors"));
    let SinkConfig::Xml(xml) = &parsed[2] else {
        panic!("{:?}", parsed[2])
    };
    assert_eq!((xml.commit_every, xml.root.as_str()), (5, "codes"));
    assert_eq!(parsed[2].target_of(20), Some("codes"));
    let SinkConfig::Stdout(stdout) = &parsed[3] else {
        panic!("{:?}", parsed[3])
    };
    assert_eq!(stdout.format, StdoutFormat::Xml);
    assert_eq!(parsed[3].name(), "look");
}

#[test]
fn an_unknown_key_names_the_section_and_the_key() {
    let text = "[global_settings]\ntcp_port = 5000\n\n[[sinks]]\ntype = \"sqlite\"\npath = \"x.db\"\ncreate_table = false\n";
    let message = error(text);
    assert!(
        message
            .starts_with("drx.toml:4:1: [[sinks]]: unknown field `create_table`, expected one of"),
        "{message}"
    );
    assert!(message.contains("`create_tables`"), "{message}");
    for (kind, key) in [
        ("csv", "delimeter"),
        ("xml", "root_element"),
        ("stdout", "path"),
    ] {
        let message = error(&format!(
            "\n\n[[sinks]]\ntype = \"{kind}\"\n{key} = \"x\"\n"
        ));
        assert!(
            message.starts_with(&format!("drx.toml:3:1: [[sinks]]: unknown field `{key}`")),
            "{message}"
        );
    }
}

#[test]
fn the_second_section_is_named_by_its_own_place() {
    let text = "[[sinks]]\ntype = \"csv\"\n\n[[sinks]]\ntype = \"xml\"\ncomit_every = 1\n";
    let sections = sections(text);
    assert!(SinkConfig::from_section(&sections[0]).is_ok());
    let message = SinkConfig::from_section(&sections[1])
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("drx.toml:4:1: [[sinks]]: unknown field `comit_every`"),
        "{message}"
    );
}

#[test]
fn an_unknown_or_missing_type_is_an_error() {
    let message = error("[[sinks]]\ntype = \"oracle\"\npath = \"x\"\n");
    assert!(
        message.starts_with(
            "drx.toml:1:1: [[sinks]]: unknown variant `oracle`, expected one of `sqlite`, `postgres`, "
        ),
        "{message}"
    );
    for known in ["`mysql`", "`odbc`", "`csv`", "`xml`", "`stdout`"] {
        assert!(message.contains(known), "{message}");
    }
    let message = error("[[sinks]]\npath = \"x\"\n");
    assert!(
        message.starts_with("drx.toml:1:1: [[sinks]]: missing field `type`"),
        "{message}"
    );
}

#[test]
fn wrong_values_are_errors() {
    for (text, expect) in [
        ("type = \"sqlite\"\n", "missing field `path`"),
        (
            "type = \"sqlite\"\npath = \"x\"\nsynchronous = \"off\"\n",
            "unknown variant `off`",
        ),
        ("type = \"csv\"\nfile_ids = [70000]\n", "70000"),
        ("type = \"csv\"\ndelimiter = \";;\"\n", "invalid"),
        (
            "type = \"csv\"\ndelimiter = \"\\\"\"\n",
            "cannot separate CSV fields",
        ),
        (
            "type = \"stdout\"\nformat = \"json\"\n",
            "unknown variant `json`",
        ),
        (
            "type = \"xml\"\ntables = { errors = \"x\" }\n",
            "tables: key `errors` is not a file id",
        ),
    ] {
        let message = error(&format!("[[sinks]]\n{text}"));
        assert!(
            message.starts_with("drx.toml:1:1: [[sinks]]: ") && message.contains(expect),
            "{text}: {message}"
        );
    }
}

#[test]
fn a_table_key_is_matched_as_a_number() {
    let config = one("[[sinks]]\ntype = \"csv\"\ntables = { 0200 = \"errors\" }\n").unwrap();
    assert_eq!(config.target_of(200), Some("errors"));
}

#[test]
fn build_makes_each_kind_of_sink() {
    let home = tempfile::tempdir().unwrap();
    let text = r#"
[[sinks]]
type = "sqlite"
path = "drx.db"
[[sinks]]
type = "csv"
name = "feed"
[[sinks]]
type = "xml"
[[sinks]]
type = "stdout"
"#;
    let layout = std::sync::Arc::new(
        drx_layouts::Layout::parse("layout.200", "key: n;\nfields: n fixed bin(15);\nend;")
            .unwrap(),
    );
    for section in sections(text) {
        let config = SinkConfig::from_section(&section).unwrap();
        let binding = drx_sinks::Binding {
            file_id: 200,
            layout: layout.clone(),
            target: "t".into(),
            templates_dir: home.path().join("templates"),
            epoch: 1,
            repair: false,
        };
        let mut sink = config.build(home.path(), binding).unwrap();
        assert_eq!(sink.name(), config.name());
        assert_eq!(sink.checkpoint().unwrap(), None);
    }
    assert!(home.path().join("drx.db").exists());
    assert!(home.path().join("t.csv").exists());
    assert!(home.path().join("t.xml").exists());
}
