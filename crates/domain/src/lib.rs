//! Pure business rules of taquilla: money and rounding, exchange rates, ticket
//! prices, taxes and IGTF, Venezuelan identity documents, phone numbers, bank
//! codes, seat-map labels and fiscal formats. Nothing here does IO; storage and
//! HTTP build on these types.
//!
//! New rules go in a module of their own, with their unit and property tests
//! beside them.

pub mod bank;
pub mod error;
pub mod fiscal;
pub mod identity;
pub mod igtf;
pub mod money;
pub mod phone;
pub mod pricing;
pub mod seatmap;
pub mod stages;
pub mod tax;
pub mod text;

pub use error::FieldError;
