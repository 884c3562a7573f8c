//! One module per resource; each handler parses, makes one call, maps the result.

pub(crate) mod health;
pub(crate) mod setup;
