//! Helpers shared by the sink tests: the seed's layout.200 and templates,
//! records, batches and bindings.

#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use drx_layouts::Layout;
use drx_sinks::{Batch, Binding, Checkpoint};
use drx_templates::ChangeOp;
use std::path::Path;
use std::sync::Arc;

/// The seed's layout.200 (with its key).
pub const LAYOUT_200: &str = "key: err_number;
fields: err_number      fixed bin (15),
        err_name        char (32),
        err_text        char (128) varying,
        err_category    char(18),
        err_category2   char(18);
end;";

/// The seed's templates.
pub const INSERT: &str = "insert into @drms_file@ values (@err_number@, '@err_name@', '@err_text@', '@err_category@', '@err_category2@')";
pub const UPDATE: &str = "update @drms_file@ set err_number=@err_number@, err_name='@err_name@', err_text='@err_text@', err_category='@err_category@', err_category2='@err_category2@' where @drms_index_info@";
pub const DELETE: &str = "delete from @drms_file@ where @drms_index_info@";

/// The critical file the changes come from.
pub const FILE: &str = "/data/error_codes.data";

pub fn layout_200() -> Arc<Layout> {
    Arc::new(Layout::parse("layouts/layout.200", LAYOUT_200).expect("layout.200 parses"))
}

/// One error_codes row as texts, in field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: i64,
    pub name: String,
    pub text: String,
    pub category: String,
    pub category2: String,
}

pub fn row(number: i64, name: &str, text: &str, category: &str, category2: &str) -> Row {
    Row {
        number,
        name: name.into(),
        text: text.into(),
        category: category.into(),
        category2: category2.into(),
    }
}

/// The record bytes of `row`, encoded with the layout (Latin-1 text).
pub fn encode(layout: &Layout, row: &Row) -> Vec<u8> {
    let number = row.number.to_string();
    layout
        .encode([
            ("err_number", number.as_str()),
            ("err_name", row.name.as_str()),
            ("err_text", row.text.as_str()),
            ("err_category", row.category.as_str()),
            ("err_category2", row.category2.as_str()),
        ])
        .expect("the row encodes")
}

/// A batch builder for file id 200.
pub struct Changes {
    pub batch: Batch,
}

impl Changes {
    pub fn new(file_id: u16, layout: &Arc<Layout>) -> Changes {
        Changes {
            batch: Batch::new(file_id, layout.clone()),
        }
    }

    pub fn insert(mut self, seq: u64, after: &Row) -> Changes {
        let a = encode(self.batch.layout(), after);
        self.batch
            .push(ChangeOp::Insert, seq, 0, FILE, None, Some(&a));
        self
    }

    pub fn update(mut self, seq: u64, before: &Row, after: &Row) -> Changes {
        let b = encode(self.batch.layout(), before);
        let a = encode(self.batch.layout(), after);
        self.batch
            .push(ChangeOp::Update, seq, 0, FILE, Some(&b), Some(&a));
        self
    }

    pub fn delete(mut self, seq: u64, before: &Row) -> Changes {
        let b = encode(self.batch.layout(), before);
        self.batch
            .push(ChangeOp::Delete, seq, 0, FILE, Some(&b), None);
        self
    }

    pub fn txn(
        mut self,
        seq: u64,
        txn: u64,
        op: ChangeOp,
        before: Option<&Row>,
        after: Option<&Row>,
    ) -> Changes {
        let b = before.map(|r| encode(self.batch.layout(), r));
        let a = after.map(|r| encode(self.batch.layout(), r));
        self.batch
            .push(op, seq, txn, FILE, b.as_deref(), a.as_deref());
        self
    }

    /// The batch, with the checkpoint `applied` = `resume - 1`.
    pub fn done(mut self, applied: u64) -> Batch {
        self.batch.checkpoint = Checkpoint {
            applied,
            resume: applied + 1,
        };
        self.batch
    }
}

pub fn binding(file_id: u16, layout: &Arc<Layout>, target: &str, templates_dir: &Path) -> Binding {
    Binding {
        file_id,
        layout: layout.clone(),
        target: target.into(),
        templates_dir: templates_dir.to_owned(),
        epoch: 1,
        repair: false,
    }
}

/// Writes the seed's three SQL templates of file id 200 into `dir`.
pub fn write_seed_sql_templates(dir: &Path) {
    std::fs::create_dir_all(dir).expect("templates dir");
    for (suffix, text) in [("i", INSERT), ("u", UPDATE), ("d", DELETE)] {
        std::fs::write(dir.join(format!("template.200.{suffix}")), text).expect("template written");
    }
}

/// Rows with the values that break naive splicing, escaping or decoding.
pub fn hard_rows() -> Vec<Row> {
    vec![
        row(
            -32768,
            "'); DROP TABLE error_codes; --",
            "it's \"quoted\", isn't it?",
            "<&>",
            "",
        ),
        row(32767, "caf\u{e9}", "", "a,b", "line1\nline2"),
        row(0, "", "tab\there", "x'y\"z", "@err_name@"),
    ]
}
