//! Drivers: the only code that reads clocks and touches sockets and files.

pub mod clock;
pub mod media;
