//! pipeline (not implemented yet).
