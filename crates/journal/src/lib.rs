//! drx-journal (work in progress)
