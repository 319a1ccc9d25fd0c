//! Drivers: the only code that reads clocks and touches sockets and files.

pub mod clock;
pub mod engine;
pub mod media;
pub mod rollups;
pub mod serve;
pub mod sip;
pub mod voice;
