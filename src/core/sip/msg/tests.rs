//! Unit tests for the message layer.
