//! `drx layout show` and `drx layout decode`: a layout's field map, and a
//! data file decoded through a COBOL copybook without any journal.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use drx_layouts::{
    ByteOrder, Cell, CobolOptions, CodePage, Copybook, FloatFormat, InvalidValue, Layout,
    RecordDecoder, RecordFormat, RecordFormatKind, RecordOptions, Trim,
};

/// The `drx layout` subcommands.
#[derive(Debug, Subcommand)]
pub enum LayoutCommand {
    /// Print a layout's field map: for a COBOL copybook the Cobrix-style
    /// listing (level, name, attributes, field number, start, end, length,
    /// 1-based); for a VOS layout each field's name, type, start, end and
    /// length.
    Show {
        /// The copybook or VOS layout file.
        file: PathBuf,
    },
    /// Decode a data file through a COBOL copybook, to stdout.
    Decode {
        /// The copybook.
        #[arg(long)]
        layout: PathBuf,
        /// The data file.
        #[arg(long)]
        data: PathBuf,
        /// Output: one JSON object per record, or CSV with a header row.
        #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
        format: OutputFormat,
        /// Code page of text and DISPLAY numbers (cp037, cp273, cp500,
        /// cp1047, cp1140, ascii, latin1, utf8).
        #[arg(long, default_value = "cp037")]
        code_page: String,
        /// fixed, rdw, rdw-le, line-sequential, gnucobol-variable[-0..3] or
        /// gnucobol-relative.
        #[arg(long, default_value = "fixed")]
        record_format: String,
        /// Bytes of file header to skip (fixed, rdw, gnucobol-variable).
        #[arg(long, default_value_t = 0)]
        header: usize,
        /// Bytes of file footer to skip (fixed, rdw, gnucobol-variable).
        #[arg(long, default_value_t = 0)]
        footer: usize,
        /// Encoding of COMP-1 / COMP-2.
        #[arg(long, value_enum, default_value_t = FloatArg::Ibm)]
        float: FloatArg,
        /// Read COMP-5 big-endian (default: little-endian, the native
        /// order of x86 and GnuCOBOL).
        #[arg(long)]
        comp5_big_endian: bool,
        /// Trimming of text values.
        #[arg(long, value_enum, default_value_t = TrimArg::Both)]
        trim: TrimArg,
        /// What a value that does not decode becomes: an error (stop), or
        /// null as Cobrix does.
        #[arg(long, value_enum, default_value_t = InvalidArg::Error)]
        invalid: InvalidArg,
    },
}

/// Output formats of `drx layout decode`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// COMP-1 / COMP-2 encodings.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FloatArg {
    /// IEEE 754, big-endian.
    Ieee,
    /// IBM hexadecimal floating point.
    Ibm,
}

/// Text trimming.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TrimArg {
    /// Keep text as decoded.
    None,
    /// Leading blanks.
    Left,
    /// Trailing blanks.
    Right,
    /// Both ends.
    Both,
}

/// What an invalid value becomes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InvalidArg {
    /// Stop with an error naming the record, field and offset.
    Error,
    /// Null (empty in CSV).
    Null,
}

/// Runs one `drx layout` subcommand.
pub fn run(cmd: LayoutCommand) -> Result<()> {
    match cmd {
        LayoutCommand::Show { file } => show(&file),
        LayoutCommand::Decode {
            layout,
            data,
            format,
            code_page,
            record_format,
            header,
            footer,
            float,
            comp5_big_endian,
            trim,
            invalid,
        } => {
            let opts = RecordOptions {
                cobol: CobolOptions {
                    code_page: code_page.parse::<CodePage>()?,
                    float_format: match float {
                        FloatArg::Ieee => FloatFormat::Ieee754,
                        FloatArg::Ibm => FloatFormat::IbmHex,
                    },
                    native_order: if comp5_big_endian {
                        ByteOrder::Big
                    } else {
                        ByteOrder::Little
                    },
                    ..CobolOptions::default()
                },
                trim: match trim {
                    TrimArg::None => Trim::None,
                    TrimArg::Left => Trim::Left,
                    TrimArg::Right => Trim::Right,
                    TrimArg::Both => Trim::Both,
                },
                invalid: match invalid {
                    InvalidArg::Error => InvalidValue::Error,
                    InvalidArg::Null => InvalidValue::Null,
                },
                ..RecordOptions::default()
            };
            let kind = record_format.parse::<RecordFormatKind>()?;
            decode(&layout, &data, format, kind, header, footer, opts)
        }
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A layout file: a VOS layout or a COBOL copybook.
enum AnyLayout {
    Vos(Layout),
    Cobol(Copybook),
}

/// Parses `text` as a VOS layout if it is one, else as a copybook; when
/// neither parses, the error is the VOS layout's if the text has a
/// `fields:` declaration, else the copybook's.
fn parse_layout(name: &str, text: &str) -> Result<AnyLayout> {
    let vos = match Layout::parse(name, text) {
        Ok(l) => return Ok(AnyLayout::Vos(l)),
        Err(e) => e,
    };
    match Copybook::parse(name, text) {
        Ok(cb) => Ok(AnyLayout::Cobol(cb)),
        Err(_) if text.to_ascii_lowercase().contains("fields:") => Err(vos.into()),
        Err(e) => Err(e.into()),
    }
}

fn show(path: &Path) -> Result<()> {
    let text = read_text(path)?;
    let name = path.display().to_string();
    let mut out = String::new();
    match parse_layout(&name, &text)? {
        AnyLayout::Vos(layout) => {
            out.push_str(&format!(
                "{:<32} {:<20} {:>8}{:>8}{:>8}\n",
                "NAME", "TYPE", "START", "END", "LENGTH"
            ));
            for f in layout.fields() {
                let ty = f.ty.to_string();
                out.push_str(&format!(
                    "{:<32} {:<20} {:>8}{:>8}{:>8}\n",
                    f.name,
                    ty,
                    f.offset + 1,
                    f.offset + f.size,
                    f.size
                ));
            }
        }
        AnyLayout::Cobol(cb) => {
            out.push_str(&cb.to_string());
            out.push('\n');
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

fn decode(
    layout: &Path,
    data: &Path,
    format: OutputFormat,
    kind: RecordFormatKind,
    header: usize,
    footer: usize,
    opts: RecordOptions,
) -> Result<()> {
    let text = read_text(layout)?;
    let name = layout.display().to_string();
    let AnyLayout::Cobol(cb) = parse_layout(&name, &text)? else {
        bail!("{name}: `drx layout decode` reads COBOL copybooks; this is a VOS layout");
    };
    let mut format_ = kind.with_record_len(cb.record_len());
    match &mut format_ {
        RecordFormat::Fixed {
            header: h,
            footer: f,
            ..
        }
        | RecordFormat::VariableRdw {
            header: h,
            footer: f,
            ..
        }
        | RecordFormat::GnuCobolVariable {
            header: h,
            footer: f,
            ..
        } => {
            *h = header;
            *f = footer;
        }
        RecordFormat::LineSequential | RecordFormat::GnuCobolRelative { .. } => {
            if header != 0 || footer != 0 {
                bail!("--header / --footer do not apply to the {kind} record format");
            }
        }
    }
    let bytes = std::fs::read(data).with_context(|| format!("reading {}", data.display()))?;
    let mut decoder = RecordDecoder::new(&cb, opts).with_context(|| name.clone())?;
    let data_name = data.display().to_string();
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    match format {
        OutputFormat::Jsonl => {
            let mut line = String::new();
            for rec in format_.records(&bytes) {
                let rec = rec.with_context(|| data_name.clone())?;
                decoder
                    .decode(rec.number, rec.bytes)
                    .with_context(|| format!("{data_name}: record at byte {}", rec.offset))?;
                line.clear();
                decoder.write_json(&mut line);
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(decoder.columns())?;
            let n = decoder.columns().len();
            for rec in format_.records(&bytes) {
                let rec = rec.with_context(|| data_name.clone())?;
                decoder
                    .decode(rec.number, rec.bytes)
                    .with_context(|| format!("{data_name}: record at byte {}", rec.offset))?;
                for i in 0..n {
                    let v = match decoder.cell(i) {
                        Cell::Absent | Cell::Null => "",
                        Cell::Number(s) | Cell::Text(s) => s,
                    };
                    w.write_field(v)?;
                }
                w.write_record(None::<&[u8]>)?;
            }
            w.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}
