//! drx-capture (work in progress)
