//! drx-extractor (work in progress)
