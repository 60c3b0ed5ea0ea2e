//! drx-sinks (work in progress)
