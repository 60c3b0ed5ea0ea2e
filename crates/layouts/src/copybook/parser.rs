//! Copybook entries (tokens → [`Item`] tree): levels, names and clauses.

use super::CopybookError;
use super::lexer::{TokKind, Token};
use super::picture::Picture;

/// How an item's data is stored (the USAGE clause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Usage {
    /// `DISPLAY`: one character per position.
    #[default]
    Display,
    /// `COMP`, `COMP-0`, `COMP-4`, `BINARY`, `COMPUTATIONAL[-4]`:
    /// big-endian binary, 2, 4 or 8 bytes by digits.
    Binary,
    /// `COMP-5` / `COMPUTATIONAL-5`: native binary (sized as `Binary`).
    NativeBinary,
    /// `COMP-3`, `PACKED-DECIMAL`, `COMPUTATIONAL-3`: packed decimal.
    Packed,
    /// `COMP-1` / `COMPUTATIONAL-1`: 4-byte floating point.
    Float,
    /// `COMP-2` / `COMPUTATIONAL-2`: 8-byte floating point.
    Double,
}

impl Usage {
    /// The keyword, or `None` for a word that is not a usage.
    fn from_word(w: &str) -> Option<Usage> {
        Some(match w {
            "DISPLAY" => Usage::Display,
            "COMP" | "COMP-0" | "COMP-4" | "BINARY" | "COMPUTATIONAL" | "COMPUTATIONAL-0"
            | "COMPUTATIONAL-4" => Usage::Binary,
            "COMP-5" | "COMPUTATIONAL-5" => Usage::NativeBinary,
            "COMP-3" | "COMPUTATIONAL-3" | "PACKED-DECIMAL" => Usage::Packed,
            "COMP-1" | "COMPUTATIONAL-1" => Usage::Float,
            "COMP-2" | "COMPUTATIONAL-2" => Usage::Double,
            _ => return None,
        })
    }

    /// The canonical keyword (`COMP`, `COMP-3`, ...).
    pub fn keyword(self) -> &'static str {
        match self {
            Usage::Display => "DISPLAY",
            Usage::Binary => "COMP",
            Usage::NativeBinary => "COMP-5",
            Usage::Packed => "COMP-3",
            Usage::Float => "COMP-1",
            Usage::Double => "COMP-2",
        }
    }
}

/// The SIGN clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignClause {
    /// `LEADING` (true) or `TRAILING` (false).
    pub leading: bool,
    /// `SEPARATE [CHARACTER]`: the sign takes its own position.
    pub separate: bool,
}

/// The OCCURS clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurs {
    /// Minimum count (`m` of `m TO n`; equals `max` for a fixed count).
    pub min: u32,
    /// Maximum count: the space reserved.
    pub max: u32,
    /// `DEPENDING ON name`: the field holding the actual count.
    pub depending_on: Option<String>,
}

/// A level-88 condition name, kept as documentation of its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The condition name.
    pub name: String,
    /// Its values as written (literals without quotes; `THRU` kept as a word).
    pub values: Vec<String>,
}

/// One data description entry and its subordinate items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Level number: 1–49 or 77.
    pub level: u8,
    /// The data name; `FILLER` when written so or omitted.
    pub name: String,
    /// 1-based source line of the level number.
    pub line: u32,
    /// 1-based source column of the level number.
    pub col: u32,
    /// The PIC clause, if any.
    pub picture: Option<Picture>,
    /// The usage: its own, else inherited from the nearest group that has one.
    pub usage: Usage,
    /// The SIGN clause, if any.
    pub sign: Option<SignClause>,
    /// The OCCURS clause, if any.
    pub occurs: Option<Occurs>,
    /// The name this item redefines, if any.
    pub redefines: Option<String>,
    /// `JUSTIFIED [RIGHT]`.
    pub justified: bool,
    /// `BLANK WHEN ZERO`.
    pub blank_when_zero: bool,
    /// Level-88 condition names under this item.
    pub conditions: Vec<Condition>,
    /// Subordinate items (empty for an elementary item).
    pub children: Vec<Item>,
    /// Whether USAGE was written on this entry (not inherited).
    pub(super) own_usage: bool,
}

impl Item {
    /// Whether the item is a group (has subordinate items).
    pub fn is_group(&self) -> bool {
        !self.children.is_empty()
    }
}

/// Words that start a clause (and so end a list of names or values).
fn is_clause_word(w: &str) -> bool {
    Usage::from_word(w).is_some()
        || matches!(
            w,
            "PIC"
                | "PICTURE"
                | "USAGE"
                | "SIGN"
                | "LEADING"
                | "TRAILING"
                | "OCCURS"
                | "REDEFINES"
                | "VALUE"
                | "VALUES"
                | "JUSTIFIED"
                | "JUST"
                | "BLANK"
                | "SYNC"
                | "SYNCHRONIZED"
                | "INDEXED"
                | "ASCENDING"
                | "DESCENDING"
                | "DEPENDING"
                | "GLOBAL"
                | "EXTERNAL"
                | "RENAMES"
        )
}

/// A cursor over the tokens of one copybook.
struct Parser<'a> {
    name: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err_at(&self, t: Option<&Token>, message: String) -> CopybookError {
        let (line, col) = match t.or(self.toks.last()) {
            Some(t) => (t.line, t.col),
            None => (1, 1),
        };
        CopybookError {
            name: self.name.to_owned(),
            line,
            col,
            message,
        }
    }

    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    /// The next token as an upper-cased word, if it is a word.
    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Token {
                kind: TokKind::Word(w),
                ..
            }) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Consumes the next token if it is the word `w` (any case).
    fn eat(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn found(&self) -> String {
        match self.peek().map(|t| &t.kind) {
            None => "end of input".to_owned(),
            Some(TokKind::Period) => "\".\"".to_owned(),
            Some(TokKind::Word(w)) => format!("\"{w}\""),
            Some(TokKind::Lit(s)) => format!("literal \"{s}\""),
        }
    }

    fn expected(&self, what: &str) -> CopybookError {
        self.err_at(
            self.peek(),
            format!("expected {what}, found {}", self.found()),
        )
    }

    /// A word (as written), or an error `expected WHAT`.
    fn word(&mut self, what: &str) -> Result<String, CopybookError> {
        match self.peek() {
            Some(Token {
                kind: TokKind::Word(w),
                ..
            }) => {
                self.pos += 1;
                Ok(w.clone())
            }
            _ => Err(self.expected(what)),
        }
    }

    /// A non-negative integer word.
    fn number(&mut self, what: &str) -> Result<u32, CopybookError> {
        match self.peek_word().and_then(|w| w.parse::<u32>().ok()) {
            Some(n) => {
                self.pos += 1;
                Ok(n)
            }
            None => Err(self.expected(what)),
        }
    }

    /// Words up to the next clause keyword or period (names after KEY IS,
    /// INDEXED BY).
    fn skip_names(&mut self) {
        while let Some(w) = self.peek_word() {
            if is_clause_word(&w) {
                break;
            }
            self.pos += 1;
        }
    }

    /// Values of a VALUE clause, as written.
    fn values(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match self.peek().map(|t| &t.kind) {
                Some(TokKind::Lit(s)) => out.push(s.clone()),
                Some(TokKind::Word(w)) if !is_clause_word(&w.to_ascii_uppercase()) => {
                    out.push(w.clone());
                }
                _ => return out,
            }
            self.pos += 1;
        }
    }

    /// One entry, from its level number to its period.
    fn entry(&mut self) -> Result<Entry, CopybookError> {
        let level_tok = self.peek();
        let level = match self.peek_word().and_then(|w| w.parse::<u8>().ok()) {
            Some(l) if (1..=49).contains(&l) || l == 66 || l == 77 || l == 88 => l,
            _ => return Err(self.expected("a level number (01-49, 66, 77 or 88)")),
        };
        self.pos += 1;
        let (line, col) = level_tok.map_or((1, 1), |t| (t.line, t.col));
        let mut item = Item {
            level,
            name: "FILLER".to_owned(),
            line,
            col,
            picture: None,
            usage: Usage::Display,
            sign: None,
            occurs: None,
            redefines: None,
            justified: false,
            blank_when_zero: false,
            conditions: Vec::new(),
            children: Vec::new(),
            own_usage: false,
        };
        if self.peek_word().is_some_and(|w| !is_clause_word(&w)) {
            item.name = self.word("a data name")?;
        }
        if level == 66 {
            return Err(self.err_at(level_tok, "level 66 (RENAMES) is not supported".to_owned()));
        }
        let mut values = Vec::new();
        loop {
            let Some(t) = self.peek() else {
                return Err(self.expected("\".\" at the end of the entry"));
            };
            let w = match &t.kind {
                TokKind::Period => {
                    self.pos += 1;
                    break;
                }
                TokKind::Lit(_) => return Err(self.expected("a clause")),
                TokKind::Word(w) => w.to_ascii_uppercase(),
            };
            self.pos += 1;
            match w.as_str() {
                "PIC" | "PICTURE" => {
                    self.eat("IS");
                    let pt = self.peek();
                    let text = self.word("a PIC string")?;
                    let pic = Picture::parse(&text).map_err(|m| self.err_at(pt, m))?;
                    item.picture = Some(pic);
                }
                "USAGE" => {
                    self.eat("IS");
                    let u = self.peek_word().and_then(|w| Usage::from_word(&w));
                    let Some(u) = u else {
                        return Err(self.expected("a usage (DISPLAY, COMP, COMP-3, ...)"));
                    };
                    self.pos += 1;
                    item.usage = u;
                    item.own_usage = true;
                }
                "SIGN" | "LEADING" | "TRAILING" => {
                    let leading = if w == "SIGN" {
                        self.eat("IS");
                        if self.eat("LEADING") {
                            true
                        } else if self.eat("TRAILING") {
                            false
                        } else {
                            return Err(self.expected("LEADING or TRAILING"));
                        }
                    } else {
                        w == "LEADING"
                    };
                    let separate = self.eat("SEPARATE");
                    if separate {
                        self.eat("CHARACTER");
                    }
                    item.sign = Some(SignClause { leading, separate });
                }
                "OCCURS" => {
                    let first = self.number("an OCCURS count")?;
                    let (min, max) = if self.eat("TO") {
                        (first, self.number("an OCCURS maximum count")?)
                    } else {
                        (first, first)
                    };
                    if max < min || max == 0 {
                        return Err(self.err_at(Some(t), format!("invalid OCCURS {min} TO {max}")));
                    }
                    self.eat("TIMES");
                    let mut depending_on = None;
                    if self.eat("DEPENDING") {
                        self.eat("ON");
                        depending_on = Some(self.word("a field name after DEPENDING ON")?);
                    }
                    item.occurs = Some(Occurs {
                        min,
                        max,
                        depending_on,
                    });
                }
                "DEPENDING" => {
                    // DEPENDING ON written after KEY / INDEXED phrases.
                    self.eat("ON");
                    let name = self.word("a field name after DEPENDING ON")?;
                    match &mut item.occurs {
                        Some(o) => o.depending_on = Some(name),
                        None => {
                            return Err(self.err_at(Some(t), "DEPENDING ON without OCCURS".into()));
                        }
                    }
                }
                "ASCENDING" | "DESCENDING" => {
                    self.eat("KEY");
                    self.eat("IS");
                    self.skip_names();
                }
                "INDEXED" => {
                    self.eat("BY");
                    self.skip_names();
                }
                "REDEFINES" => {
                    item.redefines = Some(self.word("a data name after REDEFINES")?);
                }
                "VALUE" | "VALUES" => {
                    if !self.eat("IS") {
                        self.eat("ARE");
                    }
                    let v = self.values();
                    if v.is_empty() {
                        return Err(self.expected("a value"));
                    }
                    values.extend(v);
                }
                "JUSTIFIED" | "JUST" => {
                    self.eat("RIGHT");
                    item.justified = true;
                }
                "BLANK" => {
                    self.eat("WHEN");
                    if !(self.eat("ZERO") || self.eat("ZEROS") || self.eat("ZEROES")) {
                        return Err(self.expected("ZERO after BLANK WHEN"));
                    }
                    item.blank_when_zero = true;
                }
                "SYNC" | "SYNCHRONIZED" => {
                    if !self.eat("LEFT") {
                        self.eat("RIGHT");
                    }
                }
                "GLOBAL" | "EXTERNAL" => {}
                "RENAMES" => {
                    return Err(self.err_at(Some(t), "RENAMES is not supported".to_owned()));
                }
                _ => match Usage::from_word(&w) {
                    Some(u) => {
                        item.usage = u;
                        item.own_usage = true;
                    }
                    None => {
                        self.pos -= 1;
                        return Err(self.expected("a clause or \".\""));
                    }
                },
            }
        }
        Ok(Entry { item, values })
    }
}

/// An entry and the values of its VALUE clause (kept for level 88).
struct Entry {
    item: Item,
    values: Vec<String>,
}

/// Parses the tokens into the top-level items (levels 01 and 77).
pub(super) fn parse_items(name: &str, toks: &[Token]) -> Result<Vec<Item>, CopybookError> {
    let mut p = Parser { name, toks, pos: 0 };
    // The open items, outermost first; closed ones move into their parent.
    let mut stack: Vec<Item> = Vec::new();
    let mut roots = Vec::new();
    while p.pos < toks.len() {
        let at = p.peek();
        let Entry { item, values } = p.entry()?;
        if item.level == 88 {
            let Some(parent) = stack.last_mut() else {
                return Err(p.err_at(at, "level 88 condition without a data item".to_owned()));
            };
            parent.conditions.push(Condition {
                name: item.name,
                values,
            });
            continue;
        }
        let top_level = item.level == 1 || item.level == 77;
        while let Some(last) = stack.last() {
            if !top_level && last.level < item.level && last.level != 77 {
                break;
            }
            close(&mut stack, &mut roots);
        }
        if !top_level && stack.is_empty() {
            return Err(p.err_at(
                at,
                format!(
                    "level {:02} item {} is not under a level 01 item",
                    item.level, item.name
                ),
            ));
        }
        if let Some(parent) = stack.last()
            && (parent.picture.is_some()
                || matches!(parent.usage, Usage::Float | Usage::Double) && parent.own_usage)
        {
            return Err(p.err_at(
                at,
                format!(
                    "{} has a PIC or floating-point usage, so it cannot have subordinate items",
                    parent.name
                ),
            ));
        }
        stack.push(item);
    }
    while !stack.is_empty() {
        close(&mut stack, &mut roots);
    }
    for r in &mut roots {
        inherit_usage(r, None);
    }
    Ok(roots)
}

/// Pops the innermost open item into its parent (or the roots).
fn close(stack: &mut Vec<Item>, roots: &mut Vec<Item>) {
    if let Some(item) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(item),
            None => roots.push(item),
        }
    }
}

/// Gives each item without its own USAGE the usage of its nearest group
/// that has one.
fn inherit_usage(item: &mut Item, from: Option<Usage>) {
    if !item.own_usage
        && let Some(u) = from
    {
        item.usage = u;
    }
    let next = if item.own_usage {
        Some(item.usage)
    } else {
        from
    };
    for c in &mut item.children {
        inherit_usage(c, next);
    }
}
