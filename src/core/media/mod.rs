//! Media: RTP header codec, G.711, reception statistics, tone and music sources, the RTP
//! player that packetises them and the stereo recorder. All sans-IO.

pub mod dtmf;
pub mod g711;
pub mod mixer;
pub mod player;
pub mod prompt;
pub mod recorder;
pub mod rtp;
pub mod stats;
pub mod tone;
