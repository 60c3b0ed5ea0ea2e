//! drx-config (work in progress)
