//! SIP: the message layer, transactions (RFC 3261 §17), digest auth and the registrar.

pub mod auth;
pub mod msg;
pub mod registrar;
pub mod transaction;
