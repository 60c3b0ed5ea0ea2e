//! `drx layout show` and `drx layout decode`: a layout's field map, and a
//! data file decoded through a COBOL copybook without any journal.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use drx_layouts::{
    BinarySizes, ByteOrder, Cell, CobolOptions, CodePage, Copybook, CopybookOptions, FloatFormat,
    InvalidValue, Layout, RecordDecoder, RecordFormat, RecordFormatError, RecordFormatKind,
    RecordOptions, SourceFormat, Trim,
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
        /// Copybook source format.
        #[arg(long, value_enum, default_value_t = SourceArg::Fixed)]
        source_format: SourceArg,
        /// Sizes of COMP / BINARY / COMP-5 items: IBM's 2/4/8 bytes, or
        /// GnuCOBOL's default 1/2/4/8.
        #[arg(long, value_enum, default_value_t = BinaryArg::Ibm)]
        binary_sizes: BinaryArg,
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
        /// Write records that do not decode to this file (one JSON object
        /// a line: record number, offset, error, bytes as hex) and go on,
        /// instead of stopping at the first.
        #[arg(long)]
        dead_letter: Option<PathBuf>,
        /// JSON shaped as Cobrix writes it: groups as nested objects,
        /// OCCURS as arrays (only the occurrences within an OCCURS
        /// DEPENDING ON count), nulls left out.
        #[arg(long)]
        nested: bool,
        /// With --nested, keep the 01 record as the top-level key
        /// (default: its items at the top level).
        #[arg(long, requires = "nested")]
        keep_root: bool,
        /// OCCURS DEPENDING ON tables take only their actual occurrences,
        /// so records are of variable size; with the fixed record format
        /// records are then read back to back.
        #[arg(long)]
        variable_size_occurs: bool,
        /// Copybook source format.
        #[arg(long, value_enum, default_value_t = SourceArg::Fixed)]
        source_format: SourceArg,
        /// Sizes of COMP / BINARY / COMP-5 items: IBM's 2/4/8 bytes, or
        /// GnuCOBOL's default 1/2/4/8.
        #[arg(long, value_enum, default_value_t = BinaryArg::Ibm)]
        binary_sizes: BinaryArg,
    },
}

/// Copybook source formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SourceArg {
    /// Columns 1–6 sequence area, 7 indicator, 73–80 ignored.
    Fixed,
    /// Free format.
    Free,
}

/// Sizes of binary items.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BinaryArg {
    /// 2, 4 or 8 bytes (IBM).
    Ibm,
    /// 1, 2, 4 or 8 bytes (GnuCOBOL's `binary-size: 1-2-4-8`).
    #[value(name = "1-2-4-8")]
    OneTwoFourEight,
}

/// The copybook parsing options of the command line.
fn copybook_options(source: SourceArg, binary: BinaryArg) -> CopybookOptions {
    CopybookOptions {
        format: match source {
            SourceArg::Fixed => SourceFormat::Fixed,
            SourceArg::Free => SourceFormat::Free,
        },
        binary_sizes: match binary {
            BinaryArg::Ibm => BinarySizes::Ibm,
            BinaryArg::OneTwoFourEight => BinarySizes::OneTwoFourEight,
        },
    }
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
        LayoutCommand::Show {
            file,
            source_format,
            binary_sizes,
        } => show(&file, copybook_options(source_format, binary_sizes)),
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
            dead_letter,
            nested,
            keep_root,
            variable_size_occurs,
            source_format,
            binary_sizes,
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
                variable_size_occurs,
                collapse_root: !keep_root,
            };
            let kind = record_format.parse::<RecordFormatKind>()?;
            decode(&Decode {
                layout,
                data,
                format,
                nested,
                kind,
                header,
                footer,
                parse: copybook_options(source_format, binary_sizes),
                opts,
                dead_letter,
            })
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
fn parse_layout(name: &str, text: &str, parse: CopybookOptions) -> Result<AnyLayout> {
    let vos = match Layout::parse(name, text) {
        Ok(l) => return Ok(AnyLayout::Vos(l)),
        Err(e) => e,
    };
    match Copybook::parse_options(name, text, parse) {
        Ok(cb) => Ok(AnyLayout::Cobol(cb)),
        Err(_) if text.to_ascii_lowercase().contains("fields:") => Err(vos.into()),
        Err(e) => Err(e.into()),
    }
}

fn show(path: &Path, parse: CopybookOptions) -> Result<()> {
    let text = read_text(path)?;
    let name = path.display().to_string();
    let mut out = String::new();
    match parse_layout(&name, &text, parse)? {
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

/// The arguments of `drx layout decode`.
struct Decode {
    layout: PathBuf,
    data: PathBuf,
    format: OutputFormat,
    nested: bool,
    kind: RecordFormatKind,
    header: usize,
    footer: usize,
    parse: CopybookOptions,
    opts: RecordOptions,
    dead_letter: Option<PathBuf>,
}

/// Where decoded records go: JSON lines or CSV rows.
enum Output<W: Write> {
    Json { out: W, nested: bool, line: String },
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Output<W> {
    fn record(&mut self, decoder: &RecordDecoder) -> Result<()> {
        match self {
            Output::Json { out, nested, line } => {
                line.clear();
                if *nested {
                    decoder.write_json_nested(line);
                } else {
                    decoder.write_json(line);
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
            Output::Csv(w) => {
                for i in 0..decoder.columns().len() {
                    let v = match decoder.cell(i) {
                        Cell::Absent | Cell::Null => "",
                        Cell::Number(s) | Cell::Text(s) => s,
                    };
                    w.write_field(v)?;
                }
                w.write_record(None::<&[u8]>)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Output::Json { mut out, .. } => out.flush()?,
            Output::Csv(mut w) => w.flush()?,
        }
        Ok(())
    }
}

/// Records that do not decode, when `--dead-letter` is given.
struct DeadLetters {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    count: u64,
}

impl DeadLetters {
    fn write(&mut self, number: u64, offset: usize, bytes: &[u8], error: &str) -> Result<()> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let line = serde_json::json!({
            "record": number,
            "offset": offset,
            "error": error,
            "hex": hex,
        });
        writeln!(self.out, "{line}")?;
        self.count += 1;
        Ok(())
    }
}

fn decode(args: &Decode) -> Result<()> {
    let text = read_text(&args.layout)?;
    let name = args.layout.display().to_string();
    let AnyLayout::Cobol(cb) = parse_layout(&name, &text, args.parse)? else {
        bail!("{name}: `drx layout decode` reads COBOL copybooks; this is a VOS layout");
    };
    let (kind, header, footer) = (args.kind, args.header, args.footer);
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
    let data = &args.data;
    let bytes = std::fs::read(data).with_context(|| format!("reading {}", data.display()))?;
    let mut decoder = RecordDecoder::new(&cb, args.opts).with_context(|| name.clone())?;
    let data_name = data.display().to_string();
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut output = match args.format {
        OutputFormat::Jsonl => Output::Json {
            out,
            nested: args.nested,
            line: String::new(),
        },
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(decoder.columns())?;
            Output::Csv(Box::new(w))
        }
    };
    let mut dead = match &args.dead_letter {
        Some(path) => Some(DeadLetters {
            path: path.clone(),
            out: std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            ),
            count: 0,
        }),
        None => None,
    };
    let back_to_back =
        args.opts.variable_size_occurs && matches!(format_, RecordFormat::Fixed { .. });
    if back_to_back {
        // Each record's length comes from its own counters: one that does
        // not decode leaves the next one's start unknown, so it stops.
        let end = bytes.len().saturating_sub(footer).max(header);
        let body = bytes.get(header..end).unwrap_or_default();
        let (mut at, mut number) = (0, 1);
        while at < body.len() {
            at += decoder
                .decode_next(number, body, at)
                .with_context(|| format!("{data_name}: record at byte {}", header + at))?;
            output.record(&decoder)?;
            number += 1;
        }
    } else {
        for rec in format_.records(&bytes) {
            let rec = match (rec, &mut dead) {
                (Ok(rec), _) => rec,
                // A partial last record: its bytes go to the dead letters
                // too, and nothing follows it.
                (
                    Err(
                        e @ (RecordFormatError::PartialRecord { record, offset, .. }
                        | RecordFormatError::Truncated { record, offset, .. }),
                    ),
                    Some(dead),
                ) => {
                    let rest = bytes.get(offset..).unwrap_or_default();
                    dead.write(record, offset, rest, &e.to_string())?;
                    break;
                }
                (Err(e), _) => return Err(e).with_context(|| data_name.clone()),
            };
            match (decoder.decode(rec.number, rec.bytes), &mut dead) {
                (Ok(()), _) => output.record(&decoder)?,
                (Err(e), Some(dead)) => {
                    dead.write(rec.number, rec.offset, rec.bytes, &e.to_string())?
                }
                (Err(e), None) => {
                    return Err(e)
                        .with_context(|| format!("{data_name}: record at byte {}", rec.offset));
                }
            }
        }
    }
    output.finish()?;
    if let Some(mut dead) = dead {
        dead.out.flush()?;
        if dead.count > 0 {
            eprintln!(
                "drx: {} records did not decode; written to {}",
                dead.count,
                dead.path.display()
            );
        }
    }
    Ok(())
}
