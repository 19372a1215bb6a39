//! Other tools' conventions, implemented faithfully beside the IBSI path
//! (which never changes to suit them).

pub mod pyradiomics;
