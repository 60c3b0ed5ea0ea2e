use drx_journal::FileOrganization;
use drx_layouts::{Layout, Organization};
use std::sync::Arc;

/// How a record file is organized on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Org {
    /// Fixed-length records back to back.
    Fixed,
    /// Fixed slots by record number (1-based): a status byte (1 = a record,
    /// 0 = empty or deleted), then the record.
    Relative,
    /// Variable-length records, each behind a 4-byte big-endian length.
    Sequential,
    /// Slots as in a relative file; records are found by their unique key
    /// (the layout's key fields), indexed in memory when the file is opened.
    Indexed,
}

impl Org {
    /// The organization's name.
    pub fn name(self) -> &'static str {
        match self {
            Org::Fixed => "fixed",
            Org::Relative => "relative",
            Org::Sequential => "sequential",
            Org::Indexed => "indexed",
        }
    }

    /// Parses `fixed`, `relative`, `sequential` or `indexed`, in any case
    /// (as layouts spell them).
    pub fn parse(name: &str) -> Option<Org> {
        [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed]
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn journal(self) -> FileOrganization {
        match self {
            Org::Fixed => FileOrganization::Fixed,
            Org::Relative => FileOrganization::Relative,
            Org::Sequential => FileOrganization::Sequential,
            Org::Indexed => FileOrganization::Indexed,
        }
    }
}

impl From<Organization> for Org {
    fn from(o: Organization) -> Org {
        match o {
            Organization::Fixed => Org::Fixed,
            Organization::Relative => Org::Relative,
            Organization::Sequential => Org::Sequential,
            Organization::Indexed => Org::Indexed,
        }
    }
}

/// What a record file holds: its organization, record length and (for
/// indexed files, and for key look-ups) its layout.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// The organization.
    pub organization: Org,
    /// The record length (the maximum, for sequential files).
    pub record_len: usize,
    /// The layout; required for indexed files.
    pub layout: Option<Arc<Layout>>,
}

impl FileSpec {
    /// The spec a layout describes: its organization (default: indexed when
    /// it declares a key, else fixed) and record length.
    pub fn from_layout(layout: Arc<Layout>) -> FileSpec {
        let organization =
            layout
                .organization()
                .map(Org::from)
                .unwrap_or(if layout.key_fields().is_empty() {
                    Org::Fixed
                } else {
                    Org::Indexed
                });
        FileSpec {
            organization,
            record_len: layout.record_len(),
            layout: Some(layout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
            assert_eq!(Org::parse(org.name()), Some(org));
            assert_eq!(Org::parse(&org.name().to_uppercase()), Some(org));
        }
        assert_eq!(Org::parse("heap"), None);
        assert_eq!(Org::parse(""), None);
    }

    #[test]
    fn a_layout_gives_organization_and_record_length() {
        let keyed =
            Layout::parse("k", "key: a;\nfields: a char(2), b char(3);\nend;").expect("layout");
        let spec = FileSpec::from_layout(Arc::new(keyed));
        assert_eq!((spec.organization, spec.record_len), (Org::Indexed, 5));
        let plain = Layout::parse("p", "fields: a char(4);\nend;").expect("layout");
        assert_eq!(
            FileSpec::from_layout(Arc::new(plain)).organization,
            Org::Fixed
        );
        let declared = Layout::parse(
            "d",
            "organization: relative;\nkey: a;\nfields: a char(4);\nend;",
        )
        .expect("layout");
        assert_eq!(
            FileSpec::from_layout(Arc::new(declared)).organization,
            Org::Relative
        );
    }
}
