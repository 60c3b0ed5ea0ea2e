//! drx-templates (work in progress)
