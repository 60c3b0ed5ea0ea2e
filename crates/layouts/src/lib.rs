//! drx-layouts (work in progress)
