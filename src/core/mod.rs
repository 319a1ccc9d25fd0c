//! Sans-IO cores: every input carries `now`, every output is drained with `poll_*`.
//! Nothing in this tree touches sockets, files or clocks (tests/architecture.rs checks).

pub mod acd;
pub mod chat;
pub mod ivr;
pub mod media;
pub mod numbering;
pub mod outbound;
pub mod rng;
pub mod sdp;
pub mod sip;
pub mod switchboard;
pub mod time;
