use super::check::check_fragment;
use super::config::XmlConfig;
use crate::file_feed::FileFeed;
use crate::{Batch, Binding, Checkpoint, Sink, SinkError};
use drx_templates::XmlRenderer;
use std::path::Path;

/// Writes changes into an XML document.
#[derive(Debug)]
pub struct XmlSink {
    name: String,
    feed: FileFeed,
    renderer: XmlRenderer,
    file_id: u16,
    out: Vec<u8>,
    scratch: String,
}

impl XmlSink {
    /// Opens (or continues) `<dir>/<target>.xml`.
    pub fn open(
        name: String,
        config: &XmlConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<XmlSink, SinkError> {
        let root = &config.root;
        let valid = root
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && root
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(SinkError::Config(format!(
                "{name}: root `{root}` is not an XML name"
            )));
        }
        let renderer = XmlRenderer::load(&binding.templates_dir, binding.file_id, &binding.layout)?;
        let dir = drx_config::absolute(home, &config.dir);
        let header = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} file_id=\"{}\">\n",
            binding.file_id
        );
        let footer = format!("</{root}>\n");
        let feed = FileFeed::open(
            config.commit_every,
            dir.join(format!("{}.xml", binding.target)),
            header.as_bytes(),
            footer.as_bytes(),
        )?;
        Ok(XmlSink {
            name,
            feed,
            renderer,
            file_id: binding.file_id,
            out: Vec::new(),
            scratch: String::new(),
        })
    }
}

impl Sink for XmlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        Ok(self.feed.checkpoint())
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.out.clear();
        for change in batch.decoded() {
            let change = change?;
            let start = self.out.len();
            self.renderer
                .render(&change, &mut self.out, &mut self.scratch)
                .map_err(|source| SinkError::Render {
                    seq: change.seq,
                    source,
                })?;
            let template = match self.renderer {
                XmlRenderer::Seed(_) => "",
                XmlRenderer::Handlebars(_) => ".hbs",
                // The default element is written by an XML writer.
                XmlRenderer::Default(_) => continue,
            };
            if let Err(what) = check_fragment(&self.out[start..]) {
                return Err(SinkError::Config(format!(
                    "seq {}: template.{}{template} renders XML that is not well-formed ({what}); \
                     nothing of the batch was written: fix the template",
                    change.seq, self.file_id
                )));
            }
        }
        self.feed.write(&self.out)?;
        self.feed.applied(batch.checkpoint, batch.len() as u64)
    }

    fn commit(&mut self) -> Result<(), SinkError> {
        self.feed.commit_and_wait()
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.feed.finish()
    }
}
