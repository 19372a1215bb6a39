//! report (not implemented yet).
