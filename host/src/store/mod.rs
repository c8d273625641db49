//! The unified flight store (SPEC section 4).
//!
//! - `authority`: who may write which section, and applying patches field
//!   by field with a reason for every refusal.

pub mod authority;
