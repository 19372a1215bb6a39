//! RTSTRUCT rasterisation (not implemented yet).
