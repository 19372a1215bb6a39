//! learn (not implemented yet).
