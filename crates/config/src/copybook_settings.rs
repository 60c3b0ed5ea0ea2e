//! `layout.NNN.toml`: the settings of a copybook layout (the COBOL copybook
//! that describes file id NNN's records, and how to read its data).
//!
//! ```toml
//! copybook = "customer.cpy"      # default: layout.NNN.cpy, else layout.NNN.cob
//! code_page = "cp037"
//! field_code_pages = { "CUST-NOTE" = "latin1" }
//! occurs = "json"                # or "flatten" (default)
//! ```
//!
//! Every key is optional; unknown keys and bad values are errors naming
//! `file:line:col`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use drx_layouts::{
    BinarySizes, ByteOrder, CodePage, CopybookLayoutOptions, CopybookOptions, FloatFormat,
    InvalidValue, OccursColumns, Organization, SourceFormat, Trim,
};
use serde::Deserialize;
use toml::Spanned;

use crate::ConfigError;

/// The settings of a copybook layout, as written in `layout.NNN.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CopybookSettings {
    /// The copybook, relative to the layouts directory (default
    /// `layout.NNN.cpy`, else `layout.NNN.cob`).
    #[serde(default)]
    pub copybook: Option<PathBuf>,
    /// `fixed` (default: columns 1–6 and 73–80 ignored, column 7 the
    /// indicator) or `free`.
    #[serde(default)]
    pub source_format: Option<Spanned<String>>,
    /// Code page of text and DISPLAY numbers: `cp037` (default), `cp273`,
    /// `cp500`, `cp1047`, `cp1140`, `ascii`, `latin1`, `utf8`.
    #[serde(default)]
    pub code_page: Option<Spanned<String>>,
    /// Per-item code pages: data name → code page (a group's applies to
    /// the items under it).
    #[serde(default)]
    pub field_code_pages: BTreeMap<Spanned<String>, Spanned<String>>,
    /// COMP-1 / COMP-2 encoding: `ibm` (hexadecimal float, default) or
    /// `ieee`.
    #[serde(default)]
    pub float_format: Option<Spanned<String>>,
    /// Byte order of COMP-5: `big` (default) or `little` (GnuCOBOL on x86).
    #[serde(default)]
    pub comp5_byte_order: Option<Spanned<String>>,
    /// Sizes of binary items: `ibm` (2/4/8 bytes, default) or `1-2-4-8`
    /// (GnuCOBOL's default `binary-size`).
    #[serde(default)]
    pub binary_sizes: Option<Spanned<String>>,
    /// Reject an overpunched sign on an unsigned DISPLAY number (default
    /// true).
    #[serde(default)]
    pub strict_sign: Option<bool>,
    /// `OCCURS` tables as `flatten`ed columns (`name_1`, …, default) or one
    /// `json` column per table.
    #[serde(default)]
    pub occurs: Option<Spanned<String>>,
    /// Text trimming: `both` (default), `left`, `right` or `none`.
    #[serde(default)]
    pub trim: Option<Spanned<String>>,
    /// A value that does not decode: `error` (default: the record goes to
    /// the bad-record policy, stop or dead-letter) or `null`.
    #[serde(default)]
    pub invalid: Option<Spanned<String>>,
    /// Column names: `lower` (default, `CUST-ID` → `cust_id`) or `keep`
    /// (`CUST_ID`).
    #[serde(default)]
    pub column_names: Option<Spanned<String>>,
    /// The file organization: `fixed`, `relative`, `sequential` or
    /// `indexed`.
    #[serde(default)]
    pub organization: Option<Spanned<String>>,
    /// Key columns of an indexed file, in key order.
    #[serde(default)]
    pub key: Vec<Spanned<String>>,
}

/// Copybook settings checked and turned into the layouts crate's options.
#[derive(Debug, Clone, PartialEq)]
pub struct CopybookLayoutSettings {
    /// The copybook named, if any (else the default names are tried).
    pub copybook: Option<PathBuf>,
    /// How to parse the copybook.
    pub parse: CopybookOptions,
    /// How to read records through it.
    pub layout: CopybookLayoutOptions,
    /// Where each `field_code_pages` name and each `key` column is written
    /// in the settings text (byte offsets), for errors about those names.
    pub name_spans: Vec<(String, usize)>,
}

impl CopybookSettings {
    /// Parses and checks the text of `layout.NNN.toml`; `file` names it
    /// in errors.
    pub fn parse(file: &str, text: &str) -> Result<CopybookLayoutSettings, ConfigError> {
        let raw: CopybookSettings =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        raw.check(file, text)
    }

    fn check(self, file: &str, text: &str) -> Result<CopybookLayoutSettings, ConfigError> {
        let pick = |v: &Option<Spanned<String>>, key: &str, choices: &[&str]| {
            pick(file, text, v, key, choices)
        };
        let page = |v: &Spanned<String>, key: &str| {
            v.get_ref()
                .parse::<CodePage>()
                .map_err(|e| ConfigError::at(file, text, v.span().start, format!("{key}: {e}")))
        };
        let mut layout = CopybookLayoutOptions::default();
        if let Some(p) = &self.code_page {
            layout.code_page = page(p, "code_page")?;
        }
        let mut name_spans = Vec::new();
        for (name, p) in &self.field_code_pages {
            layout
                .field_code_pages
                .push((name.get_ref().clone(), page(p, "field_code_pages")?));
            name_spans.push((name.get_ref().clone(), name.span().start));
        }
        layout.float_format = match pick(&self.float_format, "float_format", &["ibm", "ieee"])? {
            Some(1) => FloatFormat::Ieee754,
            _ => FloatFormat::IbmHex,
        };
        layout.native_order = match pick(
            &self.comp5_byte_order,
            "comp5_byte_order",
            &["big", "little"],
        )? {
            Some(1) => ByteOrder::Little,
            _ => ByteOrder::Big,
        };
        layout.strict_sign = self.strict_sign.unwrap_or(true);
        layout.occurs = match pick(&self.occurs, "occurs", &["flatten", "json"])? {
            Some(1) => OccursColumns::Json,
            _ => OccursColumns::Flatten,
        };
        layout.trim = match pick(&self.trim, "trim", &["both", "left", "right", "none"])? {
            Some(1) => Trim::Left,
            Some(2) => Trim::Right,
            Some(3) => Trim::None,
            _ => Trim::Both,
        };
        layout.invalid = match pick(&self.invalid, "invalid", &["error", "null"])? {
            Some(1) => InvalidValue::Null,
            _ => InvalidValue::Error,
        };
        layout.lowercase_names =
            pick(&self.column_names, "column_names", &["lower", "keep"])? != Some(1);
        const ORGS: [Organization; 4] = [
            Organization::Fixed,
            Organization::Relative,
            Organization::Sequential,
            Organization::Indexed,
        ];
        layout.organization = pick(
            &self.organization,
            "organization",
            &ORGS.map(Organization::name),
        )?
        .map(|i| ORGS[i]);
        for k in &self.key {
            name_spans.push((k.get_ref().clone(), k.span().start));
        }
        layout.key = self.key.into_iter().map(Spanned::into_inner).collect();
        let parse = CopybookOptions {
            format: match pick(&self.source_format, "source_format", &["fixed", "free"])? {
                Some(1) => SourceFormat::Free,
                _ => SourceFormat::Fixed,
            },
            binary_sizes: match pick(&self.binary_sizes, "binary_sizes", &["ibm", "1-2-4-8"])? {
                Some(1) => BinarySizes::OneTwoFourEight,
                _ => BinarySizes::Ibm,
            },
        };
        Ok(CopybookLayoutSettings {
            copybook: self.copybook,
            parse,
            layout,
            name_spans,
        })
    }
}

/// The index in `choices` of the value given (ignoring case), or an error
/// naming the choices.
fn pick(
    file: &str,
    text: &str,
    value: &Option<Spanned<String>>,
    key: &str,
    choices: &[&str],
) -> Result<Option<usize>, ConfigError> {
    let Some(v) = value else { return Ok(None) };
    choices
        .iter()
        .position(|c| c.eq_ignore_ascii_case(v.get_ref()))
        .map(Some)
        .ok_or_else(|| {
            ConfigError::at(
                file,
                text,
                v.span().start,
                format!(
                    "{key}: unknown value {:?} (expected {})",
                    v.get_ref(),
                    choices.join(", ")
                ),
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_key() {
        let s = CopybookSettings::parse("l.toml", "").unwrap();
        assert_eq!(s.layout, CopybookLayoutOptions::default());
        assert_eq!(s.parse, CopybookOptions::default());
        let s = CopybookSettings::parse(
            "l.toml",
            r#"
copybook = "cust.cpy"
source_format = "free"
code_page = "cp500"
field_code_pages = { "CUST-NOTE" = "latin1" }
float_format = "ieee"
comp5_byte_order = "little"
binary_sizes = "1-2-4-8"
strict_sign = false
occurs = "json"
trim = "right"
invalid = "null"
column_names = "keep"
organization = "indexed"
key = ["CUST_ID"]
"#,
        )
        .unwrap();
        assert_eq!(s.copybook, Some(PathBuf::from("cust.cpy")));
        assert_eq!(s.parse.format, SourceFormat::Free);
        assert_eq!(s.parse.binary_sizes, BinarySizes::OneTwoFourEight);
        let l = s.layout;
        assert_eq!(l.code_page, CodePage::Ebcdic500);
        assert_eq!(
            l.field_code_pages,
            [("CUST-NOTE".to_owned(), CodePage::Latin1)]
        );
        assert_eq!(l.float_format, FloatFormat::Ieee754);
        assert_eq!(l.native_order, ByteOrder::Little);
        assert!(!l.strict_sign);
        assert_eq!(l.occurs, OccursColumns::Json);
        assert_eq!(l.trim, Trim::Right);
        assert_eq!(l.invalid, InvalidValue::Null);
        assert!(!l.lowercase_names);
        assert_eq!(l.organization, Some(Organization::Indexed));
        assert_eq!(l.key, ["CUST_ID"]);
    }

    #[test]
    fn bad_values_name_line_and_column() {
        let e =
            CopybookSettings::parse("l.toml", "trim = \"both\"\noccurs = \"array\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "l.toml:2:10: occurs: unknown value \"array\" (expected flatten, json)"
        );
        let e = CopybookSettings::parse("l.toml", "code_page = \"cp999\"").unwrap_err();
        assert!(e.to_string().starts_with("l.toml:1:13: code_page: "), "{e}");
        let e = CopybookSettings::parse("l.toml", "codepage = \"cp037\"").unwrap_err();
        assert!(
            e.to_string().starts_with("l.toml:1:1: unknown field"),
            "{e}"
        );
    }
}
