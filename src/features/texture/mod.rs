//! The texture families and the traversals they share.

pub mod glcm;
pub mod gldzm;
pub mod glrlm;
pub mod glszm;
pub mod ngldm;
pub mod ngtdm;
