//! Media: RTP header codec, G.711, tone and music sources.

pub mod g711;
pub mod rtp;
pub mod tone;
